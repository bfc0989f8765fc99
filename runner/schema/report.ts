/**
 * The report model: what a grade produces and every reporter (terminal, JSON,
 * JUnit, Markdown, HTML) renders. Reporters are pure functions of a `Report`.
 *
 * Like the scenario format, this TypeBox schema is the single source of truth
 * for the TypeScript type and the published schemas/report.schema.json that
 * course platforms consume. Changes that break consumers bump REPORT_API_VERSION.
 */
import { Type, type Static } from "@sinclair/typebox";
import { Enum } from "./dsl.ts";

import { CHECK_STATUSES, REPORT_API_VERSION, REPORT_SCHEMA_ID } from "./values.ts";
export { CHECK_STATUSES, REPORT_API_VERSION, REPORT_SCHEMA_ID, type CheckStatus } from "./values.ts";

export const Evidence = Type.Object(
  {
    label: Type.String({ description: "What was looked at, e.g. `node beebox-worker` or `GET http://192.168.1.4:80/`." }),
    expected: Type.Optional(Type.String({ description: "What the check wanted." })),
    observed: Type.Optional(Type.String({ description: "What it saw on its last attempt." })),
  },
  { additionalProperties: false, description: "One observation backing a verdict: expected versus observed." },
);

export const Connectivity = Type.Object(
  {
    from: Type.String({ description: "Source, as `namespace/pod`." }),
    to: Type.String({ description: "Target, as `namespace/pod`, `namespace/service` or a host, with the port." }),
    expected: Enum(["allowed", "blocked"], { description: "What the scenario requires." }),
    observed: Enum(["allowed", "blocked", "unknown"], { description: "What the probe saw (`unknown` when it could not run)." }),
  },
  { additionalProperties: false, description: "A connection a network check tried, for the connectivity matrix." },
);

export const CheckResult = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    kind: Type.String({ description: "The check's operation: `nodesReady`, `http`, `dns`, ..." }),
    status: Enum(CHECK_STATUSES, {
      description: "`passed`; `failed` (the cluster is not as required); `skipped` (a check it needs did not pass); `error` (labrun could not evaluate it).",
    }),
    points: Type.Number({ minimum: 0, description: "Points earned." }),
    maxPoints: Type.Number({ minimum: 0, description: "Points available." }),
    message: Type.String({ description: "One line saying what was found." }),
    hint: Type.Optional(Type.String({ description: "The scenario's hint, present when the check did not pass." })),
    evidence: Type.Array(Evidence),
    connectivity: Type.Optional(Type.Array(Connectivity)),
    attempts: Type.Integer({ minimum: 0, description: "How many times the check was evaluated." }),
    durationMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, description: "The result of one check." },
);

export const Report = Type.Object(
  {
    apiVersion: Type.Literal(REPORT_API_VERSION),
    kind: Type.Literal("Report"),
    scenario: Type.Object(
      { name: Type.String(), title: Type.String() },
      { additionalProperties: false, description: "The scenario graded." },
    ),
    lab: Type.Object(
      {
        name: Type.String({ description: "The lab's name (`labrun start --name`)." }),
        cluster: Type.String({ description: "The cluster's name (kind cluster or kubeconfig context)." }),
        provider: Type.String({ description: "`kind` or `kubeconfig`." }),
      },
      { additionalProperties: false },
    ),
    attempt: Type.Integer({ minimum: 1, description: "The attempt number for this lab (1 for the first grade)." }),
    startedAt: Type.String({ format: "date-time" }),
    durationMs: Type.Integer({ minimum: 0 }),
    score: Type.Object(
      {
        points: Type.Number({ minimum: 0 }),
        maxPoints: Type.Number({ minimum: 0 }),
        percent: Type.Number({ minimum: 0, maximum: 100 }),
        passPercent: Type.Number({ minimum: 0, maximum: 100 }),
        passed: Type.Boolean({ description: "`percent >= passPercent`." }),
      },
      { additionalProperties: false },
    ),
    summary: Type.Object(
      {
        total: Type.Integer({ minimum: 0 }),
        passed: Type.Integer({ minimum: 0 }),
        failed: Type.Integer({ minimum: 0 }),
        skipped: Type.Integer({ minimum: 0 }),
        error: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    checks: Type.Array(CheckResult),
    labrun: Type.Object({ version: Type.String() }, { additionalProperties: false }),
  },
  {
    $id: REPORT_SCHEMA_ID,
    title: "labrun Report",
    description: "The graded result of one `labrun grade` run.",
    additionalProperties: false,
  },
);

export type Evidence = Static<typeof Evidence>;
export type Connectivity = Static<typeof Connectivity>;
export type CheckResult = Static<typeof CheckResult>;
export type Report = Static<typeof Report>;
