/**
 * The HTML report in a real browser: headless Chromium (Debian's `chromium`
 * package) driven by playwright-core opens each fixture report from a file,
 * reads what a learner sees, and takes a screenshot into test-results/.
 *
 * This test runs with the unit suite. It is skipped only when
 * LABRUN_SKIP_BROWSER=1; otherwise a missing Chromium fails it (CI installs
 * it: `apt-get install -y chromium`). LABRUN_CHROMIUM overrides the path.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { renderHtml } from "../../../runner/report/html.ts";
import { formatPercent, formatPoints } from "../../../runner/report/format.ts";
import { ROOT } from "../../helpers/cli.ts";
import { FIXTURES } from "./fixtures.ts";

const SKIP = process.env.LABRUN_SKIP_BROWSER === "1";
const CHROMIUM = process.env.LABRUN_CHROMIUM || "/usr/bin/chromium";
const RESULTS = path.join(ROOT, "test-results");

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

(SKIP ? describe.skip : describe)("report/html in headless Chromium (LABRUN_SKIP_BROWSER=1 skips)", function () {
  this.timeout(60_000);
  let context: BrowserContext;
  let work: string;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `chromium not found at ${CHROMIUM}: install it (\`apt-get install -y chromium\`), point LABRUN_CHROMIUM at it, or set LABRUN_SKIP_BROWSER=1 to skip the browser test`,
      );
    }
    work = await fs.mkdtemp(path.join(tmpdir(), "labrun-browser-"));
    mkdirSync(RESULTS, { recursive: true });
    // A fresh profile (--user-data-dir) for every run.
    context = await chromium.launchPersistentContext(path.join(work, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1100, height: 900 },
      offline: true,
    });
  });

  after(async () => {
    await context?.close();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  for (const [name, report] of Object.entries(FIXTURES)) {
    it(`${name}: shows the score and every check's title, loads nothing else, and renders styled (screenshot in test-results/)`, async () => {
      const file = path.join(work, `${name}.html`);
      await fs.writeFile(file, renderHtml(report));
      const page = await context.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      await page.goto(`file://${file}`);

      await page.screenshot({ path: path.join(RESULTS, `report-${name}.png`), fullPage: true });
      await page.setViewportSize({ width: 420, height: 900 });
      await page.screenshot({ path: path.join(RESULTS, `report-${name}-narrow.png`), fullPage: true });
      const narrowOverflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      await page.setViewportSize({ width: 1100, height: 900 });

      // the score, as the learner reads it
      const score = (await page.locator("#score").innerText()).replace(/\s+/g, " ").trim();
      expect(score.toLowerCase()).to.equal(
        `score ${formatPoints(report.score.points)}/${formatPoints(report.score.maxPoints)} (${formatPercent(report.score.percent)})`.toLowerCase(),
      );
      expect(await page.locator(".verdict").innerText()).to.equal(report.score.passed ? "PASS" : "FAIL");

      // every check's title, status and points, in order
      const titles = await page.locator(".check .check-title").allInnerTexts();
      expect(titles.map((t) => t.replace(/\s+/g, " ").trim())).to.deep.equal(report.checks.map((c) => c.title.replace(/`/g, "")));
      const statuses = await page.locator(".check .status").allInnerTexts();
      expect(statuses.map((s) => s.toLowerCase().replace(/^\W+/, "").trim())).to.deep.equal(report.checks.map((c) => c.status));
      const points = await page.locator(".check .pts").allInnerTexts();
      expect(points.map((p) => p.trim())).to.deep.equal(report.checks.map((c) => `${formatPoints(c.points)}/${formatPoints(c.maxPoints)}`));

      // the inline stylesheet applied (the CSP allows it) and nothing was fetched
      const background = await page.evaluate("getComputedStyle(document.body).backgroundColor");
      expect(background).to.equal("rgb(246, 247, 249)");
      expect(requests).to.deep.equal([`file://${file}`]);
      expect(problems).to.deep.equal([]);
      expect(await page.locator("script").count()).to.equal(0);

      // the connectivity matrix, for network scenarios
      const hasMatrix = report.checks.some((c) => c.connectivity?.length);
      expect(await page.locator("table.matrix").count()).to.equal(hasMatrix ? 1 : 0);
      if (hasMatrix) {
        const bad = await page.locator("table.matrix td.bad").count();
        const mismatches = report.checks.flatMap((c) => c.connectivity ?? []).filter((c) => c.expected !== c.observed).length;
        expect(bad).to.equal(mismatches);
      }

      // evidence that looks like markup is shown as text, not run or rendered
      if (name === "mixed") {
        const text = await page.locator("main").innerText();
        expect(text).to.include('<script>alert("pwned")</script>');
        expect(await page.locator("h1").count()).to.equal(1);
      }

      // on a phone-sized screen only the matrix scrolls; the page itself does not overflow
      expect(narrowOverflow).to.be.at.most(0);
      await page.close();
    });
  }
});
