import { context, trace } from "@opentelemetry/api";
import { registerTracePropagation } from "./trace-propagation.ts";

export type Telemetry = {
  /** Whether spans are recorded and exported (an OTLP endpoint is configured). */
  exporting: boolean;
  /** Sends what is still buffered; called by a graceful stop. */
  shutdown(): Promise<void>;
};

/** Whether the standard OpenTelemetry variables ask for traces to be exported. */
export function tracesWanted(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

const whole = (value: string | undefined) => (value && /^\d+$/.test(value) ? Number(value) : undefined);

/** The standard OTEL_BSP_* variables, which this SDK's span processor does not read by itself. */
function batchSettings(env: Record<string, string | undefined>) {
  return {
    scheduledDelayMillis: whole(env.OTEL_BSP_SCHEDULE_DELAY),
    exportTimeoutMillis: whole(env.OTEL_BSP_EXPORT_TIMEOUT),
    maxQueueSize: whole(env.OTEL_BSP_MAX_QUEUE_SIZE),
    maxExportBatchSize: whole(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
  };
}

/**
 * W3C trace-context propagation always, and the SDK with the OTLP/HTTP exporter when the standard variables ask for it.
 * The exporter reads OTEL_EXPORTER_OTLP_* itself; the service is OTEL_SERVICE_NAME, else `<app>-<role>`.
 */
export async function startTelemetry(env: Record<string, string | undefined>, serviceName: string): Promise<Telemetry> {
  registerTracePropagation();
  if (!tracesWanted(env)) return { exporting: false, shutdown: async () => {} };
  // Loaded only when wanted: a process without an endpoint never loads the SDK or the exporter.
  const [
    { AsyncLocalStorageContextManager },
    { OTLPTraceExporter },
    { detectResources, envDetector, resourceFromAttributes },
    sdk,
  ] = await Promise.all([
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace"),
  ]);
  const { BatchSpanProcessor, TracerProvider } = sdk;
  const resource = resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? serviceName }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), ...batchSettings(env) })],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return { exporting: true, shutdown: () => provider.shutdown() };
}
