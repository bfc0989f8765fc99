/**
 * The scenario format, part two: references to pods and nodes, and the
 * checks (re-exported by ./scenario.ts, the module to import).
 */
import { Type, type Static } from "@sinclair/typebox";
// Named so that the emitted declarations (dist/*.d.ts) can refer to TypeBox's symbols (TS4023).
import type { Hint, Kind, OptionalKind, ReadonlyKind } from "@sinclair/typebox";
import { Closed, Dns1123Label, Duration, Enum, ExactlyOneOf, FilePath, Labels, ObjectName } from "./dsl.ts";
export { CHECK_KINDS, checkKind, type CheckKind } from "./values.ts";

// ---------------------------------------------------------------- references

const PodRefFields = {
  pod: Type.Optional({ ...ObjectName, description: "The pod's name." }),
  selector: Type.Optional({ ...Labels, description: "Labels selecting the pod (the first ready pod matching them is used)." }),
  namespace: Type.Optional({ ...Dns1123Label, description: "The pod's namespace (default `default`)." }),
  container: Type.Optional({ ...Dns1123Label, description: "A container of the pod (default: the first)." }),
};

export const PodRef = Closed(PodRefFields, { description: "A pod, by name or by label selector (give one of `pod` or `selector`)." });

export const NodeRef = Closed(
  {
    node: Type.Optional(Type.String({ minLength: 1, description: "A node name, or a role (`control-plane`, `worker`), or `all`." })),
  },
  { description: "One node, all nodes of a role, or all nodes." },
);

const TargetBase = {
  namespace: Type.Optional({ ...Dns1123Label, description: "The target's namespace (default: the source pod's namespace)." }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "The port (default 80)." })),
  via: Type.Optional(
    Enum(["ip", "dns"], {
      description:
        "For a pod target: connect to its IP (`ip`, default) or to its pod DNS name `a-b-c-d.<namespace>.pod.cluster.local` (`dns`). For a service: its cluster IP (`ip`) or its name `<service>.<namespace>.svc.cluster.local` (`dns`, default).",
    }),
  ),
};
const TargetOps = {
  pod: { ...ObjectName, description: "A pod, by name; its live IP is used." },
  service: { ...ObjectName, description: "A service, by name." },
  host: Type.String({ minLength: 1, maxLength: 253, description: "A host name or IP address, used as written." }),
  outside: {
    ...Dns1123Label,
    description:
      "A host outside the cluster that the scenario declares (`spec.outside`), at its address on the lab's Docker network; the port defaults to the host's. labrun sends a fresh nonce and counts only an answer that carries it back from that host: anything else that answers on the address is not the host.",
  },
  node: Type.String({
    minLength: 1,
    maxLength: 253,
    description: "A node, by name or role (`control-plane`, `worker`: the first such node), at its InternalIP: for example to reach a `hostPort` from outside the pod network.",
  }),
};

/** Where a probe connects to. */
export const Target = ExactlyOneOf(TargetBase, TargetOps, { description: "What to connect to: exactly one of `pod`, `service`, `host`, `outside` or `node`." });

/** A pod chosen by labels, for targets and lookups: every matching pod counts, none is a failure. */
export const PodSelector = {
  ...Labels,
  description:
    "Pods, by labels (in `namespace`): for a Deployment's pods, whose names are not fixed. Every matching pod must pass (each is probed at its live IP, or its pod DNS name); when the scenario deploys pods matching the labels, pods it does not deploy are ignored. No matching pod fails the check (the learner's cluster lacks the pod), naming the selector.",
};

