/** `labrun serve` refuses to start without a platform token, or with a weak one (there is no default), and checks its options before listening. */
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../../runner/cli/main.ts";

async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  let text = "";
  stderr.on("data", (c: Buffer) => (text += c.toString()));
  const code = await main(["serve", ...args], { env, stderr, stdout: new PassThrough(), signal: AbortSignal.abort() });
  return { code, stderr: text };
}

describe("labrun serve: the platform token and the options", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-serve-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("has no default: without --token-file or LABRUN_SERVE_TOKEN it exits 2 and says how to make one", async () => {
    const r = await serve([], {});
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include("needs a platform token").and.include("--token-file");
  });

  it("refuses a short token and an unreadable token file, naming where the token came from", async () => {
    const weak = path.join(dir, "weak");
    await writeFile(weak, "secret\n");
    const r = await serve(["--token-file", weak], {});
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(weak).and.include("too weak");
    const env = await serve([], { LABRUN_SERVE_TOKEN: "short" });
    expect(env.stderr).to.include("LABRUN_SERVE_TOKEN");
    const missing = await serve(["--token-file", path.join(dir, "nope")], {});
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include("ENOENT");
  });

  it("checks --warm before listening: a bad value or an unknown scenario exits 2, and so do warm clusters the memory budget cannot hold", async () => {
    const env = { LABRUN_SERVE_TOKEN: "a-long-enough-platform-token", LABRUN_STATE_DIR: dir };
    for (const [args, text] of [
      [["--warm", "beebox-cni"], "SCENARIO=N"],
      [["--warm", "no-such-scenario=1"], 'unknown scenario "no-such-scenario"'],
      [["--warm", "beebox-cni=1", "--memory", "1.5"], "--warm needs about 2.0 GiB"],
    ] as const) {
      const r = await serve([...args, "--port", "0"], env);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.stderr, args.join(" ")).to.include(text);
    }
  });

  it("checks --port before listening", async () => {
    const r = await serve(["--port", "99999"], { LABRUN_SERVE_TOKEN: "a-long-enough-platform-token" });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include("--port");
  });
});
