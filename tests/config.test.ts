import { describe, expect, it } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { databases } from "../src/processes/process-kit.ts";
import { ConfigError } from "../src/core/errors.ts";

const valid = { DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db", AMQP_URL: "amqp://u:p@127.0.0.1:5672" };

describe("configuration", () => {
  it("applies sensible defaults to a minimal environment", () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      port: 3000,
      host: "127.0.0.1",
      eventsExchange: "eventline.events",
      readDatabaseUrl: valid.DATABASE_URL,
      relay: { pollMs: 1000, batchSize: 500, maxAttempts: 10, partitions: 16, lanes: 2 },
    });
    expect(config.adminToken).toBeUndefined();
  });

  it("reports every bad or missing variable, one line each", () => {
    const error = (() => {
      try {
        loadConfig({ AMQP_URL: "http://nope", PORT: "eighty", ADMIN_TOKEN: "short" });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      "DATABASE_URL is required",
      "AMQP_URL must start with amqp:// or amqps://",
      "PORT must be a whole number",
      "ADMIN_TOKEN must be at least 16 characters",
    ]);
  });

  it("rejects more relay lanes than partitions, since a lane without a partition has nothing to publish", () => {
    expect(() => loadConfig({ ...valid, RELAY_PARTITIONS: "4", RELAY_LANES: "5" })).toThrow(
      "RELAY_LANES must be at most RELAY_PARTITIONS (4)",
    );
    expect(loadConfig({ ...valid, RELAY_PARTITIONS: "4", RELAY_LANES: "4" }).relay.lanes).toBe(4);
  });

  it("rejects a port out of range", () => {
    expect(() => loadConfig({ ...valid, PORT: "70000" })).toThrow("PORT must be at most 65535");
  });

  it("takes a transaction pooler for the api only, and never with a schema it would drop", () => {
    expect(() => loadConfig({ ...valid, DATABASE_POOLER: "transaction", DATABASE_SCHEMA: "shop" })).toThrow(
      "DATABASE_SCHEMA cannot go through a transaction pooler",
    );
    const pooled = loadConfig({ ...valid, DATABASE_POOLER: "transaction" });
    expect(pooled.databasePooler).toBe("transaction");
    expect(() => databases(pooled, "relay")).toThrow("the relay needs a direct connection");
    expect(() => databases(pooled, "saga")).toThrow("the saga needs a direct connection");
  });

  it("takes a cluster's nodes as a list in AMQP_URL or AMQP_URLS, and then makes queues quorum queues", () => {
    const nodes = "amqp://u:p@127.0.0.1:5672, amqp://u:p@127.0.0.1:5673,amqp://u:p@127.0.0.1:5674";
    const cluster = loadConfig({ ...valid, AMQP_URL: nodes });
    expect(cluster.amqpUrls).toEqual(["amqp://u:p@127.0.0.1:5672", "amqp://u:p@127.0.0.1:5673", "amqp://u:p@127.0.0.1:5674"]);
    expect(cluster.consumer.queueType).toBe("quorum");
    const { AMQP_URL: _, ...withoutUrl } = valid;
    expect(loadConfig({ ...withoutUrl, AMQP_URLS: nodes }).amqpUrls).toHaveLength(3);
    expect(loadConfig(valid).consumer.queueType).toBe("classic");
    expect(loadConfig({ ...valid, AMQP_URL: nodes, CONSUMER_QUEUE_TYPE: "classic" }).consumer.queueType).toBe("classic");
  });

  it("names the bad node of a list, and refuses AMQP_URL and AMQP_URLS together", () => {
    expect(() => loadConfig({ ...valid, AMQP_URL: "amqp://u:p@127.0.0.1:5672,http://127.0.0.1:5673" })).toThrow(
      "AMQP_URL (item 2) must start with amqp:// or amqps://",
    );
    expect(() => loadConfig({ ...valid, AMQP_URLS: "amqp://u:p@127.0.0.1:5673" })).toThrow("AMQP_URL and AMQP_URLS are both set");
    const { AMQP_URL: _, ...withoutUrl } = valid;
    expect(() => loadConfig({ ...withoutUrl, AMQP_URLS: "amqp://u:p@127.0.0.1:5673,nope" })).toThrow(
      "AMQP_URLS (item 2) must be a URL",
    );
    // One node named twice is still one node: no quorum queues for it.
    const twice = loadConfig({ ...valid, AMQP_URL: `${valid.AMQP_URL},${valid.AMQP_URL}` });
    expect([twice.amqpUrls, twice.consumer.queueType]).toEqual([[valid.AMQP_URL], "classic"]);
  });
});