/** Where an http check connects to: a Target, or pods by selector. */
export const HttpTarget = ExactlyOneOf(
  TargetBase,
  { ...TargetOps, selector: PodSelector },
  { description: "What to connect to: exactly one of `pod`, `selector`, `service`, `host`, `outside` or `node`." },
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

const HttpFrom = Closed(
  {
    ...PodRefFields,
    outside: Type.Optional({
      ...Dns1123Label,
      description: "Instead of a pod: a host outside the cluster that the scenario declares (`spec.outside`); labrun's probe runs in that host's container, outside the pod network.",
    }),
  },
  {
    description:
      "The source: a pod (`pod` or `selector`; labrun's probe runs inside its network namespace, an ephemeral container, so NetworkPolicies see the source pod) or a host outside the cluster (`outside`).",
  },
);

export const HttpCheck = Closed(
  {
    from: HttpFrom,
    to: HttpTarget,
    path: Type.Optional(Type.String({ pattern: "^/", description: "The URL path (default `/`)." })),
    expect: Type.Optional(
      Closed(
        {
          status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: "The HTTP status (default 200)." })),
          bodyContains: Type.Optional(Type.String({ minLength: 1, description: "Text the response body must contain." })),
          echoFrom: Type.Optional({
            ...PodRef,
            description:
              "The answer must be labrun's echo (the probe image serving `labrun-probe hold --listen`) from this pod: labrun asks with a fresh nonce and requires it back with the pod's host name (its name). A pod on the host network answers with the node's name and fails. Instead of `status` and `bodyContains`.",
          }),
        },
        { description: "What the response must look like." },
      ),
    ),
  },
  { description: "An HTTP request from a pod (or a host outside the cluster) to a pod, a service, a host, a node or a host outside the cluster succeeds." },
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
        selector: { ...PodSelector, description: `${PodSelector.description} Each pod's DNS name must resolve to its IP.` },
        service: { ...ObjectName, description: "Resolve `<service>.<namespace>.svc.cluster.local`; it must resolve to the service's cluster IP." },
        name: Type.String({ minLength: 1, maxLength: 253, description: "Resolve this name as written." }),
      },
      { description: "What to resolve: exactly one of `pod`, `selector`, `service` or `name`." },
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
    allowedFrom: Type.Optional({
      ...PodRef,
      description:
        "The positive control: a pod that must reach the same target and port in the same run (labrun's probe in its network namespace, like `from`). A 'blocked' verdict counts only when this connection succeeds, so a dead target or a listener that is down is never 'blocked'. `labrun validate` requires it.",
    }),
  },
  {
    description:
      "A TCP connection from a pod to a target is blocked (for example by a NetworkPolicy), while a control connection from the same pod works and a pod that is allowed (`allowedFrom`) reaches the same target and port.",
  },
);

const PeerName = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
  description: "The name `expect.cells` uses for this row or column.",
});

export const ReachabilitySource = ExactlyOneOf(
  {
    name: Type.Optional({
      ...PeerName,
      description:
        "The row's name in `expect.cells` (default: the pod's name for `pod`, `stranger` and `stranger-other-namespace` for strangers; required for `selector` and `labels`).",
    }),
    namespace: Type.Optional({
      ...Dns1123Label,
      description: "The pod's namespace (default `default`; for `stranger: sameNamespace`, the first target's namespace). Not for `stranger: otherNamespace`.",
    }),
  },
  {
    pod: { ...ObjectName, description: "A pod the scenario deploys, by name; labrun's probe runs in its network namespace (an ephemeral container)." },
    selector: { ...Labels, description: "A pod the scenario deploys, by labels (the first ready pod matching them)." },
    labels: {
      ...Labels,
      description: "A pod labrun creates for the grade with exactly these labels (running labrun's probe image), deleted afterwards: a row for a kind of pod the scenario does not deploy.",
    },
    stranger: Enum(["sameNamespace", "otherNamespace"], {
      description:
        "A pod with labels no policy can name in advance (`app: stranger-<random>`), created by labrun for the grade and deleted afterwards: in the target's namespace (`sameNamespace`) or in a fresh namespace of its own (`otherNamespace`, also random).",
    }),
  },
  { description: "A row of the truth table: exactly one of `pod`, `selector`, `labels` or `stranger`." },
);

export const ReachabilityTarget = ExactlyOneOf(
  {
    name: Type.Optional({ ...PeerName, description: "The column's name in `expect.cells` (default: the pod's or service's name; required for `selector`)." }),
    namespace: Type.Optional({ ...Dns1123Label, description: "The target's namespace (default `default`)." }),
    ports: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, maxItems: 10, uniqueItems: true, description: "TCP ports to probe, one column each (default `[80]`)." }),
    ),
  },
  {
    pod: { ...ObjectName, description: "A pod, by name; probed at its live IP. It must be Running and Ready." },
    selector: { ...Labels, description: "A pod, by labels (the first ready pod matching them); probed at its live IP." },
    service: { ...ObjectName, description: "A service, by name; probed at its cluster IP. It needs a ready endpoint." },
  },
  { description: "A column of the truth table: exactly one of `pod`, `selector` or `service`, with its ports." },
);

