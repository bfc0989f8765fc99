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

export const API_VERSION = "labrun.dev/v1alpha1";
export const SCHEMA_ID = "https://labrun.dev/schemas/scenario.schema.json";

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

// ---------------------------------------------------------------- references

export const PodRef = Closed(
  {
    pod: Type.Optional({ ...ObjectName, description: "The pod's name." }),
    selector: Type.Optional({ ...Labels, description: "Labels selecting the pod (the first ready pod matching them is used)." }),
    namespace: Type.Optional({ ...Dns1123Label, description: "The pod's namespace (default `default`)." }),
    container: Type.Optional({ ...Dns1123Label, description: "A container of the pod (default: the first)." }),
  },
  { description: "A pod, by name or by label selector (give one of `pod` or `selector`)." },
);

export const NodeRef = Closed(
  {
    node: Type.Optional(Type.String({ minLength: 1, description: "A node name, or a role (`control-plane`, `worker`), or `all`." })),
  },
  { description: "One node, all nodes of a role, or all nodes." },
);

/** Where a probe connects to. */
export const Target = ExactlyOneOf(
  {
    namespace: Type.Optional({ ...Dns1123Label, description: "The target's namespace (default: the source pod's namespace)." }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "The port (default 80)." })),
    via: Type.Optional(
      Enum(["ip", "dns"], {
        description: "For a pod target: connect to its IP (`ip`, default) or to its pod DNS name `a-b-c-d.<namespace>.pod.cluster.local` (`dns`). For a service: its cluster IP (`ip`) or its name `<service>.<namespace>.svc.cluster.local` (`dns`, default).",
      }),
    ),
  },
  {
    pod: { ...ObjectName, description: "A pod, by name; its live IP is used." },
    service: { ...ObjectName, description: "A service, by name." },
    host: Type.String({ minLength: 1, maxLength: 253, description: "A host name or IP address, used as written." }),
  },
  { description: "What to connect to: exactly one of `pod`, `service` or `host`." },
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
    name: Enum(["flannel", "kube-router-netpol"], {
      description: "A network add-on that ships with labrun: `flannel` (a CNI; uses the cluster's pod subnet) or `kube-router-netpol` (a NetworkPolicy enforcer).",
    }),
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

// ---------------------------------------------------------------- checks

export const NodesReadyCheck = Closed(
  {
    nodes: Type.Optional(Type.String({ minLength: 1, description: "A node name, a role (`control-plane`, `worker`) or `all` (default)." })),
    ready: Type.Optional(Type.Boolean({ description: "`true` (default) requires Ready, `false` requires NotReady." })),
  },
  { description: "Nodes are Ready; when not, the evidence gives the kubelet's reason (for example `cni config uninitialized`)." },
);

export const PodsReadyCheck = Closed(
  {
    namespace: Type.Optional(Dns1123Label),
    names: Type.Optional(Type.Array(ObjectName, { minItems: 1, description: "Pod names." })),
    selector: Type.Optional(Labels),
    phase: Type.Optional(Type.String({ minLength: 1, description: "Required `status.phase` (default `Running`)." })),
    ready: Type.Optional(Type.Boolean({ description: "Require the Ready condition (default `true`)." })),
    minCount: Type.Optional(Type.Integer({ minimum: 1, description: "At least this many pods must match (default 1)." })),
  },
  { description: "Pods (by names or selector) are in a phase and Ready." },
);

export const CniConfiguredCheck = Closed(
  {
    nodes: Type.Optional(Type.String({ minLength: 1, description: "A node name, a role or `all` (default)." })),
    directory: Type.Optional(Type.String({ minLength: 1, description: "Where CNI configuration lives (default `/etc/cni/net.d`)." })),
  },
  { description: "A CNI configuration file (`*.conf`, `*.conflist`, `*.json`) exists on each node." },
);

const ProbeFrom = { ...PodRef, description: "The source pod; labrun's probe runs inside its network namespace (an ephemeral container), so NetworkPolicies see the source pod." };

export const HttpCheck = Closed(
  {
    from: ProbeFrom,
    to: Target,
    path: Type.Optional(Type.String({ pattern: "^/", description: "The URL path (default `/`)." })),
    expect: Type.Optional(
      Closed(
        {
          status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: "The HTTP status (default 200)." })),
          bodyContains: Type.Optional(Type.String({ minLength: 1, description: "Text the response body must contain." })),
        },
        { description: "What the response must look like." },
      ),
    ),
  },
  { description: "An HTTP request from a pod to a pod, a service or a host succeeds." },
);

export const DnsCheck = Closed(
  {
    from: ProbeFrom,
    lookup: ExactlyOneOf(
      {
        namespace: Type.Optional({ ...Dns1123Label, description: "The namespace of the pod or service (default: the source pod's)." }),
      },
      {
        pod: { ...ObjectName, description: "Resolve this pod's DNS name `a-b-c-d.<namespace>.pod.cluster.local`, built from its live IP; it must resolve to that IP." },
        service: { ...ObjectName, description: "Resolve `<service>.<namespace>.svc.cluster.local`; it must resolve to the service's cluster IP." },
        name: Type.String({ minLength: 1, maxLength: 253, description: "Resolve this name as written." }),
      },
      { description: "What to resolve: exactly one of `pod`, `service` or `name`." },
    ),
    expect: Type.Optional(
      Closed(
        {
          addresses: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: "Addresses the answer must contain (for `name` lookups)." })),
        },
        { description: "What the answer must contain." },
      ),
    ),
  },
  { description: "A DNS lookup from inside a pod returns the expected address." },
);

