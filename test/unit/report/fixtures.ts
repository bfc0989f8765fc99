/**
 * Fixture reports for the reporter tests and golden files:
 *   allPassed  beebox-cni solved: every check passed
 *   mixed      beebox-cni half done: failed, skipped and error checks, long
 *              evidence, and text that needs escaping in every format
 *   network    a NetworkPolicy scenario with connectivity probes (matrix)
 */
import { REPORT_API_VERSION, type CheckResult, type Report } from "../../../runner/schema/report.ts";

type CheckInput = Omit<CheckResult, "evidence" | "attempts" | "durationMs"> & Partial<Pick<CheckResult, "evidence" | "attempts" | "durationMs">>;

function check(input: CheckInput): CheckResult {
  return { evidence: [], attempts: 1, durationMs: 0, ...input };
}

/** Fills in score and summary from the checks, as the grader does. */
export function makeReport(base: {
  scenario: Report["scenario"];
  lab?: Partial<Report["lab"]>;
  attempt?: number;
  passPercent?: number;
  durationMs?: number;
  startedAt?: string;
  checks: CheckResult[];
}): Report {
  const points = base.checks.reduce((n, c) => n + c.points, 0);
  const maxPoints = base.checks.reduce((n, c) => n + c.maxPoints, 0);
  const percent = maxPoints ? Math.round((points / maxPoints) * 10000) / 100 : 100;
  const passPercent = base.passPercent ?? 100;
  const count = (s: CheckResult["status"]) => base.checks.filter((c) => c.status === s).length;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: "Report",
    scenario: base.scenario,
    lab: { name: base.scenario.name, cluster: `labrun-${base.scenario.name}`, provider: "kind", ...base.lab },
    attempt: base.attempt ?? 1,
    startedAt: base.startedAt ?? "2026-01-05T10:00:00.000Z",
    durationMs: base.durationMs ?? 12_345,
    score: { points, maxPoints, percent, passPercent, passed: percent >= passPercent },
    summary: { total: base.checks.length, passed: count("passed"), failed: count("failed"), skipped: count("skipped"), error: count("error") },
    checks: base.checks,
    labrun: { version: "0.1.0" },
  };
}

const beebox = { name: "beebox-cni", title: "BeeBox: the new cluster's pods never start" };

export const allPassed: Report = makeReport({
  scenario: beebox,
  attempt: 3,
  durationMs: 8_412,
  checks: [
    check({ id: "nodes-ready", title: "Every node is Ready", kind: "nodesReady", status: "passed", points: 2, maxPoints: 2, message: "2 of 2 nodes are Ready", durationMs: 412 }),
    check({ id: "cni-configured", title: "A CNI configuration exists on every node", kind: "cniConfigured", status: "passed", points: 1, maxPoints: 1, message: "10-flannel.conflist on 2 of 2 nodes", durationMs: 1_230 }),
    check({ id: "coredns-running", title: "Cluster DNS (CoreDNS) is running", kind: "podsReady", status: "passed", points: 1, maxPoints: 1, message: "2 of 2 pods are Ready", durationMs: 88 }),
    check({ id: "workloads-running", title: "cyberdyne-frontend and testclient are Running and Ready", kind: "podsReady", status: "passed", points: 2, maxPoints: 2, message: "2 of 2 pods are Ready", durationMs: 95 }),
    check({ id: "http-by-ip", title: "testclient reaches cyberdyne-frontend over HTTP by pod IP", kind: "http", status: "passed", points: 2, maxPoints: 2, message: "GET http://192.168.1.4:80/ answered 200", durationMs: 2_310 }),
    check({ id: "pod-dns", title: "The frontend's pod DNS name resolves to its IP", kind: "dns", status: "passed", points: 1, maxPoints: 1, message: "192-168-1-4.default.pod.cluster.local is 192.168.1.4", durationMs: 1_804 }),
    check({ id: "http-by-dns", title: "testclient reaches cyberdyne-frontend over HTTP by its pod DNS name", kind: "http", status: "passed", points: 1, maxPoints: 1, message: "GET http://192-168-1-4.default.pod.cluster.local:80/ answered 200", durationMs: 2_101 }),
  ],
});

