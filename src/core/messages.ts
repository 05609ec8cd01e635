/** A message type: a discriminated union member with a `type` tag and a `data` payload. */
export type Message<Type extends string = string, Data = unknown> = { readonly type: Type; readonly data: Data };

export type Event<Type extends string = string, Data = unknown> = Message<Type, Data>;
export type Command<Type extends string = string, Data = unknown> = Message<Type, Data>;

/** Metadata carried by every recorded event; ids link an event to the request or message that caused it. */
export type EventMetadata = {
  correlationId: string;
  causationId: string;
  /** W3C trace context of the span that appended the event (see core/telemetry). */
  traceparent?: string;
  tracestate?: string;
  actor?: string;
};

/** The envelope of an event as stored and as published. */
export type RecordedEvent<E extends Event = Event> = {
  eventId: string;
  streamId: string;
  version: number;
  position: number;
  type: E["type"];
  schemaVersion: number;
  data: E["data"];
  metadata: EventMetadata;
  occurredAt: string;
};

/** An event on its way into the store. */
export type NewEvent<E extends Event = Event> = E & {
  eventId?: string;
  schemaVersion?: number;
  metadata?: Partial<EventMetadata>;
};

/** The category of a stream is its id's prefix before the first `-` (`invoice-7f3` → `invoice`). */
export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf("-");
  return dash === -1 ? streamId : streamId.slice(0, dash);
}
