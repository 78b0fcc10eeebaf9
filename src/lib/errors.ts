/**
 * Sluice's one error vocabulary. Every failure that crosses a stage boundary is a SluiceError
 * with a code. The code decides the HTTP status. Whether the work is retried is the error's
 * `retryable`: its code's by default, set by the code that throws when it knows better (a pull
 * whose API answered 4xx is terminal, 5xx or 429 retryable). Queue consumers act on it in
 * settle.ts: retry with backoff, or record a dead letter at once.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error code, with its HTTP status and whether the operation may succeed if retried. */
export const errorCodes = {
  bad_request: { status: 400, retryable: false },
  invalid_json: { status: 400, retryable: false },
  too_deep: { status: 400, retryable: false },
  too_many_keys: { status: 400, retryable: false },
  invalid_message: { status: 400, retryable: false },
  unauthorized: { status: 401, retryable: false },
  bad_signature: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  stale_timestamp: { status: 401, retryable: false },
  not_found: { status: 404, retryable: false },
  unknown_source: { status: 404, retryable: false },
  unknown_report: { status: 404, retryable: false },
  method_not_allowed: { status: 405, retryable: false },
  not_acceptable: { status: 406, retryable: false },
  payload_too_large: { status: 413, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  rate_limited: { status: 429, retryable: true },
  invalid_config: { status: 500, retryable: false },
  model_failed: { status: 500, retryable: false },
  internal: { status: 500, retryable: false },
  storage_unavailable: { status: 503, retryable: true },
  queue_unavailable: { status: 503, retryable: true },
  source_not_configured: { status: 503, retryable: true },
  model_not_built: { status: 503, retryable: true },
} as const satisfies Record<string, { status: ContentfulStatusCode; retryable: boolean }>;

export type ErrorCode = keyof typeof errorCodes;

export class SluiceError extends Error {
  override readonly name = "SluiceError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Safe, structured context for logs. Never put secrets or whole payloads here. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? errorCodes[code].retryable;
    this.details = options.details;
  }

  get status(): ContentfulStatusCode {
    return errorCodes[this.code].status;
  }
}

/**
 * Wraps anything else thrown (a binding, a library) as a SluiceError with the `fallback` code,
 * whose retryability it takes. The default, `internal`, is terminal; queue consumers pass a
 * retryable code (settle.ts: `storage_unavailable`), since a binding's failure is transient
 * unless proven otherwise.
 */
export function toSluiceError(error: unknown, fallback: ErrorCode = "internal", details?: Record<string, unknown>): SluiceError {
  if (error instanceof SluiceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError(fallback, message, { cause: error, ...(details ? { details } : {}) });
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string };
}

export function errorBody(error: SluiceError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.message, requestId } };
}
