/**
 * The HTTP API of `labrun serve` against a fake lab layer (test/unit/serve/fakes.ts):
 * routing, tokens, errors and their statuses, the capacity bound, the lab's
 * states, reports and expiry. Every JSON answer is checked against the schema
 * the route table (and so schemas/openapi.json) documents.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { InfraError } from "../../../runner/errors.ts";
import { ROUTES } from "../../../runner/schema/api.ts";
import { openApiDocument } from "../../../runner/schema/openapi.ts";
import { ROOT } from "../../helpers/cli.ts";
import { allPassed, mixed } from "../report/fixtures.ts";
import { answerProblems, harness, settle, TOKEN, type Harness } from "./fakes.ts";

async function readyLab(h: Harness, scenario = "one-node"): Promise<{ id: string; learnerToken: string }> {
  const res = await h.call("POST", "/v1/labs", { body: { scenario } });
  expect(res.statusCode, res.body).to.equal(202);
  const { lab, learnerToken } = res.json<{ lab: { id: string }; learnerToken: string }>();
  h.backend.startOf(lab.id).done.resolve({ task: "Fix it." });
  await settle();
  return { id: lab.id, learnerToken };
}

describe("serve: the HTTP API", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.app.close();
  });

  describe("the OpenAPI document", () => {
    it("is served without a token and is the committed schemas/openapi.json", async () => {
      const res = await h.call("GET", "/v1/openapi.json", { token: null });
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.deep.equal(openApiDocument());
      expect(JSON.parse(readFileSync(`${ROOT}schemas/openapi.json`, "utf8"))).to.deep.equal(openApiDocument());
    });

    it("documents every route the server answers, with the token scheme", async () => {
      const doc = openApiDocument() as { paths: Record<string, Record<string, { operationId: string }>> };
      const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
      expect(ops.sort()).to.deep.equal(ROUTES.map((r) => r.id).sort());
      for (const route of ROUTES) {
        const url = route.url.replace(":lab", "one-node-1").replace(":attempt", "1");
        const res = await h.call(route.method, url, { token: null });
        expect(res.body, `${route.method} ${url}`).not.to.include("NO_SUCH_ROUTE");
      }
    });
  });

  describe("tokens", () => {
    it("refuses every route but the document without a token or with a wrong one (401), before any work", async () => {
      for (const route of ROUTES.filter((r) => r.auth !== "none")) {
        const url = route.url.replace(":lab", "one-node-1").replace(":attempt", "1");
        for (const token of [null, "wrong-token-0123456789"]) {
          const res = await h.call(route.method, url, { token, ...(route.method === "POST" ? { body: { scenario: "one-node" } } : {}) });
          expect(res.statusCode, `${route.method} ${url} with ${token}`).to.equal(401);
          expect(res.json().error.code).to.equal("UNAUTHORIZED");
          expect(answerProblems(route.id, 401, res.json())).to.deep.equal([]);
        }
      }
      expect(h.backend.starts).to.have.length(0);
    });

    it("a learner token reaches its own lab only, and none of the platform's routes", async () => {
      const a = await readyLab(h);
      const b = await readyLab(h);
      expect((await h.call("GET", `/v1/labs/${a.id}`, { token: a.learnerToken })).statusCode).to.equal(200);
      // Every route of lab b, with lab a's learner token (the terminal's WebSocket: test/unit/serve/terminal.test.ts).
      const labRoutes = ROUTES.filter((r) => r.auth === "lab");
      expect(labRoutes.map((r) => r.id)).to.include.members(["getLab", "labEvents", "gradeLab", "listAttempts", "getReport", "labTerminal"]);
      for (const route of labRoutes) {
        const url = route.url.replace(":lab", b.id).replace(":attempt", "1");
        const other = await h.call(route.method, url, { token: a.learnerToken });
        expect(other.statusCode, `${route.method} ${url}`).to.equal(403);
        expect(other.json().error.code).to.equal("FORBIDDEN");
        expect(answerProblems(route.id, 403, other.json())).to.deep.equal([]);
      }
      expect(h.backend.grades).to.deep.equal([]);
      for (const [method, url] of [
        ["GET", "/v1/labs"],
        ["GET", "/v1/scenarios"],
        ["DELETE", `/v1/labs/${a.id}`],
      ] as const) {
        const res = await h.call(method, url, { token: a.learnerToken });
        expect(res.statusCode, `${method} ${url}`).to.equal(403);
      }
      expect((await h.call("POST", "/v1/labs", { token: a.learnerToken, body: { scenario: "one-node" } })).statusCode).to.equal(403);
      expect(h.backend.downs).to.deep.equal([]);
      expect(a.learnerToken).to.have.length.greaterThan(30);
      expect(a.learnerToken).not.to.equal(b.learnerToken);
    });
  });

  describe("bad input gets a 4xx with a code", () => {
    it("malformed JSON, unknown fields, wrong types, oversized bodies, names with path tricks, unknown scenarios and routes", async () => {
      const cases: [string, Awaited<ReturnType<Harness["call"]>>, number, string][] = [
        ["malformed", await h.call("POST", "/v1/labs", { raw: "{scenario:" }), 400, "MALFORMED_JSON"],
        ["empty", await h.call("POST", "/v1/labs", { raw: "" }), 400, "MALFORMED_JSON"],
        ["not an object", await h.call("POST", "/v1/labs", { raw: '["one-node"]' }), 400, "BAD_REQUEST"],
        ["no scenario", await h.call("POST", "/v1/labs", { body: { ttlSeconds: 600 } }), 400, "BAD_REQUEST"],
        [
          "not JSON",
          await h.app.inject({ method: "POST", url: "/v1/labs", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/xml" }, payload: "<scenario>one-node</scenario>" }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        ],
        ["unknown field", await h.call("POST", "/v1/labs", { body: { scenario: "one-node", admin: true } }), 400, "BAD_REQUEST"],
        ["wrong type", await h.call("POST", "/v1/labs", { body: { scenario: "one-node", ttlSeconds: "600" } }), 400, "BAD_REQUEST"],
        ["ttl too short", await h.call("POST", "/v1/labs", { body: { scenario: "one-node", ttlSeconds: 5 } }), 400, "BAD_REQUEST"],
        ["oversized", await h.call("POST", "/v1/labs", { raw: JSON.stringify({ scenario: "x".repeat(2000) }) }), 413, "BODY_TOO_LARGE"],
        ["path in scenario", await h.call("POST", "/v1/labs", { body: { scenario: "../../etc" } }), 400, "BAD_REQUEST"],
        ["unknown scenario", await h.call("POST", "/v1/labs", { body: { scenario: "no-such" } }), 404, "UNKNOWN_SCENARIO"],
        ["path in lab", await h.call("GET", "/v1/labs/..%2F..%2Fetc"), 400, "BAD_REQUEST"],
        ["unknown lab", await h.call("GET", "/v1/labs/nope"), 404, "UNKNOWN_LAB"],
        ["unknown route", await h.call("GET", "/v2/labs"), 404, "NO_SUCH_ROUTE"],
        ["bad format", await h.call("GET", "/v1/labs/nope/attempts/1/report?format=pdf"), 400, "BAD_REQUEST"],
      ];
      for (const [what, res, status, code] of cases) {
        expect(res.statusCode, `${what}: ${res.body}`).to.equal(status);
        expect(res.json().error.code, what).to.equal(code);
        expect(res.json().error.message, what).to.be.a("string").and.not.equal("");
      }
      expect(h.backend.starts).to.have.length(0);
    });
  });

  describe("a lab's life", () => {
    it("starts asynchronously with progress, is ready with its task, and its start-up failure is reported", async () => {
      const res = await h.call("POST", "/v1/labs", { body: { scenario: "one-node", ttlSeconds: 600 } });
      expect(res.statusCode).to.equal(202);
      expect(answerProblems("createLab", 202, res.json())).to.deep.equal([]);
      const { lab } = res.json();
      expect(res.headers.location).to.equal(`/v1/labs/${lab.id}`);
      expect(res.json().learnerPath).to.equal(`/v1/labs/${lab.id}/page#token=${res.json().learnerToken}`);
      expect(lab).to.include({ state: "starting", scenario: "one-node", expiresAt: "2026-03-01T10:10:00.000Z" });
      const start = h.backend.startOf(lab.id);
      expect(start.file).to.equal("/s/one-node/scenario.yaml");
      start.onEvent({ type: "step-start", phase: "cluster", name: "create cluster" });
      start.onEvent({ type: "step-end", phase: "cluster", name: "create cluster", status: "ok", durationMs: 1200, detail: "1 node" });
      start.onEvent({ type: "step-start", phase: "setup", name: "apply app" });
      let view = (await h.call("GET", `/v1/labs/${lab.id}`)).json();
      expect(view.progress).to.deep.equal([
        { phase: "cluster", name: "create cluster", status: "ok", durationMs: 1200, detail: "1 node" },
        { phase: "setup", name: "apply app", status: "running" },
      ]);
      start.done.resolve({ task: "# Fix it" });
      await settle();
      view = (await h.call("GET", `/v1/labs/${lab.id}`)).json();
      expect(view).to.include({ state: "ready", task: "# Fix it" });
      expect(answerProblems("getLab", 200, view)).to.deep.equal([]);

      const failing = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json().lab.id;
      h.backend.startOf(failing).done.reject(new InfraError("docker is not running", { code: "DOCKER_UNAVAILABLE", hint: "start Docker" }));
      await settle();
      const failed = (await h.call("GET", `/v1/labs/${failing}`)).json();
      expect(failed).to.include({ state: "failed" });
      expect(failed.error).to.deep.equal({ code: "DOCKER_UNAVAILABLE", message: "docker is not running", hint: "start Docker" });
      expect((await h.call("GET", "/v1/labs")).json().labs.map((l: { id: string }) => l.id)).to.deep.equal([lab.id, failing]);
    });

    it("follows start-up as server-sent events until the lab is ready", async () => {
      const { lab } = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json();
      const start = h.backend.startOf(lab.id);
      start.onEvent({ type: "step-start", phase: "cluster", name: "create cluster" });
      const stream = h.call("GET", `/v1/labs/${lab.id}/events`);
      await settle();
      start.onEvent({ type: "step-end", phase: "cluster", name: "create cluster", status: "ok", durationMs: 5 });
      start.done.resolve({ task: "t" });
      const res = await stream;
      expect(res.headers["content-type"]).to.match(/^text\/event-stream/);
      const events = res.body
        .trim()
        .split("\n\n")
        .map((block) => {
          const [event, data] = block.split("\n");
          return [event!.slice("event: ".length), JSON.parse(data!.slice("data: ".length))] as [string, { state?: string; status?: string }];
        });
      expect(events.map(([e, d]) => `${e}:${d.state ?? d.status}`)).to.deep.equal(["progress:running", "state:starting", "progress:ok", "state:ready"]);
    });

    it("with until=gone, follows the lab through its states until it is deleted, and says why (expired, started or not)", async () => {
      const parse = (body: string) =>
        body
          .trim()
          .split("\n\n")
          .map((block) => {
            const [event, data] = block.split("\n");
            return `${event!.slice("event: ".length)}:${((d) => d.state ?? d.status ?? d.reason)(JSON.parse(data!.slice("data: ".length)))}`;
          });
      const ready = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node", ttlSeconds: 60 } })).json().lab.id;
      const starting = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node", ttlSeconds: 60 } })).json().lab.id;
      const streams = [h.call("GET", `/v1/labs/${ready}/events?until=gone`), h.call("GET", `/v1/labs/${starting}/events?until=gone`)];
      await settle();
      h.backend.startOf(ready).done.resolve({ task: "t", warmCluster: "labrun-pool-abc" });
      await settle();
      expect((await h.call("GET", `/v1/labs/${ready}`)).json()).to.include({ state: "ready", warmCluster: "labrun-pool-abc" });
      h.clock.now += 60_000;
      expect((await h.manager.sweep()).sort()).to.deep.equal([ready, starting].sort());
      expect(h.backend.startOf(starting).signal.aborted, "the start is interrupted").to.equal(true);
      const [a, b] = await Promise.all(streams);
      expect(parse(a!.body)).to.deep.equal(["state:starting", "state:ready", "state:deleting", "gone:expired"]);
      expect(parse(b!.body)).to.deep.equal(["state:starting", "state:deleting", "gone:expired"]);
      const other = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json().lab.id;
      expect((await h.call("GET", `/v1/labs/${other}/events?until=never`)).statusCode).to.equal(400);
      const deleted = h.call("GET", `/v1/labs/${other}/events?until=gone`);
      await settle();
      await h.call("DELETE", `/v1/labs/${other}`);
      expect(parse((await deleted).body)).to.deep.equal(["state:starting", "state:deleting", "gone:deleted"]);
      expect((await h.call("GET", `/v1/labs/${other}`)).statusCode).to.equal(404);
    });

    it("grades: an unsolved lab is a 200 report, a fault of the cluster a 502, a lab not ready a 409", async () => {
      const { lab } = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json();
      const early = await h.call("POST", `/v1/labs/${lab.id}/grade`);
      expect([early.statusCode, early.json().error.code]).to.deep.equal([409, "LAB_NOT_READY"]);
      h.backend.startOf(lab.id).done.resolve({ task: "t" });
      await settle();

      const first = h.call("POST", `/v1/labs/${lab.id}/grade`);
      await settle();
      const twice = await h.call("POST", `/v1/labs/${lab.id}/grade`);
      expect([twice.statusCode, twice.json().error.code]).to.deep.equal([409, "GRADE_IN_PROGRESS"]);
      expect((await h.call("GET", `/v1/labs/${lab.id}`)).json().state).to.equal("grading");
      h.backend.grades[0]!.done.resolve({ ...mixed, attempt: 1 });
      const unsolved = await first;
      expect(unsolved.statusCode).to.equal(200);
      expect(unsolved.json().score.passed).to.equal(false);
      expect(unsolved.json()).to.deep.equal({ ...mixed, attempt: 1 });
      expect(answerProblems("gradeLab", 200, unsolved.json())).to.deep.equal([]);

      const faulty = h.call("POST", `/v1/labs/${lab.id}/grade`);
      await settle();
      h.backend.grades[1]!.done.reject(new InfraError("the cluster's API does not answer", { code: "CLUSTER_UNREACHABLE" }));
      const fault = await faulty;
      expect([fault.statusCode, fault.json().error.code]).to.deep.equal([502, "CLUSTER_UNREACHABLE"]);
      expect(answerProblems("gradeLab", 502, fault.json())).to.deep.equal([]);

      const buggy = h.call("POST", `/v1/labs/${lab.id}/grade`);
      await settle();
      h.backend.grades[2]!.done.reject(new TypeError("x is undefined"));
      expect([(await buggy).statusCode, (await buggy).json().error.code]).to.deep.equal([500, "INTERNAL"]);
      expect((await h.call("GET", `/v1/labs/${lab.id}`)).json()).to.include({ state: "ready", attempts: 1 });
    });

    it("lists attempts and serves each report in every format", async () => {
      const { id } = await readyLab(h);
      for (const report of [{ ...mixed, attempt: 1 }, { ...allPassed, attempt: 2 }]) {
        const grading = h.call("POST", `/v1/labs/${id}/grade`);
        await settle();
        h.backend.grades.at(-1)!.done.resolve(report);
        expect((await grading).statusCode).to.equal(200);
      }
      const attempts = (await h.call("GET", `/v1/labs/${id}/attempts`)).json();
      expect(answerProblems("listAttempts", 200, attempts)).to.deep.equal([]);
      expect(attempts.attempts.map((a: { attempt: number; passed: boolean }) => [a.attempt, a.passed])).to.deep.equal([
        [1, false],
        [2, true],
      ]);
      const json = await h.call("GET", `/v1/labs/${id}/attempts/2/report`);
      expect(json.statusCode, json.body).to.equal(200);
      expect(json.json()).to.deep.equal({ ...allPassed, attempt: 2 });
      const types = { html: /^text\/html/, junit: /^application\/xml/, markdown: /^text\/markdown/, text: /^text\/plain/ };
      for (const [format, type] of Object.entries(types)) {
        const res = await h.call("GET", `/v1/labs/${id}/attempts/1/report?format=${format}`);
        expect(res.statusCode, format).to.equal(200);
        expect(res.headers["content-type"], format).to.match(type);
        expect(res.body, format).to.include(format === "junit" ? "<testsuite" : mixed.scenario.title.slice(0, 10));
      }
      const missing = await h.call("GET", `/v1/labs/${id}/attempts/3/report`);
      expect([missing.statusCode, missing.json().error.code]).to.deep.equal([404, "UNKNOWN_ATTEMPT"]);
    });

    it("deletes: a starting lab is interrupted first; a failed delete is a 502 and the lab stays, failed", async () => {
      const { lab } = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json();
      const res = await h.call("DELETE", `/v1/labs/${lab.id}`);
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.deep.equal({ id: lab.id, deleted: true });
      expect(h.backend.startOf(lab.id).signal.aborted).to.equal(true);
      expect(h.backend.downs).to.deep.equal([lab.id]);
      expect((await h.call("GET", `/v1/labs/${lab.id}`)).statusCode).to.equal(404);

      const { id } = await readyLab(h);
      h.backend.downError = new InfraError("kind could not delete the cluster");
      const failed = await h.call("DELETE", `/v1/labs/${id}`);
      expect([failed.statusCode, failed.json().error.code]).to.deep.equal([502, "INFRASTRUCTURE"]);
      expect((await h.call("GET", `/v1/labs/${id}`)).json().state).to.equal("failed");
      h.backend.downError = undefined;
      expect((await h.call("DELETE", `/v1/labs/${id}`)).statusCode).to.equal(200);
    });
  });

  describe("limits", () => {
    it("answers 503 AT_CAPACITY at the lab limit, and takes labs again once one is deleted", async () => {
      await h.app.close();
      h = await harness({ maxLabs: 2 });
      const a = await readyLab(h);
      await readyLab(h);
      const full = await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } });
      expect([full.statusCode, full.json().error.code]).to.deep.equal([503, "AT_CAPACITY"]);
      expect(full.json().error.hint).to.include("DELETE");
      expect(h.backend.starts).to.have.length(2);
      await h.call("DELETE", `/v1/labs/${a.id}`);
      expect((await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).statusCode).to.equal(202);
    });

    it("answers 503 AT_CAPACITY when the labs' nodes would need more memory than the budget (about 1 GiB per node)", async () => {
      await h.app.close();
      h = await harness({ memoryBytes: 3.5 * 1024 ** 3 });
      await readyLab(h, "two-nodes");
      const full = await h.call("POST", "/v1/labs", { body: { scenario: "two-nodes" } });
      expect([full.statusCode, full.json().error.code]).to.deep.equal([503, "AT_CAPACITY"]);
      expect(full.json().error.message).to.include("4 nodes");
      expect((await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).statusCode).to.equal(202);
    });

    it("deletes labs when they expire, and every lab when the server closes", async () => {
      const created = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node", ttlSeconds: 60 } })).json();
      const [short, shortToken] = [created.lab.id as string, created.learnerToken as string];
      h.backend.startOf(short).done.resolve({ task: "t" });
      const { id: long } = await readyLab(h);
      h.clock.now += 59_000;
      expect(await h.manager.sweep()).to.deep.equal([]);
      h.clock.now += 1_000;
      expect(await h.manager.sweep()).to.deep.equal([short]);
      expect(h.backend.downs).to.deep.equal([short]);
      // An expired lab answers 410 LAB_EXPIRED, to the platform and to its learner (a deleted one: 404).
      for (const token of [TOKEN, shortToken]) {
        const gone = await h.call("GET", `/v1/labs/${short}`, { token });
        expect([gone.statusCode, gone.json().error.code]).to.deep.equal([410, "LAB_EXPIRED"]);
        expect(gone.json().error.message).to.include("2026-03-01T10:01:00.000Z");
        expect(answerProblems("getLab", 410, gone.json())).to.deep.equal([]);
      }
      expect((await h.call("GET", `/v1/labs/${short}`, { token: "wrong-token-0123456789" })).statusCode).to.equal(401);
      expect(await h.manager.closeAll()).to.deep.equal([]);
      expect(h.backend.downs).to.deep.equal([short, long]);
      expect((await h.call("GET", "/v1/labs")).json()).to.deep.equal({ labs: [] });
    });
  });

  it("the platform token works as a bearer token in any letter case of the scheme", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v1/labs", headers: { authorization: `bearer ${TOKEN}` } });
    expect(res.statusCode).to.equal(200);
  });
});
