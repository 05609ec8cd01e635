import type { AppendRequest, AppendResult } from "./event-store.ts";
import { errorMessage, IdempotencyError } from "./errors.ts";
import { isExpectedVersion } from "./expected-version.ts";
import type { EventMetadata, NewEvent, RecordedEvent } from "./messages.ts";
import { containsSealedField, type PersonalData } from "./personal-data.ts";
import { jsonHoldsUnstorableText, unstorableText } from "./storable-text.ts";
import type { Upcasters } from "./upcasters.ts";
import { uuidV7 } from "./uuid-v7.ts";

/** An event ready to be written: id, metadata and sealed data settled, version and position still open. */
export type PreparedEvent = {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  /** `data` as the JSON text that is stored, made once, before the event joins anyone else's batch. */
  dataJson: string;
  metadata: EventMetadata;
  metadataJson: string;
  subjectId?: string;
};

/**
 * The JSON text of a value Postgres can store, or a TypeError naming what is wrong. It runs per call before
 * a call can share a batch, so data that cannot be stored fails that call alone. `what` names the value
 * and is called only for an error: every event of every append is checked.
 */
function storableJson(what: () => string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`cannot store ${what()}: ${errorMessage(error)}`);
  }
  if (json === undefined) throw new TypeError(`cannot store ${what()}: it is not a JSON value`);
  if (jsonHoldsUnstorableText(json)) throw new TypeError(`cannot store ${what()}: a string holds a NUL or a lone surrogate`);
  return json;
}

function assertStorableText(what: () => string, text: string): void {
  const why = unstorableText(text);
  if (why) throw new TypeError(`cannot store ${what()}: it ${why}`);
}

/**
 * What both stores do before writing: ids, default metadata, schema versions, and sealing of personal
 * fields. An event given no schema version is in the shape the code writes today: the newest one the
 * upcasters lead to, so reading it back upcasts nothing.
 */
export async function prepareEvents(
  request: AppendRequest,
  personalData?: PersonalData,
  upcasters?: Upcasters,
): Promise<PreparedEvent[]> {
  const prepared: PreparedEvent[] = [];
  let firstId: string | undefined;
  for (const event of request.events) {
    // Time-ordered, so the store's unique index on event ids grows at one end (see uuidV7). Lower case,
    // as Postgres prints a uuid, so an id given in upper case is still recognised as the same id.
    const eventId = (event.eventId ?? uuidV7()).toLowerCase();
    // An append given no correlation id starts a correlation of its own, named by its first event.
    firstId ??= eventId;
    if (typeof event.type !== "string" || event.type.length === 0) throw new TypeError("an event needs a type");
    assertStorableText(() => `event type ${JSON.stringify(event.type)}`, event.type);
    const dataOf = () => `the data of ${event.type}`;
    const plainJson = storableJson(dataOf, event.data);
    const sealed = personalData ? await personalData.seal(event.type, event.data) : { data: event.data };
    const metadata = metadataOf(event, firstId);
    const metadataJson = storableJson(() => `the metadata of ${event.type}`, metadata);
    if (sealed.subjectId !== undefined) assertStorableText(() => "a subject id", sealed.subjectId);
    prepared.push({
      eventId,
      type: event.type,
      schemaVersion: event.schemaVersion ?? upcasters?.latestVersion(event.type) ?? 1,
      data: sealed.data,
      dataJson: sealed.data === event.data ? plainJson : storableJson(dataOf, sealed.data),
      metadata,
      metadataJson,
      subjectId: sealed.subjectId,
    });
  }
  return prepared;
}

function metadataOf(event: NewEvent, firstId: string): EventMetadata {
  const m = event.metadata ?? {};
  const metadata: EventMetadata = {
    correlationId: m.correlationId ?? firstId,
    causationId: m.causationId ?? m.correlationId ?? firstId,
  };
  if (m.traceparent) metadata.traceparent = m.traceparent;
  if (m.tracestate) metadata.tracestate = m.tracestate;
  if (m.actor) metadata.actor = m.actor;
  return metadata;
}

/**
 * Decides whether an append whose event ids were partly or wholly found is a replay of an earlier one.
 * A full replay returns the first result; a partial match means an id was reused for something else.
 */
export function replayOf(request: AppendRequest, found: RecordedEvent[]): AppendResult | undefined {
  if (found.length === 0) return undefined;
  const sameEvents =
    found.length === request.events.length &&
    found.every((e, i) => {
      const given = request.events[i];
      return given !== undefined && e.eventId === given.eventId && e.streamId === request.streamId && isSameEvent(e, given);
    });
  if (!sameEvents) {
    throw new IdempotencyError(`event ids ${found.map((e) => e.eventId).join(", ")} were already used by another append`, {
      streamId: request.streamId,
    });
  }
  return appendResult(request.streamId, found);
}

/**
 * Whether a stored event is the one given again under its id: same type and same data (keys in any order,
 * as jsonb keeps them). Sealed personal data is sealed afresh each time, so it cannot be compared; there the
 * type has to do.
 */
export function isSameEvent(stored: { type: string; data: unknown }, given: { type: string; data: unknown }): boolean {
  if (stored.type !== given.type) return false;
  if (containsSealedField(stored.data) || containsSealedField(given.data)) return true;
  return sameJson(stored.data, given.data);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** An append's answer for one stream: the stream's version and position are those of its last event. */
export function appendResult(streamId: string, events: RecordedEvent[]): AppendResult {
  const last = events[events.length - 1];
  if (!last) throw new Error(`an append to ${streamId} answered no events`);
  return { streamId, version: last.version, position: last.position, events };
}

/** What both stores do after reading: open personal fields (or redact them) and upcast to the newest shape. */
export async function finishRead(
  events: RecordedEvent[],
  personalData?: PersonalData,
  upcasters?: Upcasters,
): Promise<RecordedEvent[]> {
  const opened = personalData ? await personalData.openAll(events) : events;
  if (!upcasters) return opened;
  return opened.map((e) => ({ ...e, ...upcasters.apply(e.type, e.schemaVersion, e.data) }));
}

export function assertAppendRequest(request: AppendRequest): void {
  if (typeof request.streamId !== "string" || request.streamId.length === 0 || request.streamId.length > 200) {
    throw new TypeError("streamId must be a non-empty string of at most 200 characters");
  }
  assertStorableText(() => `stream id ${JSON.stringify(request.streamId)}`, request.streamId);
  if (!Array.isArray(request.events) || request.events.length === 0) {
    throw new TypeError(`append to ${request.streamId} needs at least one event`);
  }
  if (!isExpectedVersion(request.expectedVersion)) {
    throw new TypeError(
      `expectedVersion of ${request.streamId} must be "any", "no_stream", "stream_exists" or a version number, got ${String(request.expectedVersion)}`,
    );
  }
}
