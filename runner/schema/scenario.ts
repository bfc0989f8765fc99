/**
 * The scenario format: the single source of truth.
 *
 * These TypeBox values are JSON Schema. `npm run schema` writes them to
 * schemas/scenario.schema.json (the file editors use through the
 * `# yaml-language-server: $schema=...` line), the TypeScript types below are
 * derived from them with `Static`, and test/unit/schema.test.ts fails when the
 * committed file drifts from this module. docs/authoring.md is generated from
 * the descriptions.
 */
import { Type, type Static } from "@sinclair/typebox";
// Named so that the emitted declarations (dist/*.d.ts) can refer to TypeBox's symbols (TS4023).
import type { Hint, Kind, OptionalKind, ReadonlyKind } from "@sinclair/typebox";
import { Closed, Dns1123Label, Duration, Enum, ExactlyOneOf, FilePath, Labels, ObjectName } from "./dsl.ts";
import { Check } from "./checks.ts";

// The checks and the references they use live in ./checks.ts; they are part of this format.
export * from "./checks.ts";

import { ADDON_NAMES, API_VERSION, CNI_NAMES, SCHEMA_ID } from "./values.ts";
export {
  ADDON_NAMES,
  API_VERSION,
  CNI_NAMES,
  DEFAULT_POD_SUBNET,
  DEFAULT_SERVICE_SUBNET,
  SCHEMA_ID,
  STEP_KINDS,
  cniOf,
  podSubnetOf,
  serviceSubnetOf,
  stepKind,
  type CniName,
  type StepKind,
} from "./values.ts";

// ---------------------------------------------------------------- metadata

export const Author = Closed(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: "The author's name." }),
    github: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9-]{1,39}$", description: "GitHub user name, without '@'." })),
    email: Type.Optional(Type.String({ pattern: "^[^@\\s]+@[^@\\s]+$", description: "E-mail address." })),
  },
  { description: "Someone who wrote or maintains the scenario." },
);

export const Metadata = Closed(
  {
    name: { ...Dns1123Label, description: "The scenario's name; it must equal the name of its folder (for example `beebox-cni`)." },
    title: Type.String({ minLength: 3, maxLength: 120, description: "A one-line title shown in `labrun list`." }),
    topic: Type.Optional(
      Type.String({ minLength: 3, maxLength: 120, description: "What the lab is about in a few words, for the catalogue (`labrun list` and the README); every shipped scenario has one." }),
    ),
    summary: Type.String({ minLength: 3, maxLength: 500, description: "One or two sentences on what goes wrong and what the learner practises." }),
    difficulty: Enum(["beginner", "intermediate", "advanced"], {
      description: "How hard the lab is: `beginner`, `intermediate` or `advanced`.",
    }),
    estimatedMinutes: Type.Integer({ minimum: 1, maximum: 600, description: "How long a learner typically needs, in minutes." }),
    tags: Type.Optional(
      Type.Array(Type.String({ pattern: "^[a-z0-9][a-z0-9-]*$", maxLength: 40 }), {
        uniqueItems: true,
        maxItems: 20,
        description: "Lower-case topic tags such as `networking`, `cni`, `dns`.",
      }),
    ),
    authors: Type.Optional(Type.Array(Author, { minItems: 1, maxItems: 20, description: "Who wrote the scenario." })),
  },
  { description: "Who the scenario is and what it is about." },
);

// ---------------------------------------------------------------- cluster



export const NodeSpec = Closed(
  {
    role: Enum(["control-plane", "worker"], {
      description: "The node's role: `control-plane` or `worker`.",
    }),
    labels: Type.Optional({ ...Labels, description: "Labels to put on the node." }),
  },
  { description: "One node of the cluster. kind names nodes `<cluster>-control-plane`, `<cluster>-worker`, `<cluster>-worker2`, ..." },
);

