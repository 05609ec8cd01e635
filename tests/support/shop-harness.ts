import { Registry } from "prom-client";
import { connectBroker } from "../../src/broker/amqp-connection.ts";
import { createConsumer } from "../../src/consumers/consumer-runtime.ts";
import { createConsumerMetrics } from "../../src/consumers/consumer-metrics.ts";
import { createApp } from "../../src/http/create-app.ts";
import { createLogger } from "../../src/log.ts";
import { createRelay } from "../../src/outbox/relay.ts";
import { createFakeGateway } from "../../examples/shop/domain/payments.ts";
import { createShop } from "../../examples/shop/create-shop.ts";
import { createSagaWorker } from "../../src/sagas/saga-worker.ts";
import { sagaStarter } from "../../src/sagas/saga-starter.ts";
import { createAdminDeps } from "../../src/processes/admin-deps.ts";
import { deleteBrokerObjects } from "../../scripts/broker-cleanup.ts";
import { amqpUrl } from "./amqp.ts";
import { bearerFor, STAFF, testAuthenticator } from "./auth.ts";
import { createTestDatabase, type TestDatabase } from "./pg.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/**
 * The shop on a schema, exchange, NOTIFY channel and queue prefix of its own. With `pipeline`, the relay
 * and every read-model consumer run in-process against the real RabbitMQ.
 */
export async function createShopHarness(
  options: { pipeline?: boolean; saga?: boolean; stepDeadlineMs?: number; audit?: { lagMs: number; everyMs: number } } = {},
) {
  const db: TestDatabase = await createTestDatabase({ max: 20 });
  const tag = crypto.randomUUID().slice(0, 8);
  const exchange = `test.shop.${tag}`;
  const notifyChannel = `shop_${tag}`;
  const queuePrefix = `test.${tag}`;
  const log = createLogger({ role: "test" }, "error");
  const gateway = createFakeGateway();
  const shop = createShop({ sql: db.sql, notifyChannel, gateway, stepDeadlineMs: options.stepDeadlineMs });
  await shop.ensureReadModels();
  // The admin routes on the real components, wired as the API process wires them.
  const admin = createAdminDeps({
    sql: db.sql,
    readSql: db.sql,
    store: shop.store,
    readModels: shop.readModels,
    amqpUrls: [amqpUrl()],
    queuePrefix,
    notifyChannel,
    log,
  });
  const app = createApp({
    ready: async () => {},
    routes: shop.routes(),
    admin,
    auth: { authenticator: testAuthenticator, adminToken: ADMIN_TOKEN, realm: "shop" },
  });
  const staff = await bearerFor("staff-test", STAFF);
  const broker = options.pipeline ? connectBroker(amqpUrl(), log, `test-shop-${tag}`) : undefined;
  const relay = broker
    ? createRelay({
        sql: db.sql,
        broker,
        log,
        exchange,
        notifyChannel,
        partitions: 4,
        batchSize: 200,
        maxAttempts: 5,
        pollMs: 200,
      })
    : undefined;
  const sagaChannel = `${notifyChannel}_sagas`;
  const sagas = options.saga ? shop.sagas() : [];
  const starters = broker ? sagas.map((saga) => sagaStarter(saga, sagaChannel)) : [];
  const defs = [...(broker ? shop.readModels : []), ...starters];
  const registry = new Registry();
  const metrics = createConsumerMetrics(registry, async () => []);
  // As the processes wire them: read models see personal fields opened, saga starters keep them sealed.
  const consumers = defs.map((def) =>
    createConsumer({
      def,
      sql: db.sql,
      store: shop.store,
      broker: broker as NonNullable<typeof broker>,
      exchange,
      log,
      queuePrefix,
      prepare: starters.includes(def) ? shop.prepareSealed : shop.prepare,
      metrics,
      audit: options.audit,
      sweep: options.audit ? { everyMs: 100, graceMs: 5_000 } : undefined,
    }),
  );
  const sagaWorker = options.saga
    ? createSagaWorker({
        sql: db.sql,
        sagas,
        log,
        notifyChannel: sagaChannel,
        pollMs: 100,
        leaseMs: 5_000,
      })
    : undefined;
  await relay?.start();
  for (const c of consumers) await c.start();
  await sagaWorker?.start();

  return {
    db,
    shop,
    sagaChannel,
    exchange,
    notifyChannel,
    queuePrefix,
    app,
    gateway,
    /** The Authorization header of a staff member with every shop role. */
    staff,
    /** The consumers' metrics. */
    registry,
    /**
     * JSON request through `app.request`, no server, as staff with every shop role unless `headers` has
     * its own `authorization` (an empty one sends none).
     */
    async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const sent: Record<string, string> = { ...(headers.authorization === undefined ? staff : {}), ...headers };
      if (!sent.authorization) delete sent.authorization;
      const init: RequestInit = { method, headers: sent };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const res = await app.request(path, init);
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      return { status: res.status, body: json as Record<string, unknown> & { [k: string]: unknown }, headers: res.headers };
    },
    async eventCount(): Promise<number> {
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from eventline_events`;
      return row?.n ?? 0;
    },
    async close() {
      await sagaWorker?.stop();
      for (const c of consumers) await c.stop();
      await relay?.stop();
      await broker?.close();
      if (broker)
        await deleteBrokerObjects(amqpUrl(), { consumers: defs.map((d) => d.name), prefix: queuePrefix, exchanges: [exchange] });
      await db.drop();
    },
  };
}
