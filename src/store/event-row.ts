import type { RecordedEvent } from "../core/messages.ts";

/** A row of `events` as postgres.js returns it. */
export type EventRow = {
  position: number;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent["metadata"];
  occurred_at: Date;
};

/** A row of `events` as the envelope callers see. */
export function toRecorded(r: EventRow): RecordedEvent {
  return {
    eventId: r.event_id,
    streamId: r.stream_id,
    version: r.version,
    position: r.position,
    type: r.type,
    schemaVersion: r.schema_version,
    data: r.data,
    metadata: r.metadata,
    occurredAt: r.occurred_at.toISOString(),
  };
}