export const Networking = Closed(
  {
    defaultCNI: Type.Optional(
      Type.Boolean({
        default: true,
        description: "Install the node image's default CNI. `false` leaves the cluster without pod networking: every node stays NotReady until a CNI is installed.",
      }),
    ),
    podSubnet: Type.Optional(
      Type.String({ pattern: "^[0-9.]+/[0-9]{1,2}$", description: "The pod network (IPv4 CIDR), for example `192.168.0.0/16`.", examples: ["192.168.0.0/16"] }),
    ),
    serviceSubnet: Type.Optional(
      Type.String({ pattern: "^[0-9.]+/[0-9]{1,2}$", description: "The service network (IPv4 CIDR), for example `10.96.0.0/12`." }),
    ),
    cni: Type.Optional(
      Enum(CNI_NAMES, {
        description:
          "The CNI the lab is set up with: what an `addon: { name: cni }` step installs (default `flannel`). `kube-router` is kube-router as the CNI (routing and NetworkPolicy); `cilium` is Cilium (eBPF, VXLAN, NetworkPolicy). Needs `defaultCNI: false`, and a step that installs it.",
      }),
    ),
    kubeProxyMode: Type.Optional(
      Enum(["iptables", "ipvs", "nftables", "none"], {
        description: "kube-proxy's mode; `none` runs no kube-proxy (services stop working).",
      }),
    ),
  },
  { description: "The cluster's networking." },
);

export const Cluster = Closed(
  {
    kubernetesVersion: Type.Optional(
      Type.String({ pattern: "^v[0-9]+\\.[0-9]+\\.[0-9]+$", description: "Kubernetes version, for example `v1.34.12`; picks the node image labrun knows for it." }),
    ),
    nodeImage: Type.Optional(Type.String({ minLength: 1, description: "A kind node image to use instead of the default for `kubernetesVersion`." })),
    nodes: Type.Array(NodeSpec, { minItems: 1, maxItems: 10, description: "The nodes, at least one `control-plane`." }),
    networking: Type.Optional(Networking),
    kind: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            "Further kind `Cluster` settings passed through as they are (for example `featureGates`, `runtimeConfig`, `kubeadmConfigPatches`, `containerdConfigPatches`). `nodes` and `networking` are set with the fields above.",
        },
      ),
    ),
  },
  { description: "The cluster to create with kind." },
);

// ---------------------------------------------------------------- steps

export const ApplyStep = Closed(
  {
    file: FilePath,
    namespace: Type.Optional({ ...Dns1123Label, description: "Namespace for objects that do not name one (default `default`)." }),
  },
  { description: "Server-side apply the manifests in a file of the scenario folder (field manager `labrun`)." },
);

export const AddonStep = Closed(
  {
    name: Enum([...ADDON_NAMES, "cni"], {
      description:
        "A network add-on that ships with labrun: `flannel` (a CNI; uses the cluster's pod subnet), `kube-router` (a CNI that also enforces NetworkPolicy), `kube-router-netpol` (a NetworkPolicy enforcer for Flannel), `cilium` (an eBPF CNI that also enforces NetworkPolicy), or `cni`: the lab's CNI (`spec.cluster.networking.cni`; `labrun test` puts each CNI of `spec.solution.cnis` in its place).",
    }),
    networkPolicy: Type.Optional(
      Type.Boolean({
        description: "Only with `name: cni`: the lab needs NetworkPolicy enforced, so a CNI that does not enforce it (Flannel) gets kube-router's firewall (`kube-router-netpol`) too.",
      }),
    ),
  },
  { description: "Install an add-on that ships with labrun (its images are built by `npm run images`)." },
);

export const DeleteStep = Closed(
  {
    apiVersion: Type.Optional(Type.String({ minLength: 1, description: "The object's apiVersion (default `v1`)." })),
    kind: Type.String({ minLength: 1, description: "The object's kind, for example `Pod` or `NetworkPolicy`." }),
    name: ObjectName,
    namespace: Type.Optional(Dns1123Label),
  },
  { description: "Delete one object; deleting an object that is already gone is not an error." },
);

export const RunStep = Closed(
  {
    node: Type.String({ minLength: 1, description: "A node name, a role (`control-plane`, `worker`) or `all`." }),
    command: Type.Array(Type.String(), { minItems: 1, description: "The command and its arguments, run on the node without a shell." }),
  },
  { description: "Run a command on a node (as root, like `docker exec` on a kind node)." },
);