export const ReachabilityCell = Closed(
  {
    from: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "A source's name (default: every source)." })),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "A target's name (default: every target)." })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "One of the target's ports (default: all of them)." })),
    is: Enum(["allowed", "blocked"], { description: "What these cells must be." }),
  },
  { description: "An exception to the default: the cells it names (every source, target or port it leaves out) must be `is`." },
);

export const ReachabilityCheck = Closed(
  {
    sources: Type.Array(ReachabilitySource, { minItems: 1, maxItems: 20, description: "The rows: where connections start." }),
    targets: Type.Array(ReachabilityTarget, { minItems: 1, maxItems: 20, description: "The columns: what they connect to, one column per port." }),
    expect: Closed(
      {
        default: Enum(["allowed", "blocked"], { description: "What every cell must be unless `cells` says otherwise." }),
        cells: Type.Optional(
          Type.Array(ReachabilityCell, { maxItems: 400, description: "Exceptions, applied in order: a later entry overrides an earlier one for the cells both name." }),
        ),
      },
      { description: "The expected matrix: a default and exceptions, the way the Kubernetes NetworkPolicy e2e suite builds its truth tables." },
    ),
  },
  {
    description:
      "A NetworkPolicy truth table: every source tries a TCP connection to every target port at once; the observed matrix must equal the expected one. A wrong cell is probed once more before it counts; a 'blocked' cell counts only when some source reached the same target and port in the same run.",
  },
);

export const PodNetworkCheck = Closed(
  {
    port: Type.Optional(Type.Integer({ minimum: 1024, maximum: 65535, description: "The port labrun's echo servers listen on (default 8080)." })),
    minNodes: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: "At least this many nodes must take part (default: the number of nodes in `spec.cluster.nodes`)." }),
    ),
  },
  {
    description:
      "The pod network works across nodes: labrun runs an echo server pod on every node (a DaemonSet in namespace `labrun-system`, kept for the lab's life); each reaches every other at its pod IP and gets its own nonce back from the right pod, and every pod IP is unique and inside the cluster's pod subnet.",
  },
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
    reachability: ReachabilityCheck,
    podNetwork: PodNetworkCheck,
    object: ObjectCheck,
    command: CommandCheck,
    script: ScriptCheck,
  },
  {
    description:
      "One graded check: an id, a title, points, a hint, and exactly one of `nodesReady`, `podsReady`, `cniConfigured`, `http`, `dns`, `blocked`, `reachability`, `podNetwork`, `object`, `command` or `script`.",
  },
);

export type PodRef = Static<typeof PodRef>;
export type NodeRef = Static<typeof NodeRef>;
export type Target = Static<typeof Target>;
export type HttpTarget = Static<typeof HttpTarget>;
export type Check = Static<typeof Check>;
export type NodesReadyCheck = Static<typeof NodesReadyCheck>;
export type PodsReadyCheck = Static<typeof PodsReadyCheck>;
export type CniConfiguredCheck = Static<typeof CniConfiguredCheck>;
export type HttpCheck = Static<typeof HttpCheck>;
export type DnsCheck = Static<typeof DnsCheck>;
export type BlockedCheck = Static<typeof BlockedCheck>;
export type ReachabilityCheck = Static<typeof ReachabilityCheck>;
export type ReachabilitySource = Static<typeof ReachabilitySource>;
export type ReachabilityTarget = Static<typeof ReachabilityTarget>;
export type ReachabilityCell = Static<typeof ReachabilityCell>;
export type PodNetworkCheck = Static<typeof PodNetworkCheck>;
export type ObjectCheck = Static<typeof ObjectCheck>;
export type CommandCheck = Static<typeof CommandCheck>;
export type ScriptCheck = Static<typeof ScriptCheck>;


export type CheckTypeBoxSymbols = typeof Hint | typeof Kind | typeof OptionalKind | typeof ReadonlyKind;
