/**
 * What every ClusterClient implementation over a kubeconfig shares, without
 * loading @kubernetes/client-node (kube-lite.ts, the grade's lean client, uses
 * only these): the options, the error classes the checks recognise, and the
 * container waiting reasons that will not fix themselves. Type-only imports
 * from kube.ts are erased at run time.
 */
export { EphemeralContainerError, KubeApiError, NodeShellUnavailableError, UnknownKindError } from "./errors.ts";
export type { KubeClientOptions, NodeRunner } from "./kube.ts";
export { FATAL_WAITING } from "./ephemeral.ts";