export const WaitStep = Closed(
  {
    apiVersion: Type.Optional(Type.String({ minLength: 1, description: "The objects' apiVersion (default `v1`)." })),
    kind: Type.String({ minLength: 1, description: "The objects' kind, for example `Pod`, `Node`, `Deployment`." }),
    name: Type.Optional(ObjectName),
    selector: Type.Optional(Labels),
    namespace: Type.Optional(Dns1123Label),
    condition: Type.Optional(
      Closed(
        {
          type: Type.String({ minLength: 1, description: "The condition type, for example `Ready` or `Available`." }),
          status: Type.Optional(Enum(["True", "False", "Unknown"], { description: "Default `True`." })),
        },
        { description: "A status condition every matching object must have." },
      ),
    ),
    phase: Type.Optional(Type.String({ minLength: 1, description: "A `status.phase` every matching object must have, for example `Running` or `Pending`." })),
    exists: Type.Optional(Type.Boolean({ description: "`false` waits until no object matches." })),
  },
  { description: "Wait until objects reach a state; the step fails after its timeout." },
);

export const KubectlStep = Type.Array(Type.String(), {
  minItems: 1,
  description:
    "kubectl's arguments, for example `[label, pod, web-1, app=wbe, --overwrite, -n, shop]`. On kind labs they run on the first control-plane node with the cluster's admin kubeconfig (no kubectl needed on the host); on other clusters, with the host's kubectl and the lab's kubeconfig.",
});

const StepBase = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: "What the step does, shown in progress output." })),
  timeout: Type.Optional({ ...Duration, description: "How long the step may take (default `2m`)." }),
};

export const Step = ExactlyOneOf(
  StepBase,
  {
    apply: ApplyStep,
    addon: AddonStep,
    delete: DeleteStep,
    run: RunStep,
    kubectl: KubectlStep,
    wait: WaitStep,
  },
  { description: "One step: exactly one of `apply`, `addon`, `delete`, `run`, `kubectl` or `wait`." },
);

// ---------------------------------------------------------------- the rest

export const Markdown = ExactlyOneOf(
  {},
  {
    file: { ...FilePath, description: "A Markdown file in the scenario folder." },
    text: Type.String({ minLength: 1, maxLength: 100_000, description: "Markdown written inline." }),
  },
  { description: "Markdown text: exactly one of `file` or `text`." },
);

export const Solution = Closed(
  {
    description: Type.Optional({ ...Markdown, description: "How the solution works, for instructors." }),
    steps: Type.Array(Step, { minItems: 1, description: "Steps that fix the cluster; `labrun test` runs them and requires full marks afterwards." }),
    cnis: Type.Optional(
      Type.Array(Enum(CNI_NAMES, { description: "A CNI: `flannel`, `kube-router` or `cilium`." }), {
        minItems: 1,
        uniqueItems: true,
        description:
          "CNIs the lab must work with. Besides its main run, `labrun test` runs the scenario once more for each CNI listed other than the lab's own (`spec.cluster.networking.cni`), on a fresh cluster: setup with that CNI in every `addon: { name: cni }` step, broken state, solution, full marks. Needs such a step.",
      }),
    ),
  },
  { description: "The reference solution." },
);

export const Shortcut = Closed(
  {
    name: Dns1123Label,
    description: Type.String({ minLength: 3, maxLength: 500, description: "The wrong fix and why it is wrong." }),
    steps: Type.Array(Step, { minItems: 1, description: "The steps of the wrong fix, run in order after `labrun start`." }),
    mustFail: Type.Optional(
      Type.Array(Dns1123Label, { minItems: 1, uniqueItems: true, description: "Checks that must fail after the shortcut (default: the grade must not be full marks)." }),
    ),
  },
  { description: "A known wrong fix; `labrun test` applies it to the broken state and requires that it does not pass." },
);

export const Broken = Closed(
  {
    failing: Type.Array(Dns1123Label, {
      minItems: 1,
      uniqueItems: true,
      description: "Exactly the checks that fail right after `labrun start`; every other check must pass then.",
    }),
  },
  { description: "What the broken state looks like; `labrun start` and `labrun test` verify it." },
);

export const LearnerObject = Closed(
  {
    kind: Enum(["Pod", "Service", "Namespace"], { description: "What the learner creates." }),
    name: Type.Optional({ ...ObjectName, description: "Its name (a Pod: give `name` or `selector`)." }),
    selector: Type.Optional({ ...Labels, description: "For pods: the labels of the pods the learner creates (for example with a Deployment)." }),
    namespace: Type.Optional({ ...Dns1123Label, description: "Its namespace (default `default`; not for a Namespace)." }),
  },
  {
    description:
      "An object the checks refer to that the learner creates while solving the lab, so no setup or break manifest declares it: `labrun validate` accepts a check's reference to it.",
  },
);

