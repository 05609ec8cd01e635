import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import amqp from "amqplib";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { staffBearer } from "../../scripts/bearer.ts";
import { root } from "../../scripts/infra-env.ts";
import { startSaga } from "../../src/sagas/saga-store.ts";
import { amqpUrl } from "../support/amqp.ts";
import { createTestDatabase, type TestDatabase } from "../support/pg.ts";
import { type RunningProcess, shopProcessEnv, startShop, stopShop } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";

const ADMIN_TOKEN = "console-admin-token-0123456789abcdef";
const shots = join(root, "test-output", "console");
let db: TestDatabase;
let env: Record<string, string>;
let base = "";
let staff: Record<string, string>;
let browser: Browser;
let page: Page;
const running: RunningProcess[] = [];
const consoleErrors: string[] = [];

const chromium = () =>
  process.env.CHROMIUM_PATH || spawnSync("bash", [join(root, "scripts", "infra"), "browser"], { encoding: "utf8" }).stdout.trim();

async function post(path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...staff },
    body: JSON.stringify(body),
  });
  return (await res.json().catch(() => ({}))) as Record<string, unknown>;
}

const admin = (path: string) =>
  fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json() as Promise<never>);

/** Goes to a console page and waits for it; a screenshot of each page lands in test-output/console. */
async function visit(path: string, shot?: string) {
  await page.goto(`${base}${path}`, { waitUntil: "networkidle0" });
  if (shot) await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
}

/** Clicks the element of that tag whose text is exactly `text`, as a person would (by the mouse). */
async function clickOn(tag: string, text: string) {
  const handle = await page.waitForFunction(
    (t, want) => Array.from(document.querySelectorAll(t)).find((e) => e.textContent?.trim().replace(/\s+/g, " ") === want),
    {},
    tag,
    text,
  );
  await (handle as unknown as { click(): Promise<void> }).click();
}

