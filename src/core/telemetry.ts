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
export type { Context as TraceContext, Link };

const tracer = () => trace.getTracer("eventline");

/** W3C trace context as a plain record: what event metadata, saga instances and AMQP headers carry. */
export type TraceCarrier = { traceparent?: string; tracestate?: string };

const w3c = new W3CTraceContextPropagator();

/**
 * The registered propagator, or W3C trace context when none is (the API's default propagates nothing):
 * trace context then passes through an app that never set OpenTelemetry up.
 */
const propagator = (): Pick<TextMapPropagator, "inject" | "extract"> => (propagation.fields().length > 0 ? propagation : w3c);

/** The context a carrier holds, or the root context. */
export function contextFrom(carrier: object | undefined | null): Context {
  if (!carrier) return ROOT_CONTEXT;
  return propagator().extract(ROOT_CONTEXT, carrier, {
    get: (c, key) => {
      const value = (c as Record<string, unknown>)[key];
      return typeof value === "string" ? value : undefined;
    },
    keys: (c) => Object.keys(c),
  });
}

/** The carrier for a context: only W3C trace-context fields are kept, so nothing else reaches the store. */
export function carrierOf(ctx: Context | undefined): TraceCarrier {
  const out: Record<string, string> = {};
  propagator().inject(ctx ?? ROOT_CONTEXT, out, { set: (c, key, value) => Object.assign(c, { [key]: value }) });
  const carrier: TraceCarrier = {};
  if (out.traceparent) carrier.traceparent = out.traceparent;
  if (out.tracestate) carrier.tracestate = out.tracestate;
  return carrier;
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
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span, ctx: Context) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind, attributes: options.attributes, links: options.links }, parent);
  const ctx = trace.setSpan(parent, span);
  try {
    // Also made active, so an app's own instrumentation inside `work` nests under it.
    return await context.with(ctx, () => work(span, ctx));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** A link to the span a carrier names, when it names one (a batch links every message it applied). */
export function linkTo(carrier: object | undefined): Link | undefined {
  const sc = trace.getSpanContext(contextFrom(carrier));
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/** Marks a span failed without throwing (an HTTP 5xx answer, a step that will be retried). */
export function markFailed(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