export const Grading = Closed(
  {
    passPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "The share of points needed to pass (default 100)." })),
  },
  { description: "How points become a verdict." },
);

export const OutsideHost = Closed(
  {
    name: {
      ...Dns1123Label,
      description: "The host's name: checks name it (`to: { outside: NAME }`, `from: { outside: NAME }`), and `apply` manifests get its IPv4 address as `{{ .Outside.NAME }}`.",
    },
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "The TCP port its HTTP echo server listens on (default 80)." })),
  },
  {
    description:
      "A host outside the cluster: a container labrun starts on the lab's Docker network (kind's `kind` network) from its probe image, serving labrun's HTTP echo (`/labrun/echo?nonce=N`, answered with the nonce and the host's name). It starts before the setup steps and is deleted with the lab (`labrun down`, `labrun gc`, `labrun test`). Needs a kind lab.",
  },
);

export const ScenarioSpec = Closed(
  {
    cluster: Cluster,
    outside: Type.Optional(
      Type.Array(OutsideHost, {
        minItems: 1,
        maxItems: 5,
        description:
          "Hosts outside the cluster (for ipBlock policies, hostPort, egress). `apply` manifests may write `\"{{ .Outside.NAME }}\"` (the host's IPv4 address) and `\"{{ .OutsideNetwork }}\"` (the Docker network's IPv4 CIDR); quote them so the file stays valid YAML.",
      }),
    ),
    images: Type.Optional(
      Type.Array(Type.String({ pattern: "^[^\\s]+:[^\\s:/]+$", description: "An image reference with an explicit tag." }), {
        uniqueItems: true,
        description: "Images to load into the cluster before setup (so the lab works offline). Tags are required; `latest` is refused.",
      }),
    ),
    setup: Type.Optional(Type.Array(Step, { description: "Steps that build the lab's world (workloads)." })),
    break: Type.Optional(Type.Array(Step, { description: "Steps that break it, run after setup." })),
    task: { ...Markdown, description: "The task the learner reads (`labrun show`, `labrun start`)." },
    hints: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), { description: "General hints, from gentle to explicit." })),
    checks: Type.Array(Check, { minItems: 1, maxItems: 100, description: "The checks that prove the lab is solved." }),
    grading: Type.Optional(Grading),
    broken: Broken,
    solution: Solution,
    shortcuts: Type.Optional(Type.Array(Shortcut, { description: "Known wrong fixes that must not pass." })),
    learnerCreates: Type.Optional(
      Type.Array(LearnerObject, {
        description:
          "Pods, services and namespaces the checks refer to that the learner creates (no setup or break manifest declares them). `labrun validate` reports any other reference to a pod, service or namespace that the setup and break manifests do not declare.",
      }),
    ),
  },
  { description: "The lab: its cluster, its broken world, the task, the checks and the solution." },
);

export const Scenario = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION, { description: `The format version: \`${API_VERSION}\`.` }),
    kind: Type.Literal("Scenario", { description: "Always `Scenario`." }),
    metadata: Metadata,
    spec: ScenarioSpec,
  },
  {
    $id: SCHEMA_ID,
    title: "labrun Scenario",
    description: "A Kubernetes troubleshooting lab for labrun: a broken cluster, a task, graded checks and a reference solution.",
    additionalProperties: false,
  },
);

export type Scenario = Static<typeof Scenario>;
/** @internal see the import of TypeBox's symbols above */
export type TypeBoxSymbols = typeof Hint | typeof Kind | typeof OptionalKind | typeof ReadonlyKind;
export type ScenarioMetadata = Static<typeof Metadata>;
export type ClusterSpec = Static<typeof Cluster>;
export type NodeSpec = Static<typeof NodeSpec>;
export type NetworkingSpec = Static<typeof Networking>;
export type Step = Static<typeof Step>;
export type Markdown = Static<typeof Markdown>;
export type Shortcut = Static<typeof Shortcut>;
export type LearnerObject = Static<typeof LearnerObject>;
export type OutsideHost = Static<typeof OutsideHost>;

