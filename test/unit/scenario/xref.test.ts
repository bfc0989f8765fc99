/**
 * `labrun validate`'s cross references: a check's pod, service or namespace
 * that no setup or break manifest declares (unless spec.learnerCreates lists
 * it), and a check that needs a failing check without failing itself.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ExitCode, type Problem } from "../../../runner/errors.ts";
import { validateScenarioFile } from "../../../runner/scenario/load.ts";
import { XREF_CODES } from "../../../runner/scenario/semantic-xref.ts";
import { runCli } from "../../helpers/cli.ts";

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web, tier: front } }
    spec: { containers: [{ name: nginx, image: docker.io/library/nginx:1.22.1 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: client, labels: { role: client } }
spec: { containers: [{ name: curl, image: docker.io/curlimages/curl:7.88.1 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
`;

type CheckSpec = Record<string, unknown>;

/** A scenario folder whose setup applies MANIFEST (in namespace `shop`), with these checks. */
function scenario(checks: CheckSpec[], options: { failing?: string[]; learnerCreates?: unknown[]; breakFile?: string } = {}): string {
  const dir = join(mkdtempSync(join(tmpdir(), "labrun-xref-")), "xref");
  mkdirSync(join(dir, "manifests"), { recursive: true });
  writeFileSync(join(dir, "manifests", "app.yaml"), MANIFEST);
  if (options.breakFile) writeFileSync(join(dir, "manifests", "break.yaml"), options.breakFile);
  const doc = {
    apiVersion: "labrun.dev/v1alpha1",
    kind: "Scenario",
    metadata: { name: "xref", title: "Cross references", summary: "for tests", difficulty: "beginner", estimatedMinutes: 5 },
    spec: {
      cluster: { nodes: [{ role: "control-plane" }] },
      setup: [{ apply: { file: "manifests/app.yaml", namespace: "shop" } }],
      ...(options.breakFile ? { break: [{ apply: { file: "manifests/break.yaml" } }] } : {}),
      task: { text: "do it" },
      checks: checks.map((c, i) => ({ id: `c${i}`, title: `check ${i}`, ...c })),
      broken: { failing: options.failing ?? ["c0"] },
      solution: { steps: [{ run: { node: "all", command: ["true"] } }] },
      ...(options.learnerCreates ? { learnerCreates: options.learnerCreates } : {}),
    },
  };
  writeFileSync(join(dir, "scenario.yaml"), stringify(doc));
  return join(dir, "scenario.yaml");
}

async function xref(file: string): Promise<Problem[]> {
  return (await validateScenarioFile(file)).problems;
}

const from = { pod: "client", namespace: "shop" };

