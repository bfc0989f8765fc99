/**
 * The lab's CNI (spec.cluster.networking.cni, spec.solution.cnis and
 * `addon: { name: cni }` steps): rules the JSON Schema cannot express.
 */
import { arr, isObj, type Segment } from "./semantic-shape.ts";

type At = (path: Segment[], message: string, useKey?: boolean) => void;

/** `spec` as written (maybe malformed): every step list with its path. */
function stepLists(spec: Record<string, unknown>): [Segment[], unknown[]][] {
  return [
    [["spec", "setup"], arr(spec.setup)],
    [["spec", "break"], arr(spec.break)],
    [["spec", "solution", "steps"], isObj(spec.solution) ? arr(spec.solution.steps) : []],
    ...arr(spec.shortcuts).map((s, i): [Segment[], unknown[]] => [["spec", "shortcuts", i, "steps"], isObj(s) ? arr(s.steps) : []]),
  ];
}

export function cniProblems(at: At, spec: Record<string, unknown>): void {
  const cluster = isObj(spec.cluster) ? spec.cluster : {};
  const networking = isObj(cluster.networking) ? cluster.networking : {};
  const cniSteps: Segment[][] = [];
  const netpolSteps: Segment[][] = [];
  for (const [base, steps] of stepLists(spec)) {
    steps.forEach((step, i) => {
      if (!isObj(step) || !isObj(step.addon)) return;
      const path = [...base, i, "addon"];
      if (step.addon.name === "cni") cniSteps.push(path);
      if (step.addon.name === "kube-router-netpol") netpolSteps.push(path);
      if (step.addon.networkPolicy !== undefined && step.addon.name !== "cni") {
        at([...path, "networkPolicy"], '"networkPolicy" goes with `name: cni` only (it picks the add-ons of the lab\'s CNI)', true);
      }
    });
  }
  const solutionCnis = isObj(spec.solution) ? spec.solution.cnis : undefined;
  if (!cniSteps.length) {
    const hint = "add a step `addon: { name: cni }` where the lab's CNI is installed (in setup, or in the solution when the learner installs it)";
    if (networking.cni !== undefined) at(["spec", "cluster", "networking", "cni"], `names the lab's CNI, but no step installs it: ${hint}`, true);
    if (solutionCnis !== undefined) at(["spec", "solution", "cnis"], `lists CNIs to test, but no step installs the lab's CNI: ${hint}`, true);
    return;
  }
  if (networking.defaultCNI !== false) {
    at(cniSteps[0]!, "installs the lab's CNI, but the node image's default CNI (Flannel) is installed too: set spec.cluster.networking.defaultCNI: false");
  }
  for (const path of netpolSteps) {
    at(path, "the lab installs its CNI with `addon: { name: cni }`: ask for NetworkPolicy there (`addon: { name: cni, networkPolicy: true }`), so that a CNI that enforces policies itself (kube-router, Cilium) does not get a second firewall");
  }
}
