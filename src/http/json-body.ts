import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { EventlineError, ValidationError } from "../core/errors.ts";

export const MAX_BODY_BYTES = 64 * 1024;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new EventlineError("PAYLOAD_TOO_LARGE", `body is larger than ${MAX_BODY_BYTES} bytes`);
  },
});

/**
 * Guards every command body before validation: at most 64 KiB (413), JSON only (415), well-formed (400).
 * A request without a body passes (commands such as cancel take none); the body is never echoed back.
 */
export const jsonBody: MiddlewareHandler = async (c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD") return next();
  return limit(c, async () => {
    const text = await c.req.text();
    if (text.length === 0) return next();
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      throw new EventlineError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
    try {
      JSON.parse(text);
    } catch {
      throw new ValidationError("body is not valid JSON", [{ pointer: "", message: "malformed JSON" }]);
    }
    await next();
  });
};
