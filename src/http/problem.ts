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

/** The one place where errors become HTTP answers (RFC 9457 problem details). */
export function problemFor(error: unknown, requestId: string): Problem {
  if (error instanceof ValidationError) {
    return {
      type: "about:blank",
      title: "Bad Request",
      status: 400,
      detail: error.message,
      errors: error.issues,
      code: error.code,
    };
  }
  if (error instanceof NotFoundError)
    return { type: "about:blank", title: "Not Found", status: 404, detail: error.message, code: error.code };
  if (error instanceof ConcurrencyError) {
    return { type: "about:blank", title: "Conflict", status: 409, detail: error.message, code: error.code };
  }
  if (error instanceof IdempotencyError) {
    return { type: "about:blank", title: "Unprocessable Content", status: 422, detail: error.message, code: error.code };
  }
  if (error instanceof DomainError)
    return { type: "about:blank", title: "Conflict", status: 409, detail: error.message, code: error.code };
  if (error instanceof EventlineError && error.code === "PRECONDITION_FAILED") {
    return { type: "about:blank", title: "Precondition Failed", status: 412, detail: error.message, code: error.code };
  }
  return { type: "about:blank", title: "Internal Server Error", status: 500, detail: "unexpected error", requestId };
}
