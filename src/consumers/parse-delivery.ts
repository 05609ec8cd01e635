import type { ConsumeMessage } from "amqplib";
import type { RecordedEvent } from "../core/messages.ts";

export type Parsed = { ok: true; event: RecordedEvent } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks a delivery is a recorded event: JSON envelope, required fields, headers agreeing with the body. */
export function parseDelivery(msg: ConsumeMessage): Parsed {
  const headers = msg.properties.headers ?? {};
  const streamId = headers["x-stream-id"];
  const version = headers["x-stream-version"];
  if (typeof streamId !== "string" || typeof version !== "number") {
    return { ok: false, reason: "missing headers: x-stream-id and x-stream-version are required" };
  }
  let body: unknown;
  try {
    body = JSON.parse(msg.content.toString("utf8"));
  } catch {
    return { ok: false, reason: "body is not valid JSON" };
  }
  if (
    !isObject(body) ||
    typeof body.eventId !== "string" ||
    typeof body.type !== "string" ||
    typeof body.position !== "number" ||
    typeof body.occurredAt !== "string" ||
    !isObject(body.metadata)
  ) {
    return { ok: false, reason: "body is not a recorded event envelope" };
  }
  if (body.streamId !== streamId || body.version !== version) {
    return { ok: false, reason: "headers disagree with the body" };
  }
  // The relay always sets the AMQP type; a message without it, or with another one, was not ours.
  if (msg.properties.type !== body.type) {
    return { ok: false, reason: `unknown type: the message says ${String(msg.properties.type)}, the envelope ${body.type}` };
  }
  return { ok: true, event: { ...(body as RecordedEvent), schemaVersion: Number(body.schemaVersion ?? 1) } };
}
