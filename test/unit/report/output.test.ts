import { expect } from "chai";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { parseCommandArgs, type Command } from "../../../runner/cli/command.ts";
import { planReportOutput, REPORT_OUTPUT_OPTIONS, terminalWidth, writeReport } from "../../../runner/cli/report-output.ts";
import { UsageError } from "../../../runner/errors.ts";
import { renderReport } from "../../../runner/report/index.ts";
import { parseReport } from "../../../runner/report/validate.ts";
import { mixed } from "./fixtures.ts";

class Capture extends Writable {
  text = "";
  isTTY: boolean;
  columns: number | undefined;
  constructor(isTTY = false, columns?: number) {
    super();
    this.isTTY = isTTY;
    this.columns = columns;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

const fakeGrade: Command = {
  name: "grade",
  summary: "",
  usage: "labrun grade LAB",
  options: { ...REPORT_OUTPUT_OPTIONS },
  args: { min: 0, max: 1 },
  run: async () => 0,
};

describe("cli/report-output (-o, --report, GITHUB_STEP_SUMMARY)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "labrun-output-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const plan = (argv: string[], env: NodeJS.ProcessEnv = {}, stdout = new Capture()) =>
    planReportOutput(parseCommandArgs(fakeGrade, argv), { stdout, env, cwd: dir });

  it("defaults to text on stdout, no files, no colour off a TTY", () => {
    expect(plan([])).to.deep.equal({ stdout: "text", files: [], color: false, width: 100 });
  });

  it("validates -o, with a suggestion", () => {
    expect(plan(["-o", "junit"]).stdout).to.equal("junit");
    expect(() => plan(["-o", "jsn"])).to.throw(UsageError, 'unknown output format "jsn" (did you mean "json"?): use text, json, junit, markdown, html');
  });

  it("--report takes files whose extension names the format, resolved from cwd, once each; an unknown extension fails before grading", () => {
    const p = plan(["--report", "out/r.xml", "--report", "r.html", "--report", "./out/r.xml", "--report", "r.JSON"]);
    expect(p.files).to.deep.equal([
      { path: path.join(dir, "out/r.xml"), format: "junit" },
      { path: path.join(dir, "r.html"), format: "html" },
      { path: path.join(dir, "r.JSON"), format: "json" },
    ]);
    expect(() => plan(["--report", "report.pdf"])).to.throw(UsageError, 'cannot tell the report format of "report.pdf" from its extension');
    const error = (() => {
      try {
        plan(["--report", "report"]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(UsageError);
    expect((error as UsageError).hint).to.equal("use one of: .json json, .xml junit, .md markdown, .markdown markdown, .html html, .htm html, .txt text");
  });

  it("colours text on a TTY unless NO_COLOR; FORCE_COLOR forces it; never for other formats", () => {
    const tty = () => new Capture(true, 120);
    expect(plan([], {}, tty())).to.include({ color: true, width: 120 });
    expect(plan([], { NO_COLOR: "1" }, tty()).color).to.equal(false);
    expect(plan([], { TERM: "dumb" }, tty()).color).to.equal(false);
    expect(plan([], { FORCE_COLOR: "1" }).color).to.equal(true);
    expect(plan([], { FORCE_COLOR: "0" }, tty()).color).to.equal(true); // FORCE_COLOR=0 only stops forcing
    expect(plan(["-o", "json"], { FORCE_COLOR: "1" }, tty()).color).to.equal(false);
  });

  it("width: the TTY's columns, else $COLUMNS, else 100", () => {
    expect(terminalWidth({ isTTY: true, columns: 132 }, {})).to.equal(132);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: "60" })).to.equal(60);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: "x" })).to.equal(100);
  });

  it("writes the chosen format to stdout, each --report file in its format, and says so on stderr", async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const p = plan(["-o", "markdown", "--report", "a/b/report.json", "--report", "junit.xml", "--report", "r.html", "--report", "r.txt", "--report", "r.md"], {}, stdout);
    await writeReport(mixed, p, { stdout, stderr, cwd: dir });
    expect(stdout.text).to.equal(renderReport(mixed, "markdown"));
    expect(parseReport(await fs.readFile(path.join(dir, "a/b/report.json"), "utf8"))).to.deep.equal(mixed);
    expect(await fs.readFile(path.join(dir, "junit.xml"), "utf8")).to.equal(renderReport(mixed, "junit"));
    expect(await fs.readFile(path.join(dir, "r.html"), "utf8")).to.equal(renderReport(mixed, "html"));
    expect(await fs.readFile(path.join(dir, "r.txt"), "utf8")).to.equal(renderReport(mixed, "text", { color: false, width: 100 }));
    expect(await fs.readFile(path.join(dir, "r.md"), "utf8")).to.equal(renderReport(mixed, "markdown"));
    expect(stderr.text).to.include("wrote json report to a/b/report.json\n").and.include("wrote junit report to junit.xml\n");
    expect(stdout.text).not.to.include("wrote");
  });

  it("appends the Markdown report to $GITHUB_STEP_SUMMARY unless LABRUN_STEP_SUMMARY=0", async () => {
    const summary = path.join(dir, "step_summary");
    await fs.writeFile(summary, "earlier step\n");
    const stdout = new Capture();
    const p = plan([], { GITHUB_STEP_SUMMARY: summary }, stdout);
    expect(p.stepSummary).to.equal(summary);
    await writeReport(mixed, p, { stdout, stderr: new Capture(), cwd: dir });
    await writeReport(mixed, p, { stdout, stderr: new Capture(), cwd: dir });
    const md = renderReport(mixed, "markdown");
    expect(await fs.readFile(summary, "utf8")).to.equal(`earlier step\n${md}\n${md}\n`);
    expect(plan([], { GITHUB_STEP_SUMMARY: summary, LABRUN_STEP_SUMMARY: "0" }).stepSummary).to.equal(undefined);
  });

  it("a file that cannot be written is a usage error after the other outputs were written; a bad step summary only warns", async () => {
    await fs.writeFile(path.join(dir, "blocker"), "a file, not a directory");
    const stdout = new Capture();
    const stderr = new Capture();
    const p = plan(["--report", "blocker/r.json", "--report", "ok.json"], { GITHUB_STEP_SUMMARY: path.join(dir, "no/such/dir/summary") }, stdout);
    let thrown: unknown;
    await writeReport(mixed, p, { stdout, stderr, cwd: dir }).catch((error: unknown) => (thrown = error));
    expect(thrown).to.be.instanceOf(UsageError);
    expect((thrown as UsageError).message).to.match(/^could not write the report to .*blocker\/r\.json: /);
    expect(stdout.text).to.equal(renderReport(mixed, "text", { color: false, width: 100 }));
    expect(await fs.readFile(path.join(dir, "ok.json"), "utf8")).to.equal(renderReport(mixed, "json"));
    expect(stderr.text).to.match(/warning: could not append to GITHUB_STEP_SUMMARY/);
  });
});
