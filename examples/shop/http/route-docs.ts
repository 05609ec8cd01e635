import type { GenericSchema } from "valibot";
import { describeRoute, resolver } from "hono-openapi";
import { CommandAnswer, Problem } from "./schemas.ts";

const problemContent = { "application/problem+json": { schema: resolver(Problem) } };

/** OpenAPI description of a command route: its answer and the problems it can give. */
export function commandDoc(tag: string, summary: string, status: 200 | 201 = 200) {
  return describeRoute({
    tags: [tag],
    summary,
    parameters: [
      { name: "Idempotency-Key", in: "header", required: false, schema: { type: "string" } },
      { name: "If-Match", in: "header", required: false, schema: { type: "string" } },
    ],
    responses: {
      [status]: {
        description: "accepted; the ids created, the stream version and the global position",
        content: { "application/json": { schema: resolver(CommandAnswer) } },
      },
      400: { description: "malformed or invalid body", content: problemContent },
      401: { description: "no bearer token, or one that does not verify", content: problemContent },
      403: { description: "the token lacks the route's staff role", content: problemContent },
      404: { description: "unknown id, or another customer's", content: problemContent },
      409: { description: "a business rule refused the command", content: problemContent },
      412: { description: "If-Match no longer holds", content: problemContent },
      413: { description: "body over 64 KiB", content: problemContent },
      415: { description: "body is not JSON", content: problemContent },
      422: { description: "Idempotency-Key reused for another request", content: problemContent },
    },
  });
}

/** OpenAPI description of a query route. */
export function queryDoc(tag: string, summary: string, schema: GenericSchema) {
  return describeRoute({
    tags: [tag],
    summary,
    parameters: [
      {
        name: "after",
        in: "query",
        required: false,
        schema: { type: "string" },
        description: "wait until this position is applied",
      },
    ],
    responses: {
      200: {
        description: "the read model's answer; header Eventline-Freshness says fresh or stale",
        content: { "application/json": { schema: resolver(schema) } },
      },
      401: { description: "no bearer token, or one that does not verify", content: problemContent },
      403: { description: "the token lacks the route's staff role", content: problemContent },
      404: { description: "unknown id, or another customer's", content: problemContent },
    },
  });
}
