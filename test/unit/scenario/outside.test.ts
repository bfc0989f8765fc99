/**
 * Hosts outside the cluster in the scenario format: the placeholders of
 * `apply` manifests and what `labrun validate` refuses.
 */
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fillOutside, PlaceholderError, placeholderNames } from "../../../runner/scenario/placeholders.ts";
import { validateScenarioFile } from "../../../runner/scenario/load.ts";

const VARS = { hosts: { partner: "172.18.0.9", tracker: "172.18.0.10" }, network: "172.18.0.0/16" };

describe("scenario: hosts outside the cluster", () => {
  describe("placeholders", () => {
    it("fills {{ .Outside.NAME }} and {{ .OutsideNetwork }}, spaces or not, and leaves other templates alone", () => {
      const text = 'cidr: "{{ .OutsideNetwork }}"\nexcept: ["{{.Outside.tracker}}/32"]\nip: {{ .Outside.partner }}\ntpl: "{{ .Values.x }}"';
      expect(fillOutside(text, "m.yaml", VARS)).to.equal('cidr: "172.18.0.0/16"\nexcept: ["172.18.0.10/32"]\nip: 172.18.0.9\ntpl: "{{ .Values.x }}"');
      expect(placeholderNames(text)).to.deep.equal(["", "tracker", "partner"]);
    });

    it("an undeclared host, or any placeholder in a lab without outside hosts, is an error naming the file", () => {
      expect(() => fillOutside("x: {{ .Outside.nope }}", "manifests/p.yaml", VARS)).to.throw(PlaceholderError, "manifests/p.yaml: {{ .Outside.nope }} names no host of spec.outside (declared: partner, tracker)");
      expect(() => fillOutside('x: "{{ .OutsideNetwork }}"', "p.yaml", undefined)).to.throw(PlaceholderError, /p.yaml: \{\{ \.OutsideNetwork \}\} needs a host outside the cluster, and this lab has none/);
      expect(fillOutside("no placeholders", "p.yaml", undefined)).to.equal("no placeholders");
    });
  });

  describe("labrun validate", () => {
    let dir: string;
    const file = () => path.join(dir, "egress-ipblock-except", "scenario.yaml");
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), "labrun-outside-"));
      cpSync(path.join(import.meta.dirname, "../../../scenarios/egress-ipblock-except"), path.join(dir, "egress-ipblock-except"), { recursive: true });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const edit = (from: string, to: string, rel = "scenario.yaml") => {
      const f = path.join(dir, "egress-ipblock-except", rel);
      const text = readFileSync(f, "utf8");
      expect(text, `${rel} contains ${from}`).to.include(from);
      writeFileSync(f, text.replace(from, to));
    };
    const messages = async () => (await validateScenarioFile(file())).problems.map((p) => `${p.path}: ${p.message}`);

    it("accepts the shipped scenario", async () => {
      expect(await messages()).to.deep.equal([]);
    });

    it("refuses a check naming an undeclared outside host, with a suggestion", async () => {
      edit("to: { outside: tracker }", "to: { outside: trackr }");
      expect(await messages()).to.deep.equal(['spec.checks[1].blocked.to.outside: names no host of spec.outside: "trackr" (did you mean "tracker"?)']);
    });

    it("refuses a manifest placeholder naming an undeclared host, and duplicate host names", async () => {
      edit("{{ .Outside.tracker }}", "{{ .Outside.tracker2 }}", "manifests/shop.yaml");
      edit("    - name: tracker\n", "    - name: tracker\n    - name: partner\n");
      expect(await messages()).to.have.members([
        'spec.outside[2].name: duplicate outside host name "partner"',
        "spec.setup[3].apply.file: manifests/shop.yaml uses {{ .Outside.tracker2 }}, but spec.outside declares no host \"tracker2\"",
      ]);
    });

    it("refuses status/bodyContains on an echo, a source that is both a pod and an outside host, and via on an outside target", async () => {
      edit("        to: { outside: partner }\n", "        to: { outside: partner, via: ip }\n        expect: { status: 200 }\n");
      edit("        from: { pod: checkout, namespace: shop }\n        to: { outside: partner", "        from: { pod: checkout, outside: partner }\n        to: { outside: partner");
      // (the pod source lost its namespace: the cross-reference rule's finding about it is not this test's subject)
      expect((await messages()).filter((m) => !m.includes("is not declared"))).to.have.members([
        'spec.checks[0].http.from: give "pod", "selector" or "outside", not several',
        'spec.checks[0].http.to.via: "via" applies to pod and service targets, not "outside"',
        'spec.checks[0].http.expect: an echo answer (a target "outside", or "echoFrom") is judged by its nonce and host name: drop "status" and "bodyContains"',
      ]);
    });
  });
});
