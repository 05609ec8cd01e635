import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConcurrencyError, EventlineError, IdempotencyError, PreconditionFailedError, ValidationError } from "../core/errors.ts";
import type { EventStore } from "../core/event-store.ts";
import { sha256Hex } from "../core/sha256.ts";
import { carrierOf } from "../core/telemetry.ts";
import type { CommandResult, HandleCommandOptions } from "../core/handle-command.ts";
import { identityOf } from "./auth/identity.ts";

function ifMatch(c: Context): number | undefined {
  const header = c.req.header("if-match");
  if (header === undefined) return undefined;
  const value = header.replace(/^W\//, "").replaceAll('"', "").trim();
  if (!/^\d+$/.test(value))
    throw new ValidationError("If-Match must be a stream version", [{ pointer: "", message: "If-Match: <version>" }]);
  return Number(value);
}

/**
 * Runs a command for a route and answers `{ ...ids, version, position }`. `If-Match: <version>` becomes the
 * expected version (412 when the stream moved on). With `Idempotency-Key`, the answer is stored in the
 * same transaction as the events; the same key and body get the first answer again, another body a 422.
 * Keys are the caller's own: one subject's key never replays another subject's answer. The events'
 * metadata records the caller's subject as `actor`.
 */
export async function runCommand(
  c: Context,
  deps: { store: EventStore; status: ContentfulStatusCode; ids: Record<string, string> },
  run: (options: HandleCommandOptions) => Promise<CommandResult>,
): Promise<Response> {
  const given = c.req.header("idempotency-key");
  const expectedVersion = ifMatch(c);
  const actor = identityOf(c)?.subject;
  let fingerprint = "";
  let key: string | undefined;
  if (given !== undefined) {
    if (given.length === 0 || given.length > 200) throw new ValidationError("Idempotency-Key must be 1 to 200 characters");
    key = actor === undefined ? given : `${actor}\n${given}`;
    fingerprint = await sha256Hex(`${c.req.method} ${c.req.path}\n${await c.req.text()}`);
    const earlier = await deps.store.idempotencyRecord(key);
    if (earlier) return replay(c, earlier, fingerprint);
  }
  const answer = (result: { version: number; position: number }) => ({
    ...deps.ids,
    version: result.version,
    position: result.position,
  });
  const options: HandleCommandOptions = {
    expectedVersion,
    metadata: {
      correlationId: c.req.header("x-correlation-id") ?? (c.get("requestId") as string),
      // The request caused these events; its id links the access log line to them.
      causationId: c.get("requestId") as string,
      // The request's span, for whatever appends with these options; handleCommand's span continues it
      // (from `traceContext`, without parsing it again) and puts its own here instead.
      ...carrierOf(c.get("traceContext")),
      actor,
    },
    traceContext: c.get("traceContext"),
    idempotency: key
      ? {
          key,
          fingerprint,
          respond: (results) => ({ status: deps.status, body: answer(results[results.length - 1] as CommandResult) }),
        }
      : undefined,
  };
  try {
    const result = await run(options);
    // Nothing appended, so nothing recorded: if a twin with this key already changed the state, its
    // answer is the one to give (a second cancel is a no-op only because the first one happened).
    if (key && result.events.length === 0) {
      const earlier = await deps.store.idempotencyRecord(key);
      if (earlier) return replay(c, earlier, fingerprint);
    }
    return c.json(answer(result), deps.status);
  } catch (error) {
    // A twin request with the same key that lost the race fails on what the winner wrote: a version
    // conflict, a rule the new state breaks, or the key itself. The winner's answer committed with its
    // events, so it is there to be replayed, and every twin gets the first answer.
    if (key && error instanceof EventlineError) {
      const earlier = await deps.store.idempotencyRecord(key);
      if (earlier) return replay(c, earlier, fingerprint);
    }
    if (error instanceof ConcurrencyError && expectedVersion !== undefined) {
      throw new PreconditionFailedError(`the stream is at version ${error.actual}, not ${expectedVersion}`, {
        actual: error.actual,
      });
    }
    throw error;
  }
}

function replay(c: Context, earlier: { fingerprint: string; status: number; body: unknown }, fingerprint: string): Response {
  if (earlier.fingerprint !== fingerprint) {
    throw new IdempotencyError("this Idempotency-Key was used with a different request");
  }
  c.header("idempotent-replayed", "true");
  return c.json(earlier.body as object, earlier.status as ContentfulStatusCode);
}
