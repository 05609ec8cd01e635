import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/**
 * eventline's spans go through the OpenTelemetry API only. Without an SDK registered (the processes
 * register one when OTEL_EXPORTER_OTLP_ENDPOINT is set) every span is a no-op that still carries the
 * caller's trace context, so a trace passes through unrecorded at no measurable cost.
 */
export { SpanKind };
export type { Context as TraceContext, Link, Span };

const tracer = () => trace.getTracer("eventline");

/** W3C trace context as a plain record: what event metadata and saga instances store. */
export type TraceCarrier = { traceparent?: string; tracestate?: string };

const w3c = new W3CTraceContextPropagator();

type Getter = { get(carrier: unknown, key: string): string | undefined; keys(carrier: unknown): string[] };
const fromRecord: Getter = {
  get: (c, key) => {
    const value = (c as Record<string, unknown>)[key];
    return typeof value === "string" ? value : undefined;
  },
  keys: (c) => Object.keys(c as object),
};
const fromHeaders: Getter = {
  get: (h, key) => (h as Headers).get(key) ?? undefined,
  keys: (h) => {
    const keys: string[] = [];
    (h as Headers).forEach((_value, key) => {
      keys.push(key);
    });
    return keys;
  },
};
const setRecord = { set: (c: Record<string, string>, key: string, value: string) => Object.assign(c, { [key]: value }) };

/** The context a stored carrier holds (W3C trace context), or the root context. */
export function contextFrom(carrier: object | undefined | null): Context {
  if (!carrier || typeof (carrier as TraceCarrier).traceparent !== "string") return ROOT_CONTEXT;
  return w3c.extract(ROOT_CONTEXT, carrier, fromRecord);
}

/** What to store for a context (event metadata, a saga instance): its W3C trace context, nothing else. */
export function carrierOf(ctx: Context | undefined): TraceCarrier {
  const sc = ctx && trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return {};
  // A span's context is written once: a request's metadata and its command's (no SDK: the same) share it.
  let carrier = written.get(sc);
  if (!carrier) {
    carrier = {};
    w3c.inject(ctx as Context, carrier, setRecord);
    written.set(sc, carrier);
  }
  return { ...carrier };
}
const written = new WeakMap<object, Record<string, string>>();

/**
 * The registered propagator (B3, Jaeger, W3C with baggage…), or W3C trace context when none is (the API's
 * default propagates nothing): used on the wire, for HTTP and AMQP headers.
 */
const wire = (): Pick<TextMapPropagator, "inject" | "extract"> => (propagation.fields().length > 0 ? propagation : w3c);

/** The context a request's or a message's headers carry, through the wire propagator. */
export function contextFromHeaders(headers: Headers | Record<string, unknown> | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return wire().extract(ROOT_CONTEXT, headers, headers instanceof Headers ? fromHeaders : fromRecord);
}

/** The headers that carry a context on the wire (a message the relay publishes). */
export function headersFor(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  wire().inject(ctx, out, setRecord);
  return out;
}

/** The trace id a context or carrier belongs to, for log lines. */
export function traceIdOf(from: Context | object | undefined): string | undefined {
  const ctx = from && "getValue" in from ? (from as Context) : contextFrom(from as object | undefined);
  const sc = trace.getSpanContext(ctx);
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

export type SpanOptions = {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent: a context (from contextFrom, or an enclosing span's). Default: the active context. */
  parent?: Context;
  links?: Link[];
};

/**
 * Runs `work` in a span that ends when it settles: an error is recorded on it and rethrown. `work` gets
 * the span and its context (pass the context on explicitly, or to `carrierOf` for what goes out).
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span, ctx: Context) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind, attributes: options.attributes, links: options.links }, parent);
  const sc = span.spanContext();
  // A span that records nothing and carries its parent's context on (no SDK) adds nothing to the context.
  const passThrough = !span.isRecording() && (sc === trace.getSpanContext(parent) || !trace.isSpanContextValid(sc));
  const ctx = passThrough ? parent : trace.setSpan(parent, span);
  // Also made active, so an app's own instrumentation inside `work` nests under it.
  const run = () => context.with(ctx, () => work(span, ctx));
  // With no SDK the span records nothing and its end does nothing: the work runs without a wrapper.
  if (!span.isRecording()) return run();
  return recorded(span, run);
}

async function recorded<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** A link to the span a message's headers name, when they name one (a batch links every message it applied). */
export function linkTo(headers: Record<string, unknown> | undefined): Link | undefined {
  const sc = trace.getSpanContext(contextFromHeaders(headers));
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/** Marks a span failed without throwing (an HTTP 5xx answer, a step that will be retried). */
export function markFailed(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
