import type { Context, MiddlewareHandler, Next } from "hono";
import { bodyLimit } from "hono/body-limit";
import { EventlineError, ValidationError } from "../core/errors.ts";
import { unacceptableText } from "../core/storable-text.ts";
import { pointerTo } from "./validate.ts";

export const MAX_BODY_BYTES = 64 * 1024;

function tooLarge(): never {
  throw new EventlineError("PAYLOAD_TOO_LARGE", `body is larger than ${MAX_BODY_BYTES} bytes`);
}

/** For bodies without a declared length (chunked): counts the bytes as they stream in. */
const limit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

async function checkJson(c: Context, next: Next): Promise<void> {
  const text = await c.req.text();
  if (text.length === 0) return next();
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new EventlineError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ValidationError("body is not valid JSON", [{ pointer: "", message: "malformed JSON" }]);
  }
  // Only an escape (\u, \b, \f) or a raw DEL/C1 character brings such text into JSON; most bodies skip the walk.
  if (MAYBE_UNACCEPTABLE.test(text)) assertAcceptable(body, [], "body");
  await next();
}

const MAYBE_UNACCEPTABLE = /\\[ubf]|[\u007f-\u009f]/;

/**
 * Refuses any string (or object key) holding text Postgres cannot store or control characters, with a
 * pointer to it: one check for every string field of every route, before any schema or command sees it.
 */
function assertAcceptable(value: unknown, path: (string | number)[], where: string): void {
  const refuse = (at: (string | number)[], why: string) => {
    throw new ValidationError(`the ${where} holds text that cannot be accepted`, [{ pointer: pointerTo(at), message: why }]);
  };
  if (typeof value === "string") {
    const why = unacceptableText(value);
    if (why) refuse(path, why);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) assertAcceptable(item, [...path, i], where);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const why = unacceptableText(key);
      if (why) refuse([...path, key], `its name ${why}`);
      assertAcceptable(item, [...path, key], where);
    }
  }
}

/** The decoded path and every query value, checked like body strings (ids often become stream ids). */
function assertAcceptableUrl(c: Context): void {
  const url = new URL(c.req.url);
  // Each run of %XX on its own, as the router decodes path parameters: one run that is not valid UTF-8
  // must not hide a NUL in another.
  const path = url.pathname.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
  const why = unacceptableText(path);
  if (why) throw new ValidationError("the path holds text that cannot be accepted", [{ pointer: "", message: why }]);
  for (const [name, value] of url.searchParams) assertAcceptable({ [name]: value }, [], "query");
}

/**
 * Guards every command body before validation: at most 64 KiB (413), JSON only (415), well-formed (400),
 * and no string in it (or in the path and query) that Postgres cannot store or that holds control
 * characters (400).
 * A request without a body passes (commands such as cancel take none); the body is never echoed back.
 *
 * A declared Content-Length is checked without looking at the body. Only a body sent without one goes
 * through Hono's bodyLimit, which reads `request.body` as a stream to count it: on Bun that access alone
 * makes every later read of the body slower, and every ordinary client request would pay for it.
 */
export const jsonBody: MiddlewareHandler = async (c, next) => {
  if (c.req.url.includes("%") || c.req.url.includes("?")) assertAcceptableUrl(c);
  if (c.req.method === "GET" || c.req.method === "HEAD") return next();
  const length = c.req.header("content-length");
  if (length !== undefined && /^\d+$/.test(length) && c.req.header("transfer-encoding") === undefined) {
    if (Number(length) > MAX_BODY_BYTES) tooLarge();
    return checkJson(c, next);
  }
  return limit(c, () => checkJson(c, next));
};