/** Clicks a button by its text and waits for the message the action answers with. */
async function act(text: string, expected: RegExp) {
  await clickOn("button", text);
  const said = () => page.$eval("#message", (m) => m.textContent ?? "");
  await page
    .waitForFunction(
      (re) => new RegExp(re).test(document.getElementById("message")?.textContent ?? ""),
      { timeout: 15_000 },
      expected.source,
    )
    .catch(async (error) => {
      throw new Error(
        `after clicking ${text} the page says ${JSON.stringify(await said())} (console: ${consoleErrors.join("; ")}): ${error}`,
      );
    });
  return said();
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  staff = await staffBearer();
  db = await createTestDatabase();
  ({ env, base } = shopProcessEnv(db, "console", {
    ADMIN_TOKEN,
    RELAY_MAX_ATTEMPTS: "2",
    SAGA_LEASE_MS: "3000",
    AUDIT_LAG_SECONDS: "1",
  }));
  running.push(...(await startShop(env, base)));
  browser = await puppeteer.launch({
    executablePath: chromium(),
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("dialog", (d) => void d.accept());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopShop(running, env);
  await db.drop();
}, 30_000);

describe("the operations console", () => {
  it("sends every page without a session to the login, and refuses every action without the CSRF token", async () => {
    const pages = [
      "/console",
      "/console/outbox",
      "/console/read-models",
      "/console/read-models/orders",
      "/console/sagas",
      "/console/sagas/any",
      "/console/streams?id=order-1",
      "/console/personal-data",
      "/console/api/overview",
      "/console/api/rebuilds",
    ];
    for (const path of pages) {
      const res = await fetch(`${base}${path}`, { redirect: "manual" });
      expect({ path, status: res.status, to: res.headers.get("location") }).toEqual({ path, status: 302, to: "/console/login" });
    }
    const anonymous = await fetch(`${base}/console/actions/outbox/release-all`, { method: "POST", redirect: "manual" });
    expect(anonymous.status).toBe(303);
    // A session without the CSRF token (what another site's form would send, if the cookie went along).
    const login = await fetch(`${base}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(login.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    expect(login.headers.get("set-cookie")).toMatch(/SameSite=Strict/i);
    const actions = [
      "/console/logout",
      "/console/actions/outbox/release-all",
      "/console/actions/outbox/some-stream/release",
      "/console/actions/read-models/orders/dead-letters/replay",
      "/console/actions/read-models/orders/dead-letters/purge",
      "/console/actions/read-models/orders/rebuild",
      "/console/actions/read-models/orders/audit",
      "/console/actions/sagas/any/retry",
      "/console/actions/streams/order-1/open",
      "/console/actions/streams/order-1/state",
      "/console/actions/forget",
    ];
    for (const action of actions) {
      const res = await fetch(`${base}${action}`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ subjectId: "x" }),
      });
      expect({ action, status: res.status }).toEqual({ action, status: 403 });
    }
    // An asset name that is no asset, however it is spelled, is a 404, not a crash.
    for (const name of ["constructor", "__proto__", "toString", "nothing.js"])
      expect((await fetch(`${base}/console/assets/${name}`)).status).toBe(404);
    const wrong = await fetch(`${base}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "not-the-admin-token-at-all" }),
    });
    expect(wrong.status).toBe(401);
  });

  it("logs in, shows the numbers the admin API has, and steers dead letters, parked streams, sagas, a rebuild and a forget from the page", async () => {
    // Something to look at: a checkout, and a customer to forget.
    const sku = `CON-${crypto.randomUUID().slice(0, 8)}`;
    await post("/products", { sku, name: "Lamp", price: 1500 });
    await post(`/inventory/${sku}/receipts`, { quantity: 5 });
    const customerId = (await post("/customers", { name: "Grace Console", email: "grace@example.com" })).customerId as string;
    const orderId = (await post("/orders", { customerId })).orderId as string;
    await post(`/orders/${orderId}/items`, { sku, quantity: 1 });
    await post(`/orders/${orderId}/place`, { paymentToken: "tok_ok" });

    await visit("/console", "login");
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await page.type("#token", ADMIN_TOKEN);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.pathname === "/console" && document.body.dataset.refreshed);
    await page.screenshot({ path: join(shots, "overview.png"), fullPage: true });

    // The overview agrees with the admin API.
    const outbox = (await admin("/admin/outbox")) as { depth: number; parked: unknown[] };
    const consumers = (await admin("/admin/consumers")) as { consumer: string }[];
    expect(await page.$eval("#parked-streams", (e) => e.textContent)).toBe(String(outbox.parked.length));
    expect(await page.$$eval("#lag-rows tr", (rows) => rows.map((r) => (r as HTMLElement).dataset.readModel).sort())).toEqual(
      consumers.map((c) => c.consumer).sort(),
    );
    expect(Number(await page.$eval("#events-last-hour", (e) => e.textContent))).toBeGreaterThanOrEqual(6);
    expect(await page.$("#events-chart canvas")).not.toBeNull();

    // A dead letter: a message the orders consumer cannot read, replayed from the page.
    const conn = await amqp.connect(amqpUrl());
    const ch = await conn.createConfirmChannel();
    const messageId = crypto.randomUUID();
    ch.sendToQueue(`${env.QUEUE_PREFIX}.orders`, Buffer.from("not an event"), { messageId });
    await ch.waitForConfirms();
    await conn.close();
    await waitFor(
      "the dead letter",
      () => admin("/admin/consumers/orders/dead-letters") as Promise<unknown[]>,
      (d) => d.length === 1,
    );
    await visit("/console/read-models/orders", "dead-letters");
    expect(await act(`Replay ${messageId}`, /replayed/)).toBe("replayed 1");

    // A parked stream (no queue takes its events), released from the page.
    const orphan = `orphan-${crypto.randomUUID()}`;
    await db.sql`select 1`;
    const { createPostgresEventStore } = await import("../../src/store/postgres-event-store.ts");
    await createPostgresEventStore({ sql: db.sql, notifyChannel: env.NOTIFY_CHANNEL }).appendToStream(orphan, [
      { type: "Noted", data: {} },
    ]);
    await waitFor(
      "the parked stream",
      () => admin("/admin/outbox") as Promise<{ parked: { streamId: string }[] }>,
      (o) => o.parked.some((p) => p.streamId === orphan),
    );
    await visit("/console/outbox", "outbox");
    expect(await act(`Release ${orphan}`, /released/)).toBe(`released ${orphan}: 1 rows due again`);

    // A saga that needs attention, retried from the page.
    const sagaId = `console-${crypto.randomUUID()}`;
    await startSaga(db.sql, { sagaId, sagaType: "console-test", data: {} }, "unused");
    await db.sql`update eventline_saga_instances set status = 'needs_attention', last_error = 'refund refused' where saga_id = ${sagaId}`;
    await visit("/console/sagas?status=needs_attention", "sagas");
    expect(await act(`Retry ${sagaId}`, /retrying/)).toBe(`retrying ${sagaId}`);
    const [retried] = await db.sql<{ status: string }[]>`select status from eventline_saga_instances where saga_id = ${sagaId}`;
    expect(retried?.status).not.toBe("needs_attention");
    await visit(`/console/sagas/checkout-${orderId}`, "saga");
    expect(await page.$eval("#history", (h) => h.textContent)).toContain("charge");

    // The audit of a read model, from the page: a clean run has nothing missing.
    await visit("/console/read-models", "read-models");
    expect(await act("Audit orders", /events checked/)).toMatch(/^orders: [1-9]\d* events checked, 0 missing or unknown$/);

    // A rebuild, watched to its end.
    await clickOn("button", "Rebuild orders");
    await page.waitForSelector("#rebuild-orders[data-state=done]", { timeout: 30_000 });
    expect(await page.$eval("#rebuild-orders", (p) => (p as HTMLProgressElement).value)).toBe(100);

    // A stream with its events, what they touched, and its state as of a version.
    await visit(`/console/streams?id=order-${orderId}`, "stream");
    expect(await page.$$eval("#events tbody tr", (rows) => rows.length)).toBeGreaterThanOrEqual(3);
    // The OrderPlaced event links to the read models that applied it and to the saga it started.
    expect(await page.$$eval("#events a", (links) => links.map((a) => a.textContent))).toContain(`checkout-${orderId}`);
    await clickOn("button", "State as of 1");
    await page.waitForFunction((id) => (document.getElementById("state")?.textContent ?? "").includes(id), {}, customerId);

    // Personal fields read redacted until the page opens them, by an action.
    await visit(`/console/streams?id=customer-${customerId}`);
    expect(await page.$eval("#events", (t) => t.textContent)).not.toContain("Grace Console");
    await clickOn("button", "Show personal data");
    await page.waitForFunction(() => /Grace Console/.test(document.getElementById("events")?.textContent ?? ""));

    // Forgetting a customer: their name reads redacted even when the page opens personal data.
    await visit("/console/personal-data", "personal-data");
    await page.type("#subject", customerId);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /forgot/.test(document.getElementById("message")?.textContent ?? ""));
    await visit(`/console/streams?id=customer-${customerId}`);
    expect(await page.$eval("#events", (t) => t.textContent)).toContain("[redacted]");
    await clickOn("button", "Show personal data");
    await page.waitForFunction(() => /personal data shown/.test(document.getElementById("message")?.textContent ?? ""));
    expect(await page.$eval("#events", (t) => t.textContent)).not.toContain("Grace Console");

    // Readable on a phone's width too.
    await page.setViewport({ width: 390, height: 844 });
    await visit("/console", "overview-phone");
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);

    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
