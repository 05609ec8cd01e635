import { propagation } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";

/**
 * W3C trace context and baggage as the process's propagator: a caller's traceparent then reaches the
 * events, the messages and the logs even when nothing is exported. Light enough for an isolate.
 */
export function registerTracePropagation(): void {
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}