const kubeletMessage =
  "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

const describeOutput = [
  "Name:               beebox-worker",
  "Roles:              <none>",
  "Labels:             beta.kubernetes.io/arch=amd64",
  "                    kubernetes.io/hostname=beebox-worker",
  "Taints:             node.kubernetes.io/not-ready:NoSchedule",
  "Conditions:",
  "  Type             Status  Reason                       Message",
  "  ----             ------  ------                       -------",
  "  MemoryPressure   False   KubeletHasSufficientMemory   kubelet has sufficient memory available",
  "  DiskPressure     False   KubeletHasNoDiskPressure     kubelet has no disk pressure",
  "  PIDPressure      False   KubeletHasSufficientPID      kubelet has sufficient PID available",
  `  Ready            False   KubeletNotReady              ${kubeletMessage}`,
  ...Array.from({ length: 48 }, (_, i) => `  event ${String(i + 1).padStart(2, "0")}: Warning  FailedScheduling  0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }`),
].join("\n");

export const mixed: Report = makeReport({
  scenario: beebox,
  attempt: 2,
  durationMs: 95_020,
  checks: [
    check({
      id: "nodes-ready",
      title: "Every node is Ready",
      kind: "nodesReady",
      status: "failed",
      points: 0,
      maxPoints: 2,
      message: "0 of 2 nodes are Ready",
      hint: '`kubectl describe node` shows why a node is NotReady. "network plugin is not ready: cni config uninitialized" means no CNI is installed: install one (for example Flannel or Calico) with the cluster\'s pod subnet 192.168.0.0/16.',
      evidence: [
        { label: "node beebox-control-plane", expected: "Ready=True", observed: `Ready=False (KubeletNotReady: ${kubeletMessage})` },
        { label: "kubectl describe node beebox-worker", expected: "Ready=True", observed: describeOutput },
      ],
      attempts: 30,
      durationMs: 60_123,
    }),
    check({ id: "cni-configured", title: "A CNI configuration exists on every node", kind: "cniConfigured", status: "passed", points: 1, maxPoints: 1, message: "10-calico.conflist on 2 of 2 nodes", durationMs: 1_230 }),
    check({
      id: "coredns-running",
      title: "Cluster DNS (CoreDNS) is running",
      kind: "podsReady",
      status: "skipped",
      points: 0,
      maxPoints: 1,
      message: "skipped: needs nodes-ready, which failed",
      hint: "CoreDNS pods are ordinary pods on the pod network; they start once the nodes are Ready.",
    }),
    check({
      id: "workloads-running",
      title: "cyberdyne-frontend and testclient are Running and Ready",
      kind: "podsReady",
      status: "skipped",
      points: 0,
      maxPoints: 2,
      message: "skipped: needs nodes-ready, which failed",
    }),
    check({
      id: "http-by-ip",
      title: "testclient reaches cyberdyne-frontend over HTTP by pod IP",
      kind: "http",
      status: "error",
      points: 0,
      maxPoints: 2,
      message: "could not run curl in pod default/testclient: the exec stream closed before the exit status arrived",
      hint: "`kubectl get pods -o wide` gives the frontend's IP; try `kubectl exec testclient -- curl -s <ip>`.",
      evidence: [{ label: "kubectl exec testclient -- curl --max-time 5 -sS http://192.168.1.4:80/", observed: "error: unable to upgrade connection: container not found (\"testclient\")" }],
      attempts: 3,
      durationMs: 15_004,
    }),
    check({
      id: "body-escaping",
      title: 'Body contains "<h1>Welcome & hello</h1>" | pipes | and `code`',
      kind: "http",
      status: "failed",
      points: 0.5,
      maxPoints: 1,
      message: "GET http://cyberdyne-frontend/ answered 200 but the body lacks <h1>Welcome & hello</h1>",
      hint: "Look at the body: `curl -s http://cyberdyne-frontend/ | head` — the <title> & the | matter.\nA second hint line with <b>HTML</b> & a [link](javascript:alert(1)).",
      evidence: [
        {
          label: "GET http://cyberdyne-frontend/?q=<script>alert('x')</script>&a=1|2",
          expected: 'body contains "<h1>Welcome & hello</h1>"',
          observed:
            "HTTP/1.1 200 OK\r\nServer: nginx\u0000\u0007\r\n\r\n\u001b[31m<html><body><script>alert(\"pwned\")</script>]]><!-- -->\n```\nfenced ``` inside | pipe | 日本語 ✓ 🚀\n</body></html>\u001b[0m\u000b\ufffe",
        },
        {
          label: "a very long URL without spaces",
          expected: "200",
          observed: "https://cyberdyne-frontend.default.svc.cluster.local/" + "very-long-path-segment/".repeat(12) + "end?x=1",
        },
      ],
      attempts: 1,
      durationMs: 812,
    }),
  ],
});

