/**
 * runner/cluster/kube.ts (@kubernetes/client-node) passes the ClusterClient contract.
 */
import { createKubeClient } from "../../../runner/cluster/kube.ts";
import { describeClusterClient } from "./kube-contract.ts";

describeClusterClient("cluster/kube KubeClusterClient", createKubeClient);
