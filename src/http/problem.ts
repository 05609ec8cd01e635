import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  ConcurrencyError,
  DomainError,
  EventlineError,
  IdempotencyError,
  NotFoundError,
  ValidationError,
} from "../core/errors.ts";

export type Problem = {
  type: string;
  title: string;
  status: ContentfulStatusCode;
  detail?: string;
  code?: string;
  errors?: { pointer: string; message: string }[];
  requestId?: string;
};

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Error codes that are not a plain domain conflict, and the status each maps to. */
const statusByCode: Record<string, ContentfulStatusCode> = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONCURRENCY: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_MISMATCH: 422,
  REBUILD_RUNNING: 409,
  AUTH_UNAVAILABLE: 503,
  DIRECT_CONNECTION_REQUIRED: 409,
};

export function problem(status: ContentfulStatusCode, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: "about:blank", title: titles[status] ?? "Error", status, detail, ...extra };
}

/** The one place where errors become HTTP answers (RFC 9457 problem details). Details of a 500 stay in the log. */
export function problemFor(error: unknown, requestId: string): Problem {
  if (error instanceof ValidationError) return problem(400, error.message, { code: error.code, errors: error.issues });
  if (error instanceof NotFoundError || error instanceof ConcurrencyError || error instanceof IdempotencyError) {
    return problem(statusByCode[error.code] ?? 409, error.message, { code: error.code });
  }
  if (error instanceof EventlineError && statusByCode[error.code]) {
    return problem(statusByCode[error.code] as ContentfulStatusCode, error.message, { code: error.code });
  }
  if (error instanceof DomainError) return problem(409, error.message, { code: error.code });
  if (error instanceof HTTPException && error.status < 500) {
    return problem(error.status as ContentfulStatusCode, error.message || (titles[error.status] ?? "error"));
  }
  return problem(500, "unexpected error; the request id points to the details in the log", { requestId });
}