export const network: Report = makeReport({
  scenario: { name: "netpol-frontdoor", title: "Front door: only the frontend may reach the API" },
  lab: { name: "frontdoor-2", cluster: "labrun-frontdoor-2" },
  attempt: 1,
  passPercent: 80,
  durationMs: 41_500,
  checks: [
    check({
      id: "default-deny",
      title: "Nothing reaches the database except the API",
      kind: "networkPolicy",
      status: "passed",
      points: 3,
      maxPoints: 3,
      message: "3 of 3 connections as required",
      connectivity: [
        { from: "web/frontend", to: "db/postgres:5432", expected: "blocked", observed: "blocked" },
        { from: "web/client", to: "db/postgres:5432", expected: "blocked", observed: "blocked" },
        { from: "api/api", to: "db/postgres:5432", expected: "allowed", observed: "allowed" },
      ],
      attempts: 2,
      durationMs: 9_120,
    }),
    check({
      id: "frontend-to-api",
      title: "The frontend reaches the API; nothing else does",
      kind: "networkPolicy",
      status: "failed",
      points: 1,
      maxPoints: 3,
      message: "1 of 3 connections as required",
      hint: "A NetworkPolicy on the api pods selects which sources may connect: check its podSelector and namespaceSelector (the frontend is in namespace web).",
      evidence: [
        { label: "web/frontend → api/api:8080", expected: "allowed", observed: "blocked (connect timeout after 3s; control probe web/frontend → web/frontend:80 succeeded)" },
        { label: "web/client → api/api:8080", expected: "blocked", observed: "allowed (HTTP 200)" },
      ],
      connectivity: [
        { from: "web/frontend", to: "api/api:8080", expected: "allowed", observed: "blocked" },
        { from: "web/client", to: "api/api:8080", expected: "blocked", observed: "allowed" },
        { from: "other/intruder", to: "api/api:8080", expected: "blocked", observed: "blocked" },
      ],
      attempts: 10,
      durationMs: 30_015,
    }),
    check({
      id: "no-egress",
      title: "The API cannot reach the internet",
      kind: "networkPolicy",
      status: "failed",
      points: 0,
      maxPoints: 2,
      message: "the probe could not run from api/api",
      hint: "An egress policy must allow DNS (port 53) and the database, and nothing else.",
      evidence: [{ label: "api/api → example.com:443", expected: "blocked", observed: "unknown: the control probe failed too (the source pod has no network)" }],
      connectivity: [{ from: "api/api", to: "example.com:443", expected: "blocked", observed: "unknown" }],
      attempts: 1,
      durationMs: 2_050,
    }),
    check({ id: "web-serves", title: "The frontend serves its page", kind: "http", status: "passed", points: 2, maxPoints: 2, message: "GET http://frontend.web:80/ answered 200", durationMs: 315 }),
  ],
});

export const FIXTURES: Record<string, Report> = { "all-passed": allPassed, mixed, network };
