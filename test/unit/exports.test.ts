import { expect } from "chai";
import * as labrun from "../../runner/index.ts";

/**
 * The library's public surface. Adding an export is a decision; removing or
 * renaming one breaks course platforms: update this list on purpose.
 */
const PUBLIC = ["API_VERSION","CHECK_KINDS","CheckEvalError","ChecksFailedError","ExitCode","InfraError","InterruptedError","KindProvider","KubeClusterClient","KubeconfigProvider","LabStore","LabrunError","NODE_IMAGES","NotFoundError","PROBE_IMAGE","ProbeManager","REPORT_API_VERSION","REPORT_FORMATS","ReportSchema","STEP_KINDS","ScenarioError","ScenarioSchema","TEST_FORMATS","UsageError","VERSION","assertPreflight","buildReport","checkKind","clusterNameFor","connectivityMatrix","createKubeClient","down","drain","failingChecks","fill","findScenarioFiles","formatFromFile","formatProblem","gc","grade","gradeLab","hostProbes","isReport","judgeBroken","judgeShortcut","judgeSolution","loadKubeConfig","loadScenario","nodeImageFor","parseReport","poolStatus","preflight","readTask","renderHtml","renderJson","renderJunit","renderKindConfig","renderMarkdown","renderReport","renderTerminal","renderTestResults","reportProblems","resolveScenarioRef","runChecks","scaffoldScenario","scenarioRoots","start","stateDir","status","stepKind","summaryLine","testScenarios","validateScenarioFile"];

describe("library exports", () => {
  it("pins the public runtime exports of runner/index.ts", () => {
    expect(Object.keys(labrun).sort()).to.deep.equal(PUBLIC);
  });

  it("offers the same verbs as the CLI: start, grade, down, status, gc, test", () => {
    for (const verb of ["start", "gradeLab", "down", "status", "gc", "testScenarios", "validateScenarioFile"] as const) {
      expect(typeof labrun[verb], verb).to.equal("function");
    }
  });
});
