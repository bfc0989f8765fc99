import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { importScript } from "../../../checks/script-import.ts";

describe("checks/script-import", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(tmpdir(), "labrun-script-import-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const source = 'import type { ScriptCheckResult } from "labrun";\nconst n: number = 41;\nexport default (): ScriptCheckResult => ({ ok: true, message: `n=${n + 1}` });\n';

  it("imports a TypeScript script under node_modules (an installed package), where Node refuses to strip types itself", async () => {
    const file = path.join(dir, "node_modules", "labrun", "scenarios", "s", "checks", "c.ts");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, source);
    const mod = await importScript(file);
    expect((mod.default as () => { message: string })().message).to.equal("n=42");
  });

  it("imports a script elsewhere directly, and passes on other errors", async () => {
    const file = path.join(dir, "c.ts");
    await writeFile(file, source);
    expect((((await importScript(file)).default as () => { message: string })()).message).to.equal("n=42");
    await writeFile(path.join(dir, "bad.ts"), "export default ((");
    const error = (await importScript(path.join(dir, "bad.ts")).catch((e: unknown) => e)) as { code?: string };
    expect(error).to.be.instanceOf(Error);
    expect(error.code).to.not.equal("ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING");
  });
});
