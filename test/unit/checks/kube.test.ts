/**
 * checks/kube.ts (@kubernetes/client-node) passes the ClusterClient contract.
 */
import { createKubeClient } from "../../../checks/kube.ts";
import { describeClusterClient } from "./kube-contract.ts";

describeClusterClient("checks/kube KubeClusterClient", createKubeClient);