describe("labrun validate: cross references", () => {
  it("accepts pods by name, Deployment pods by template labels, services and namespaces the setup declares", async () => {
    const problems = await xref(
      scenario([
        { http: { from, to: { selector: { app: "web" } } } },
        { http: { from: { selector: { role: "client" }, namespace: "shop" }, to: { service: "web" } } },
        { dns: { from, lookup: { selector: { app: "web", tier: "front" } } } },
        { podsReady: { namespace: "shop", names: ["client"] } },
        { dns: { from, lookup: { service: "kube-dns", namespace: "kube-system" } } },
      ]),
    );
    expect(problems).to.deep.equal([]);
  });

  it("reports a pod name that no manifest declares (a Deployment's pod), at its field, with its code", async () => {
    const problems = await xref(scenario([{ http: { from, to: { pod: "web" } } }, { podsReady: { namespace: "shop", names: ["client", "web-1"] } }]));
    expect(problems.map((p) => [p.path, p.code])).to.deep.equal([
      ["spec.checks[0].http.to.pod", XREF_CODES.pod],
      ["spec.checks[1].podsReady.names[1]", XREF_CODES.pod],
    ]);
    expect(problems[0]!.message).to.match(/^pod shop\/web is not declared: .*use `selector` with its template's labels/);
  });

  it("reports a selector no declared pod or template matches (wrong label, wrong namespace)", async () => {
    const problems = await xref(scenario([{ dns: { from, lookup: { selector: { app: "wbe" } } } }, { http: { from: { selector: { app: "web" } }, to: { service: "web", namespace: "shop" } } }]));
    expect(problems.map((p) => [p.path, p.code])).to.deep.equal([
      ["spec.checks[0].dns.lookup.selector", XREF_CODES.selector],
      ["spec.checks[1].http.from.selector", XREF_CODES.selector],
    ]);
    expect(problems[1]!.message).to.include("no pod declared in namespace default has the labels app=web");
  });

  it("reports an undeclared service and an undeclared namespace", async () => {
    const problems = await xref(
      scenario([{ http: { from, to: { service: "api" } } }, { blocked: { from, to: { pod: "db", namespace: "data" }, control: { service: "web" }, allowedFrom: from } }]),
    );
    expect(problems.map((p) => [p.path, p.code])).to.deep.equal([
      ["spec.checks[0].http.to.service", XREF_CODES.service],
      ["spec.checks[1].blocked.to.namespace", XREF_CODES.namespace],
    ]);
  });

  it("accepts what spec.learnerCreates lists, and what a break manifest declares", async () => {
    const checks = [
      { http: { from, to: { service: "api" } } },
      { http: { from: { selector: { app: "probe" }, namespace: "tools" }, to: { pod: "db", namespace: "shop" } } },
      { podsReady: { namespace: "shop", names: ["extra"] } },
    ];
    const learnerCreates = [
      { kind: "Service", name: "api", namespace: "shop" },
      { kind: "Namespace", name: "tools" },
      { kind: "Pod", selector: { app: "probe" }, namespace: "tools" },
      { kind: "Pod", name: "db", namespace: "shop" },
    ];
    const breakFile = "apiVersion: v1\nkind: Pod\nmetadata: { name: extra, namespace: shop }\nspec: { containers: [{ name: c, image: docker.io/library/nginx:1.22.1 }] }\n";
    expect(await xref(scenario(checks, { learnerCreates, breakFile }))).to.deep.equal([]);
    expect((await xref(scenario(checks))).map((p) => p.code)).to.deep.equal([XREF_CODES.service, XREF_CODES.namespace, XREF_CODES.pod, XREF_CODES.pod]);
  });

  it("checks spec.learnerCreates entries' shape", async () => {
    const problems = await xref(scenario([{ http: { from, to: { service: "web" } } }], { learnerCreates: [{ kind: "Pod" }, { kind: "Service", selector: { a: "b" } }, { kind: "Namespace", name: "x", namespace: "y" }] }));
    expect(problems.map((p) => p.path)).to.deep.equal(["spec.learnerCreates[0]", "spec.learnerCreates[1]", "spec.learnerCreates[1].selector", "spec.learnerCreates[2].namespace"]);
  });

  it("reports a check that needs a failing check without being listed in broken.failing, also through a chain", async () => {
    const ok = { http: { from, to: { service: "web" } } };
    const problems = await xref(
      scenario(
        [
          { ...ok },
          { ...ok, needs: ["c0"] },
          { ...ok, needs: ["c1"] },
          { ...ok },
          { ...ok, needs: ["c3"] },
        ],
        { failing: ["c0"] },
      ),
    );
    expect(problems.map((p) => [p.path, p.code])).to.deep.equal([
      ["spec.checks[1].needs[0]", XREF_CODES.needsFailing],
      ["spec.checks[2].needs[0]", XREF_CODES.needsFailing],
    ]);
    expect(problems[0]!.message).to.equal('needs "c0", which is listed in spec.broken.failing: in the broken state this check is skipped, and a skipped check does not pass; list "c1" in spec.broken.failing too');
    expect(problems[1]!.message).to.match(/^needs "c1", which is skipped in the broken state: it needs "c0", listed in spec.broken.failing/);
    expect(await xref(scenario([{ ...ok }, { ...ok, needs: ["c0"] }], { failing: ["c0", "c1"] }))).to.deep.equal([]);
  });

  it("labrun validate prints the file, field path and code, and exits with the validation exit code", async () => {
    const file = scenario([{ http: { from, to: { pod: "web" } } }]);
    const r = await runCli(["validate", file]);
    expect(r.code).to.equal(ExitCode.usage);
    expect(r.stdout).to.match(/scenario\.yaml:\d+:\d+ {2}spec\.checks\[0\]\.http\.to\.pod {2}pod shop\/web is not declared: .*\[XREF_UNDECLARED_POD\]\n/);
    const json = JSON.parse((await runCli(["validate", file, "-o", "json"])).stdout) as { scenarios: { problems: Problem[] }[] };
    expect(json.scenarios[0]!.problems[0]).to.include({ path: "spec.checks[0].http.to.pod", code: XREF_CODES.pod });
  });
});
