/**
 * The learner's lab page in headless Chromium, served by `labrun serve` over
 * a fake lab layer (test/unit/serve/fakes.ts): the learner link opens the
 * task and the terminal (keystrokes reach the shell, its output shows), the
 * grade button shows the HTML report and the attempt, and a link
 * with another lab's token or none shows the refusal, not the lab. A
 * screenshot goes to test-results/serve-lab-page.png and is checked.
 *
 * Runs with the unit suite; LABRUN_SKIP_BROWSER=1 skips it (as the HTML report's browser test).
 */
import { expect } from "chai";
import { existsSync, mkdirSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "../../helpers/cli.ts";
import { allPassed } from "../report/fixtures.ts";
import { harness, type Harness } from "./fakes.ts";

const SKIP = process.env.LABRUN_SKIP_BROWSER === "1";
const CHROMIUM = process.env.LABRUN_CHROMIUM || "/usr/bin/chromium";
const RESULTS = path.join(ROOT, "test-results");
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

(SKIP ? describe.skip : describe)("serve: the learner's lab page in headless Chromium (LABRUN_SKIP_BROWSER=1 skips)", function () {
  this.timeout(90_000);
  let context: BrowserContext;
  let work: string;
  let h: Harness;
  let base: string;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install it, point LABRUN_CHROMIUM at it, or set LABRUN_SKIP_BROWSER=1`);
    work = await fs.mkdtemp(path.join(tmpdir(), "labrun-serve-browser-"));
    mkdirSync(RESULTS, { recursive: true });
    context = await chromium.launchPersistentContext(path.join(work, "profile"), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1300, height: 900 } });
    h = await harness();
    base = await h.app.listen({ port: 0, host: "127.0.0.1" });
  });

  after(async () => {
    await context?.close();
    await h?.app.close();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  async function open(pathAndHash: string): Promise<{ page: Page; problems: string[] }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("Failed to load resource")) problems.push(m.text());
    });
    await page.goto(base + pathAndHash);
    return { page, problems };
  }

  it("shows the task, grades on the button, shows the report and the attempt", async () => {
    const created = (await h.call("POST", "/v1/labs", { body: { scenario: "two-nodes" } })).json<{ lab: { id: string }; learnerPath: string }>();
    const id = created.lab.id;
    h.backend.startOf(id).done.resolve({ task: "# BeeBox\n\nThe pods never start: install a `CNI`.\n\n- two nodes\n- <b>no</b> markup runs" });
    const { page, problems } = await open(created.learnerPath);

    await page.locator("#state[data-state=ready]").waitFor();
    expect(await page.locator("#task h2").innerText()).to.equal("BeeBox");
    expect(await page.locator("#task code").innerText()).to.equal("CNI");
    expect(await page.locator("#task").innerText()).to.include("<b>no</b> markup runs");
    expect(await page.locator("#task b").count()).to.equal(0);

    // The terminal connects once the lab is ready; keystrokes reach the shell, its output shows in xterm.js.
    await page.locator("#term-state[data-state=connected]").waitFor();
    const shell = await until("the shell", () => h.backend.shells.find((s) => s.lab === id));
    await page.locator("#terminal").click();
    await page.keyboard.type("kubectl get nodes");
    await page.keyboard.press("Enter");
    await until("the keystrokes", () => (shell.input === "kubectl get nodes\r" ? true : undefined));
    shell.handlers.onOutput(Buffer.from("\r\nNAME             STATUS\r\nlab-control-plane Ready\r\n"));
    await page.locator("#terminal .xterm-rows", { hasText: "lab-control-plane Ready" }).waitFor();
    expect(shell.sizes[0]!.cols, "the terminal's size follows its box").to.be.greaterThan(40);

    await page.locator("#grade").click();
    const grading = await until("the grade request", () => h.backend.grades[0]);
    expect(grading.name).to.equal(id);
    grading.done.resolve({ ...allPassed, attempt: 1, lab: { ...allPassed.lab, name: id } });
    await page.locator("#score", { hasText: "10/10 passed" }).waitFor();
    const frameScore = page.frameLocator("#report").locator("#score");
    expect((await frameScore.innerText()).replace(/\s+/g, " ").toLowerCase()).to.include("10/10");
    await page.locator("#attempts tr").first().waitFor();
    expect(await page.locator("#attempts tr").first().innerText()).to.match(/#1\s+10\/10\s+passed/);

    const shot = path.join(RESULTS, "serve-lab-page.png");
    await page.screenshot({ path: shot, fullPage: true });
    const png = await fs.readFile(shot);
    expect(png.subarray(1, 4).toString()).to.equal("PNG");
    expect(png.readUInt32BE(16), "screenshot width").to.equal(1300);
    expect(png.length, "a rendered page, not a blank one").to.be.greaterThan(20_000);
    expect(problems).to.deep.equal([]);
    await page.close();
  });

  it("a link with another lab's token, or without one, shows the refusal and no lab data", async () => {
    const a = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json<{ lab: { id: string }; learnerToken: string }>();
    const b = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json<{ lab: { id: string }; learnerToken: string }>();
    h.backend.startOf(a.lab.id).done.resolve({ task: "secret task of a" });
    for (const hash of [`#token=${b.learnerToken}`, ""]) {
      const { page } = await open(`/v1/labs/${a.lab.id}/page${hash}`);
      await page.locator("#error", { hasText: /FORBIDDEN|UNAUTHORIZED/ }).waitFor();
      expect(await page.locator("body").innerText()).not.to.include("secret task");
      expect(await page.locator("#grade").isDisabled()).to.equal(true);
      await page.close();
    }
  });
});
