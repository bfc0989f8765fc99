import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasStackTrace, ROOT, runCli, runCliProcess } from "../../helpers/cli.ts";

interface Expectation {
  message: string;
  path?: string;
  line?: number;
  /** The file the problem is located in, when it is not the corpus file itself (a referenced manifest). */
  file?: string;
}

const corpusDir = join(ROOT, "test/corpus/scenarios");
const expectations = JSON.parse(readFileSync(join(ROOT, "test/corpus/expectations.json"), "utf8")) as Record<string, Expectation>;

describe("malformed and hostile scenario corpus", () => {
  it("holds at least 40 cases", () => {
    expect(Object.keys(expectations).length).to.be.at.least(40);
  });

  it("accepts the valid base the cases mutate", async () => {
    const result = await runCli(["validate", join(corpusDir, "valid.yaml")]);
    expect(result.stdout + result.stderr).to.not.match(/problem/);
    expect(result.code).to.equal(0);
  });

  for (const [name, want] of Object.entries(expectations)) {
    it(`${name}: exit 2, located "${want.message}"`, async () => {
      const result = await runCli(["validate", join("test/corpus/scenarios", name)]);
      const output = result.stdout + result.stderr;
      expect(result.code, output).to.equal(2);
      expect(hasStackTrace(output), output).to.equal(false);
      const located = result.stdout.split("\n").filter((l) => /^\S+:\d+:\d+ {2}/.test(l));
      const shownFile = want.file ? `test/corpus/scenarios/${want.file}` : `test/corpus/scenarios/${name}`;
      const match = located.find((l) => l.startsWith(`${shownFile}:`) && l.includes(want.message) && (!want.path || l.includes(`  ${want.path}  `)));
      expect(match, `no line naming ${shownFile} with ${want.path ?? ""} "${want.message}" in:\n${output}`).to.be.a("string");
      if (want.line) expect(Number(match!.split(":")[1])).to.equal(want.line);
    });
  }

  describe("generated hostile input", () => {
    const dir = mkdtempSync(join(tmpdir(), "labrun-corpus-"));

    it("rejects a file over the size limit quickly, without reading it as YAML", async () => {
      const file = join(dir, "huge.yaml");
      writeFileSync(file, "a: " + "x".repeat(2 * 1024 * 1024) + "\n");
      const result = await runCli(["validate", file]);
      expect(result.code).to.equal(2);
      // the size check answers before any parse (no wall-clock bound: it would fail on a busy machine, not on slow code)
      expect(result.stdout).to.include("huge.yaml:1:1").and.include("file is too large");
    });

    it("rejects a billion-laughs alias bomb quickly", async () => {
      const file = join(dir, "laughs.yaml");
      const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 12; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(",")}]`);
      writeFileSync(file, lines.join("\n") + "\n");
      const result = await runCli(["validate", file]);
      expect(result.code).to.equal(2);
      // the alias limit stops the expansion (an unbounded one would outlast mocha's timeout)
      expect(result.stdout).to.include("too many aliases");
    });

    it("rejects random bytes as binary", async () => {
      const file = join(dir, "random.yaml");
      const bytes = Buffer.alloc(64 * 1024);
      let x = 12345;
      for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) & 0x7fffffff) >> 16;
      writeFileSync(file, bytes);
      const result = await runCli(["validate", file]);
      expect(result.code).to.equal(2);
      expect(result.stdout).to.match(/random\.yaml:\d+:\d+ {2}\(file\) {2}file (contains NUL bytes|is not valid UTF-8|contains a control character)/);
    });

    it("a real process prints no stack trace for hostile input", async () => {
      const result = await runCliProcess(["validate", join("test/corpus/scenarios", "binary-garbage.yaml")]);
      expect(result.code).to.equal(2);
      expect(hasStackTrace(result.stdout + result.stderr)).to.equal(false);
      expect(result.stdout).to.include("binary-garbage.yaml:1:1");
    });
  });
});
