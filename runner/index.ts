/**
 * labrun as a library, for course platforms and tools: the same verbs as the
 * CLI (which is a thin layer over these), typed progress events, the report
 * model and its renderers. test/unit/exports.test.ts pins this surface.
 *
 *   import { start, grade, down, renderReport } from "labrun";
 */

// scenarios
export { loadScenario, validateScenarioFile, readTask, findScenarioFiles, scenarioRoots, resolveScenarioRef } from "./scenario/load.ts";
export type { LoadedScenario, ValidationResult } from "./scenario/load.ts";
export { scaffoldScenario } from "./scenario/scaffold.ts";
export { Scenario as ScenarioSchema, API_VERSION, CHECK_KINDS, STEP_KINDS, checkKind, stepKind } from "./schema/scenario.ts";
export type { Scenario, Check, CheckKind, Step, StepKind, ClusterSpec, Target, PodRef } from "./schema/scenario.ts";

// labs
export { start } from "./lab/start.ts";
export type { StartOptions, StartResult } from "./lab/start.ts";
export { status } from "./lab/status.ts";
export type { LabStatusInfo } from "./lab/status.ts";
export { down } from "./lab/down.ts";
export type { DownResult } from "./lab/down.ts";
export { gc } from "./lab/gc.ts";
export type { GcResult } from "./lab/gc.ts";
export { clusterNameFor } from "./lab/names.ts";
export { fill } from "./lab/pool/fill.ts";
export type { FillOptions, FillResult } from "./lab/pool/fill.ts";
export { drain, poolStatus } from "./lab/pool/manage.ts";
export type { PoolShapeStatus } from "./lab/pool/manage.ts";
export type { LifecycleOptions } from "./lab/client.ts";
export type { LabEvent, LabPhase, LabEventListener } from "./lab/events.ts";
export { LabStore, stateDir } from "./lab/state.ts";
export type { LabRecord, LabAttempt } from "./lab/state.ts";
export { preflight, assertPreflight, hostProbes } from "./lab/preflight.ts";
export type { PreflightResult } from "./lab/preflight.ts";
export { renderKindConfig, nodeImageFor } from "./lab/render.ts";
export { NODE_IMAGES, PROBE_IMAGE } from "./cluster/images.ts";
export { gradeLab } from "./lab/grade.ts";
export type { GradeLabOptions, GradeLabResult } from "./lab/grade.ts";
export { testScenarios, judgeBroken, judgeSolution, judgeShortcut } from "./lab/scenario-test.ts";
export type { ScenarioTestResult, PhaseResult, ScenarioTestOptions, ScenarioTestEvent } from "./lab/scenario-test.ts";

// clusters
export { KindProvider } from "./providers/kind.ts";
export { KubeconfigProvider } from "./providers/kubeconfig.ts";
export type { ClusterProvider, ProviderCapabilities } from "./providers/provider.ts";
export type { CommandRunner } from "./providers/exec.ts";
export { grade, failingChecks } from "../checks/grade.ts";
export type { GradeOptions, GradeEvent } from "../checks/grade.ts";
export { runChecks, buildReport } from "../checks/engine.ts";
export type { EngineOptions } from "../checks/engine.ts";
export { createKubeClient, KubeClusterClient } from "./cluster/kube.ts";
export { loadKubeConfig } from "./cluster/kubeconfig.ts";
export type { KubeClientOptions, NodeRunner } from "./cluster/kube.ts";
export type { ClusterClient, KubeObject, ObjectRef, ListOptions, ExecOptions, ExecResult, PodContainer, EphemeralContainerSpec } from "./cluster/client.ts";
export { CheckEvalError } from "../checks/context.ts";
export type { LabInfo, ScenarioSource, Observation, Logger } from "../checks/context.ts";
export type { ScriptCheckContext, ScriptCheckResult, ScriptCheckFunction } from "../checks/kinds/script.ts";
export { ProbeManager } from "../checks/probe.ts";
export type { ProbeSettings } from "../checks/probe.ts";

// reports
export { Report as ReportSchema, REPORT_API_VERSION } from "./schema/report.ts";
export type { Report, CheckResult, CheckStatus, Evidence, Connectivity } from "./schema/report.ts";
export {
  renderReport,
  REPORT_FORMATS,
  formatFromFile,
  renderTerminal,
  renderJson,
  renderJunit,
  renderMarkdown,
  renderHtml,
  parseReport,
  reportProblems,
  isReport,
  connectivityMatrix,
  summaryLine,
} from "./report/index.ts";
export type { ReportFormat, RenderOptions } from "./report/index.ts";
export { renderTestResults, TEST_FORMATS } from "./report/scenario-test.ts";

// errors
export { LabrunError, UsageError, ScenarioError, NotFoundError, InfraError, InterruptedError, ChecksFailedError, ExitCode, formatProblem } from "./errors.ts";
export type { Problem } from "./errors.ts";
export { VERSION } from "./version.ts";
