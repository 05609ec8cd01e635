import type { ExpectedVersion } from "./expected-version.ts";

/** The message of anything thrown, for logs and stored errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Every error eventline raises on purpose carries a stable machine-readable code. */
export class EventlineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The stream was not at the version the writer expected. */
export class ConcurrencyError extends EventlineError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super("CONCURRENCY", `stream ${streamId} is at version ${actual}, expected ${String(expected)}`, {
      streamId,
      expected,
      actual,
    });
  }
}

/** A business rule refused the command; `code` names the rule (e.g. ORDER_EMPTY). */
export class DomainError extends EventlineError {}

/** Input did not match its schema; `issues` point at the offending fields. */
export class ValidationError extends EventlineError {
  constructor(
    message: string,
    readonly issues: { pointer: string; message: string }[] = [],
  ) {
    super("VALIDATION", message, { issues });
  }
}

export class NotFoundError extends EventlineError {
  constructor(what: string, id: string) {
    super("NOT_FOUND", `${what} ${id} not found`, { what, id });
  }
}

/** An id or key was reused for something different from what it first stood for. */
export class IdempotencyError extends EventlineError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("IDEMPOTENCY_MISMATCH", message, details);
  }
}

/** Another request recorded its answer under the same idempotency key first. */
export class IdempotencyKeyTaken extends EventlineError {
  constructor(readonly key: string) {
    super("IDEMPOTENCY_KEY_TAKEN", `idempotency key ${key} is already used`, { key });
  }
}

/** The caller's precondition (If-Match) no longer holds. */
export class PreconditionFailedError extends EventlineError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("PRECONDITION_FAILED", message, details);
  }
}

/**
 * The caller is not authenticated: no credentials where a route needs them, or credentials that do not
 * verify. `reason` is for the WWW-Authenticate challenge and says what was wrong, never a secret.
 */
export class AuthenticationError extends EventlineError {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super("UNAUTHORIZED", message, reason ? { reason } : {});
  }
}

/** The caller is known but lacks the role the route needs. */
export class ForbiddenError extends EventlineError {
  constructor(message: string) {
    super("FORBIDDEN", message);
  }
}

/** Configuration is missing or malformed; `problems` has one line per problem. */
export class ConfigError extends EventlineError {
  constructor(readonly problems: string[]) {
    super("CONFIG", `invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { problems });
  }
}
