import { afterEach, describe, expect, it } from "bun:test";
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { connect } from "../../src/store/connect.ts";
import { databaseUrl } from "../support/pg.ts";

/**
 * A loopback TCP relay to the real Postgres that can go away (its port refusing connections, as a crashed
 * server's does) and come back on the same port.
 */
function outageProxy(target: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = connectTcp(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      server = listening;
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => {
        port = (listening.address() as { port: number }).port;
        resolve();
      });
    });
  return {
    listen,
    url: () => Object.assign(new URL(target), { port: String(port) }).toString(),
    down: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server?.close(() => resolve());
      }),
  };
}

/** Whether `select 1` answers within `ms`: a query waiting for a connection must not stall the test. */
async function answers(sql: ReturnType<typeof connect>, ms: number): Promise<boolean> {
  const timeout = Bun.sleep(ms).then(() => false);
  return Promise.race([
    sql`select 1`.then(
      () => true,
      () => false,
    ),
    timeout,
  ]);
}

let proxy: ReturnType<typeof outageProxy> | undefined;
afterEach(async () => {
  await proxy?.down();
  proxy = undefined;
});

describe("a pool after Postgres was unreachable", () => {
  it("answers every query within 750 ms of the server coming back, however many connects failed meanwhile", async () => {
    proxy = outageProxy(new URL(databaseUrl()));
    await proxy.listen();
    const sql = connect(proxy.url(), { max: 10 });
    try {
      await Promise.all(Array.from({ length: 10 }, () => sql`select 1`));
      await proxy.down();
      // A busy API's pool during an outage of a few seconds: every connection tries again and fails.
      const failedUntil = Date.now() + 3_000;
      let failures = 0;
      while (Date.now() < failedUntil) {
        const results = await Promise.all(Array.from({ length: 10 }, () => answers(sql, 300)));
        failures += results.filter((ok) => !ok).length;
        await Bun.sleep(100);
      }
      expect(failures).toBeGreaterThan(10);
      await proxy.listen();
      // Ten requests arriving once it is back: each must be answered, not only the luckiest one.
      const back = Date.now();
      const answered = await Promise.all(
        Array.from({ length: 10 }, async () => ((await answers(sql, 5_000)) ? Date.now() - back : undefined)),
      );
      expect(answered.filter((ms) => ms === undefined || ms >= 750)).toEqual([]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 15_000);
});
