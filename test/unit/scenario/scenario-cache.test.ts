/**
 * A validated scenario is cached between runs (a grade does not validate a
 * scenario that has not changed since `labrun start`), keyed by every file
 * of its folder: any change validates again, and only valid scenarios are kept.
 */
import { expect } from "chai";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ScenarioError } from "../../../runner/errors.ts";
import { loadScenario } from "../../../runner/scenario/load.ts";
import { ROOT } from "../../helpers/cli.ts";

describe("scenario cache", () => {
  let saved: string | undefined;
  let cache: string;
  let dir: string;
  beforeEach(() => {
    saved = process.env.LABRUN_CACHE;
    cache = mkdtempSync(join(tmpdir(), "labrun-cache-"));
    process.env.LABRUN_CACHE = cache;
    dir = join(mkdtempSync(join(tmpdir(), "labrun-scen-")), "beebox-cni");
    cpSync(join(ROOT, "scenarios/beebox-cni"), dir, { recursive: true });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.LABRUN_CACHE;
    else process.env.LABRUN_CACHE = saved;
  });
  const entries = () => readdirSync(join(cache, "scenarios")).filter((f) => f.endsWith(".json"));

  it("keeps a valid scenario and uses it while no file of the folder changes; a change to any file validates again", async () => {
    const first = await loadScenario(join(dir, "scenario.yaml"));
    expect(entries()).to.have.length(1);
    // Mark the cached copy: a load that returns the mark used the cache.
    const entry = join(cache, "scenarios", entries()[0]!);
    const cached = JSON.parse(readFileSync(entry, "utf8")) as { metadata: { title: string } };
    expect(cached).to.deep.equal(first.scenario);
    cached.metadata.title = "from the cache";
    writeFileSync(entry, JSON.stringify(cached));
    const second = await loadScenario(join(dir, "scenario.yaml"));
    expect(second.scenario.metadata.title).to.equal("from the cache");
    expect(second.dir).to.equal(first.dir);
    expect(second.file).to.equal(first.file);
    writeFileSync(join(dir, "task.md"), readFileSync(join(dir, "task.md"), "utf8") + "\nOne more line.\n");
    expect((await loadScenario(join(dir, "scenario.yaml"))).scenario.metadata.title).to.equal(first.scenario.metadata.title);
    expect(entries()).to.have.length(2);
  });

  it("never keeps a scenario with problems, and a scenario broken after it was cached is reported", async () => {
    await loadScenario(join(dir, "scenario.yaml"));
    writeFileSync(join(dir, "scenario.yaml"), readFileSync(join(dir, "scenario.yaml"), "utf8").replace("title: Every node is Ready", "tittle: Every node is Ready"));
    const error = await loadScenario(join(dir, "scenario.yaml")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ScenarioError);
    expect(entries()).to.have.length(1);
  });

  it("an unreadable cache entry only costs a validation", async () => {
    await loadScenario(join(dir, "scenario.yaml"));
    writeFileSync(join(cache, "scenarios", entries()[0]!), "{ not json");
    expect((await loadScenario(join(dir, "scenario.yaml"))).name).to.equal("beebox-cni");
  });
});
