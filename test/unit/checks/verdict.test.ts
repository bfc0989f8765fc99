import { expect } from "chai";
import { judgeMustNotPass, needsOf, provenNotPassing, unevaluatedChecks } from "../../../checks/verdict.ts";
import type { CheckResult, CheckStatus } from "../../../runner/schema/report.ts";

const r = (id: string, status: CheckStatus, message = `${id} ${status}`): CheckResult => ({
  id,
  title: id,
  kind: "object",
  status,
  points: 0,
  maxPoints: 1,
  message,
  evidence: [],
  attempts: 1,
  durationMs: 1,
});

const needs = needsOf([{ id: "nodes" }, { id: "probe" }, { id: "pods", needs: ["nodes"] }, { id: "http", needs: ["pods", "probe"] }, { id: "dns", needs: ["probe"] }]);

describe("could not evaluate is never fails as required", () => {
  it("failed is proven; skipped is proven only through a proven need", () => {
    const results = [r("nodes", "failed"), r("probe", "error", "the probe container did not start"), r("pods", "skipped"), r("http", "skipped"), r("dns", "skipped")];
    expect([...provenNotPassing(results, needs)].sort()).to.deep.equal(["http", "nodes", "pods"]);
  });

  it("judges must-not-pass checks: passing, proven, unevaluated with the reason down the chain", () => {
    const results = [r("nodes", "passed"), r("probe", "error", "the probe container did not start"), r("pods", "failed"), r("http", "skipped"), r("dns", "skipped")];
    const verdict = judgeMustNotPass(results, ["nodes", "pods", "http", "dns", "probe"], needs);
    expect(verdict.passing).to.deep.equal(["nodes"]);
    expect(verdict.proven).to.deep.equal(["pods", "http"]);
    expect(verdict.unevaluated).to.deep.equal([
      { id: "dns", reason: "skipped because probe could not be evaluated: the probe container did not start" },
      { id: "probe", reason: "could not be evaluated: the probe container did not start" },
    ]);
  });

  it("lists every unevaluated check of a report", () => {
    const results = [r("nodes", "failed"), r("probe", "error", "boom"), r("pods", "skipped"), r("http", "skipped"), r("dns", "skipped")];
    expect(unevaluatedChecks(results, needs).map((u) => u.id)).to.deep.equal(["probe", "dns"]);
  });
});
