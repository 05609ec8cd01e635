/**
 * A stand-in OpenTelemetry collector: an OTLP/HTTP endpoint on loopback that keeps every span the
 * exporters send (JSON encoding), with the service that sent it.
 */
export type ReceivedSpan = {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
};

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  links?: { traceId: string; spanId: string }[];
  attributes?: KeyValue[];
};
type Export = {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
};

/** OTLP JSON ids are hex; a base64 id (the protobuf-JSON mapping) is turned into hex too. */
const hex = (id: string | undefined) =>
  !id ? undefined : /^[\da-f]+$/.test(id) ? id : Buffer.from(id, "base64").toString("hex");

const plain = (v: AnyValue) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributes = (list: KeyValue[] = []) => Object.fromEntries(list.map((a) => [a.key, plain(a.value)]));

export function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/traces") return new Response("no", { status: 404 });
      const body = (await req.json()) as Export;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attributes(rs.resource?.attributes)["service.name"] ?? "");
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              service,
              traceId: hex(s.traceId) as string,
              spanId: hex(s.spanId) as string,
              parentSpanId: hex(s.parentSpanId) || undefined,
              name: s.name,
              kind: s.kind,
              links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId) as string, spanId: hex(l.spanId) as string })),
              attributes: attributes(s.attributes),
            });
      }
      return Response.json({});
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, spans, stop: () => server.stop(true) };
}
