/**
 * The truth table's logic without a cluster: expectations built like the
 * netpol e2e suite's TruthTable, the retry of a wrong cell, and the
 * positive-control rule that keeps "blocked" from passing on a dead target.
 */
import { expect } from "chai";
import { applyPositiveControl, expectedCells, probeTable, tableVerdict, type CellKey, type CellResult, type ProbeOutcome } from "../../../checks/truthtable.ts";

const allowed: ProbeOutcome = { observed: "allowed", detail: "connected" };
const blocked: ProbeOutcome = { observed: "blocked", detail: "failed: i/o timeout" };
const label = (c: CellKey) => ({ from: c.from, to: `${c.to}:${c.port}` });
const at = (cells: { from: string; to: string; port: number; expected: string }[], from: string, to: string, port: number) => cells.find((c) => c.from === from && c.to === to && c.port === port)?.expected;

describe("truth tables", () => {
  describe("expected cells", () => {
    const sources = ["client", "intruder", "stranger"];
    const targets = [
      { name: "frontend", ports: [80, 443] },
      { name: "db", ports: [5432] },
    ];

    it("has one cell per source, target and port, all the default without exceptions", () => {
      const cells = expectedCells(sources, targets, { default: "blocked" });
      expect(cells).to.have.length(9);
      expect(new Set(cells.map((c) => c.expected))).to.deep.equal(new Set(["blocked"]));
      expect(cells[0]).to.deep.equal({ from: "client", to: "frontend", port: 80, expected: "blocked" });
    });

    it("applies exceptions in order; a missing from, to or port means all of them (SetAllFrom / SetAllTo)", () => {
      const cells = expectedCells(sources, targets, {
        default: "blocked",
        cells: [
          { to: "frontend", is: "allowed" }, // everyone reaches the frontend ...
          { from: "intruder", to: "frontend", is: "blocked" }, // ... but the intruder
          { from: "intruder", to: "frontend", port: 443, is: "allowed" }, // ... except on 443
          { from: "client", is: "allowed" }, // the client reaches everything
        ],
      });
      expect(at(cells, "stranger", "frontend", 80)).to.equal("allowed");
      expect(at(cells, "stranger", "db", 5432)).to.equal("blocked");
      expect(at(cells, "intruder", "frontend", 80)).to.equal("blocked");
      expect(at(cells, "intruder", "frontend", 443)).to.equal("allowed");
      expect(at(cells, "client", "db", 5432)).to.equal("allowed");
    });

    it("a later exception overrides an earlier one", () => {
      const cells = expectedCells(["a"], [{ name: "t", ports: [80] }], { default: "allowed", cells: [{ from: "a", is: "blocked" }, { to: "t", is: "allowed" }] });
      expect(at(cells, "a", "t", 80)).to.equal("allowed");
    });
  });

  describe("probing", () => {
    const cells = expectedCells(["client", "intruder"], [{ name: "frontend", ports: [80] }], { default: "blocked", cells: [{ from: "client", is: "allowed" }] });

    it("probes every cell once when all are as expected", async () => {
      const calls: string[] = [];
      const results = await probeTable(cells, async (c) => {
        calls.push(c.from);
        return c.from === "client" ? allowed : blocked;
      });
      expect(calls.sort()).to.deep.equal(["client", "intruder"]);
      expect(results.map((r) => r.observed)).to.deep.equal(["allowed", "blocked"]);
      expect(tableVerdict(results, label)).to.deep.equal({ ok: true, couldNotEvaluate: false, message: "2 connections as expected (1 allowed, 1 blocked)" });
    });

    it("probes a wrong cell once more, and the second observation counts", async () => {
      const calls = new Map<string, number>();
      const results = await probeTable(cells, async (c) => {
        const n = (calls.get(c.from) ?? 0) + 1;
        calls.set(c.from, n);
        if (c.from === "client") return n === 1 ? blocked : allowed; // a slow first connection
        return blocked;
      });
      expect(Object.fromEntries(calls)).to.deep.equal({ client: 2, intruder: 1 });
      const client = results.find((r) => r.from === "client")!;
      expect(client.observed).to.equal("allowed");
      expect(client.probes.map((p) => p.observed)).to.deep.equal(["blocked", "allowed"]);
      expect(tableVerdict(results, label).ok).to.equal(true);
    });

    it("fails a cell that is wrong twice, and retries it only once", async () => {
      const calls = new Map<string, number>();
      const results = await probeTable(cells, async (c) => {
        calls.set(c.from, (calls.get(c.from) ?? 0) + 1);
        return allowed; // open to everyone
      });
      expect(calls.get("intruder")).to.equal(2);
      const verdict = tableVerdict(results, label);
      expect(verdict.ok).to.equal(false);
      expect(verdict.couldNotEvaluate).to.equal(false);
      expect(verdict.message).to.equal("1 connection not as expected: intruder → frontend:80 allowed (expected blocked)");
    });

    it("never passes 'blocked' without a positive control: a dead target makes the blocked cells unknown", async () => {
      const results = await probeTable(cells, async () => blocked); // nothing answers, from anyone
      expect(results.map((r) => [r.from, r.observed, r.unknownReason])).to.deep.equal([
        ["client", "blocked", undefined], // expected allowed: a plain failure, as seen
        ["intruder", "unknown", "no-positive-control"],
      ]);
      const verdict = tableVerdict(results, label);
      expect(verdict.ok).to.equal(false);
      expect(verdict.message).to.match(/^1 connection not as expected: client → frontend:80 blocked \(expected allowed\); no source reached frontend:80 in this run, so "blocked" there proves nothing/);
    });

    it("a table whose blocked cells have no positive control at all never passes either", () => {
      const only: CellResult[] = [{ from: "intruder", to: "frontend", port: 80, expected: "blocked", observed: "blocked", probes: [blocked] }];
      const results = applyPositiveControl(only);
      expect(results[0]!.observed).to.equal("unknown");
      expect(tableVerdict(results, label).ok).to.equal(false);
    });

    it("is unevaluable (not a failure) when probes could not run and nothing else is wrong", async () => {
      const results = await probeTable(cells, async (c) => {
        if (c.from === "intruder") throw new Error("exec broke off");
        return allowed;
      });
      const intruder = results.find((r) => r.from === "intruder")!;
      expect(intruder.observed).to.equal("unknown");
      expect(intruder.unknownReason).to.equal("probe-error");
      expect(intruder.probes).to.have.length(2);
      const verdict = tableVerdict(results, label);
      expect(verdict).to.include({ ok: false, couldNotEvaluate: true });
      expect(verdict.message).to.equal("1 probe could not run: intruder → frontend:80");
    });

    it("runs at most `concurrency` probes at a time", async () => {
      const many = expectedCells(["a", "b", "c", "d", "e", "f"], [{ name: "t", ports: [1, 2] }], { default: "allowed" });
      let active = 0;
      let peak = 0;
      await probeTable(
        many,
        async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
          return allowed;
        },
        { concurrency: 3 },
      );
      expect(peak).to.equal(3);
    });
  });
});
