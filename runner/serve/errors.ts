/**
 * Errors of the HTTP API: each has an HTTP status and a machine-readable code,
 * and every answer that is not a success carries `{ error: { code, message, hint? } }`.
 * labrun's own errors map by kind: what the caller asked for is a 4xx, a
 * cluster or Docker fault is a 502, a bug in labrun is a 500.
 */
import { ChecksFailedError, InfraError, InterruptedError, LabrunError, NotFoundError, ScenarioError, UsageError } from "../errors.ts";
import type { ApiError as ApiErrorJson } from "../schema/api.ts";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;

  constructor(status: number, code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.hint = options.hint;
  }

  json(): { error: ApiErrorJson } {
    return { error: { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) } };
  }
}

/** Fastify's own errors (bad JSON, too large, wrong media type, schema validation) and their codes. */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "MALFORMED_JSON"],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "MALFORMED_JSON"],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "BODY_TOO_LARGE"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, "UNSUPPORTED_MEDIA_TYPE"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, "BAD_REQUEST"],
};

/** Any thrown value as an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { code?: string; statusCode?: number; validation?: unknown; message?: string; validationContext?: string };
  if (e && typeof e === "object" && e.validation) {
    return new ApiError(400, "BAD_REQUEST", `invalid request: ${e.message ?? "it does not match the API schema"}`, { hint: `see ${"GET /v1/openapi.json"}`, cause: error });
  }
  const known = e && typeof e.code === "string" ? FASTIFY_CODES[e.code] : undefined;
  if (known) {
    const [status, code] = known;
    return new ApiError(status, code, e.message ?? code, { cause: error });
  }
  if (error instanceof ScenarioError) return new ApiError(500, "SCENARIO_INVALID", `the scenario cannot be used: ${error.message}`, { hint: "run `labrun validate` on the server", cause: error });
  if (error instanceof NotFoundError) return new ApiError(404, "NOT_FOUND", error.message, { ...(error.hint ? { hint: error.hint } : {}), cause: error });
  if (error instanceof UsageError) return new ApiError(409, "CONFLICT", error.message, { ...(error.hint ? { hint: error.hint } : {}), cause: error });
  if (error instanceof InfraError) return new ApiError(502, error.code, error.message, { ...(error.hint ? { hint: error.hint } : {}), cause: error });
  if (error instanceof InterruptedError) return new ApiError(503, "INTERRUPTED", error.message, { cause: error });
  if (error instanceof ChecksFailedError || error instanceof LabrunError) return new ApiError(500, error.code, error.message, { cause: error });
  if (e && typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, typeof e.code === "string" ? e.code : "BAD_REQUEST", e.message ?? "bad request", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, "INTERNAL", `internal error: ${message}`, { hint: "this is a bug in labrun: please report it with the server's log", cause: error });
}
