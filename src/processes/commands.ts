/** Every command of the CLI with its usage and what it does; `<command> --help` prints one of these. */
export const commands: Record<string, { usage: string; summary: string }> = {
  migrate: {
    usage: "migrate",
    summary: "Apply database migrations (write database, and the read database when separate) and exit.",
  },
  api: {
    usage: "api",
    summary: "Serve the HTTP API on HOST:PORT (commands, queries, admin, /openapi.json, /docs, /health, /ready, /metrics).",
  },
  relay: { usage: "relay", summary: "Publish the outbox to RabbitMQ; /health and /metrics on RELAY_METRICS_PORT." },
  consumer: {
    usage: "consumer <catalog|orders|customers|sales|all>",
    summary: "Keep read models from the events; /health and /metrics (with lag) on CONSUMER_METRICS_PORT.",
  },
  saga: {
    usage: "saga",
    summary: "Start checkout sagas from OrderPlaced and drive them; /health and /metrics on SAGA_METRICS_PORT.",
  },
  "payment-provider": {
    usage: "payment-provider",
    summary:
      "The stand-in payment provider (own tables, idempotency keys) on PAYMENT_PROVIDER_PORT; the saga calls PAYMENT_PROVIDER_URL.",
  },
  "read-models": {
    usage: "read-models list | read-models rebuild <name>",
    summary: "Show read models with their lag, or rebuild one from the store.",
  },
  "dead-letters": {
    usage: "dead-letters list|show|replay|purge <consumer> [message-id ...]",
    summary: "Inspect, replay (all or by message id) or drop what a consumer could not apply.",
  },
  outbox: {
    usage: "outbox status | outbox release <stream-id> | outbox release --all",
    summary: "Outbox depth and parked streams, or release a parked stream.",
  },
  sagas: { usage: "sagas list [status] | sagas retry <saga-id>", summary: "Saga instances, or retry one that needs attention." },
  streams: { usage: "streams show <stream-id>", summary: "Print a stream's recorded events, one JSON line each." },
  "forget-subject": {
    usage: "forget-subject <customer-id>",
    summary: "Forget a customer's personal data: records PersonalDataForgotten and deletes the subject's key.",
  },
};

export function usageText(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  const lines = Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return `usage: bun run eventline <command> [--help]\n\n${lines.join("\n")}\n`;
}