export const BlockedCheck = Closed(
  {
    from: ProbeFrom,
    to: Target,
    control: {
      ...Target,
      description:
        "A target the source must still reach, probed the same way: a 'blocked' verdict counts only when this control connection succeeds, so a dead source pod can never pass.",
    },
  },
  { description: "A TCP connection from a pod to a target is blocked (for example by a NetworkPolicy), while a control connection from the same pod works." },
);

export const ObjectCheck = Closed(
  {
    apiVersion: Type.Optional(Type.String({ minLength: 1, description: "Default `v1`." })),
    kind: Type.String({ minLength: 1 }),
    name: ObjectName,
    namespace: Type.Optional(Dns1123Label),
    match: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: "A partial object: every field given must be present with the same value (lists match element by element)." }),
    ),
    absent: Type.Optional(Type.Boolean({ description: "`true` requires that the object does not exist." })),
  },
  { description: "An object exists and matches a partial spec (or is absent)." },
);

export const CommandCheck = Closed(
  {
    in: Type.Optional({ ...PodRef, description: "Run in this pod's container (kubectl exec)." }),
    on: Type.Optional({ ...NodeRef, description: "Run on these nodes (as root)." }),
    command: Type.Array(Type.String(), { minItems: 1, description: "The command and its arguments, without a shell." }),
    expect: Type.Optional(
      Closed(
        {
          exitCode: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: "Default 0." })),
          stdoutContains: Type.Optional(Type.String({ minLength: 1 })),
          stdoutMatches: Type.Optional(Type.String({ minLength: 1, description: "A regular expression the output must match." })),
        },
        { description: "What the command must produce." },
      ),
    ),
  },
  { description: "A command in a pod (`in`) or on nodes (`on`) exits with the expected code and output." },
);

export const ScriptCheck = Closed(
  {
    file: { ...FilePath, description: "A `.ts`, `.mts` or `.mjs` module in the scenario folder whose default export is `async (ctx) => CheckOutcome`." },
  },
  { description: "A custom check written by the author, given a typed context (the cluster client, the lab, a logger)." },
);

const CheckBase = {
  id: { ...Dns1123Label, description: "A unique id within the scenario, used by `needs`, `broken` and reports." },
  title: Type.String({ minLength: 3, maxLength: 160, description: "What the check proves, as the learner reads it." }),
  points: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: "Points for passing (default 1)." })),
  hint: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: "Shown when the check fails (Markdown)." })),
  timeout: Type.Optional({ ...Duration, description: "How long the check may poll before it fails (default `30s`)." }),
  interval: Type.Optional({ ...Duration, description: "Time between attempts (default `2s`)." }),
  consistently: Type.Optional({
    ...Duration,
    description: "Instead of waiting until the check holds ('eventually'), require that it holds for this whole period.",
  }),
  needs: Type.Optional(
    Type.Array(Dns1123Label, {
      uniqueItems: true,
      description: "Ids of checks that must pass first; if one fails, this check is skipped with the reason.",
    }),
  ),
};

export const Check = ExactlyOneOf(
  CheckBase,
  {
    nodesReady: NodesReadyCheck,
    podsReady: PodsReadyCheck,
    cniConfigured: CniConfiguredCheck,
    http: HttpCheck,
    dns: DnsCheck,
    blocked: BlockedCheck,
    object: ObjectCheck,
    command: CommandCheck,
    script: ScriptCheck,
  },
  {
    description:
      "One graded check: an id, a title, points, a hint, and exactly one of `nodesReady`, `podsReady`, `cniConfigured`, `http`, `dns`, `blocked`, `object`, `command` or `script`.",
  },
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

export const Grading = Closed(
  {
    passPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "The share of points needed to pass (default 100)." })),
  },
  { description: "How points become a verdict." },
);

export const ScenarioSpec = Closed(
  {
    cluster: Cluster,
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
export type PodRef = Static<typeof PodRef>;
export type NodeRef = Static<typeof NodeRef>;
export type Target = Static<typeof Target>;
export type Step = Static<typeof Step>;
export type Check = Static<typeof Check>;
export type CheckKind = (typeof CHECK_KINDS)[number];
export type StepKind = (typeof STEP_KINDS)[number];
export type Markdown = Static<typeof Markdown>;
export type Shortcut = Static<typeof Shortcut>;
export type NodesReadyCheck = Static<typeof NodesReadyCheck>;
export type PodsReadyCheck = Static<typeof PodsReadyCheck>;
export type CniConfiguredCheck = Static<typeof CniConfiguredCheck>;
export type HttpCheck = Static<typeof HttpCheck>;
export type DnsCheck = Static<typeof DnsCheck>;
export type BlockedCheck = Static<typeof BlockedCheck>;
export type ObjectCheck = Static<typeof ObjectCheck>;
export type CommandCheck = Static<typeof CommandCheck>;
export type ScriptCheck = Static<typeof ScriptCheck>;

export const CHECK_KINDS = ["nodesReady", "podsReady", "cniConfigured", "http", "dns", "blocked", "object", "command", "script"] as const;
export const STEP_KINDS = ["apply", "addon", "delete", "run", "kubectl", "wait"] as const;

/** The operation key of a check (`http`, `dns`, ...). */
export function checkKind(check: Check): CheckKind {
  for (const kind of CHECK_KINDS) if (kind in check) return kind;
  throw new Error(`check ${check.id} has no operation`);
}

/** The operation key of a step (`apply`, `wait`, ...). */
export function stepKind(step: Step): StepKind {
  for (const kind of STEP_KINDS) if (kind in step) return kind;
  throw new Error("step has no operation");
}
