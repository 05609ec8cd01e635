/** @jsxImportSource hono/jsx */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { AuthenticationError, NotFoundError, ValidationError } from "../../core/errors.ts";
import type { AdminDeps, ConsoleReads } from "../admin-routes.ts";
import { problemFor } from "../problem.ts";
import { CONSOLE_CSS, CONSOLE_SCRIPT } from "./console-client.ts";
import {
  Layout,
  LoginPage,
  OutboxPage,
  OverviewPage,
  PersonalDataPage,
  ReadModelPage,
  ReadModelsPage,
  SagaPage,
  SagasPage,
  StreamsPage,
} from "./console-pages.tsx";
import { endSession, isAdminToken, sessionRequired, startSession, type TokenVerifier } from "./console-session.ts";

export type ConsoleOptions = {
  app: string;
  admin: AdminDeps & { console: ConsoleReads };
  /** The same verification as the API's bearer tokens (the ADMIN_TOKEN, or a JWT with the admin role). */
  verify: TokenVerifier;
  /** A stream's state as of a version, when the app knows how to fold its category. */
  stateAsOf?: (streamId: string, version: number) => Promise<unknown | undefined>;
};

const require = createRequire(import.meta.url);
const assets: Record<string, { type: string; body: () => string }> = {
  "console.js": { type: "text/javascript; charset=utf-8", body: () => CONSOLE_SCRIPT },
  "console.css": { type: "text/css; charset=utf-8", body: () => CONSOLE_CSS },
  // uPlot, served from the package itself: the console needs no internet.
  "uPlot.iife.min.js": {
    type: "text/javascript; charset=utf-8",
    body: () => readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
  },
  "uPlot.min.css": {
    type: "text/css; charset=utf-8",
    body: () => readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  },
};
const loaded = new Map<string, string>();
const STREAM_PAGE = 100;

type Lag = { consumer: string; lag: number; appliedPosition: number; oldestUnappliedAgeSeconds: number };
type Outbox = {
  depth: number;
  oldestAgeSeconds: number;
  parked: { streamId: string; version: number; attempts: number; lastError: string | null }[];
};

/**
 * The operations console at /console: server-rendered pages over the admin components, behind an admin
 * session (an HttpOnly, SameSite=Strict cookie holding the admin's token) with a CSRF token on every action.
 */
export function createConsoleRoutes(options: ConsoleOptions): Hono {
  const { admin, verify } = options;
  const reads = admin.console;
  const app = new Hono();
  const page = (c: Context, title: string, body: Child, extra: { charts?: boolean } = {}) =>
    c.html(
      <Layout title={title} app={options.app} csrf={c.get("consoleCsrf")} path={c.req.path} charts={extra.charts}>
        {body}
      </Layout>,
    );

  app.get("/console/assets/:file", (c) => {
    const file = c.req.param("file");
    const asset = Object.hasOwn(assets, file) ? assets[file] : undefined;
    if (!asset) throw new NotFoundError("console asset", file);
    if (!loaded.has(file)) loaded.set(file, asset.body());
    return c.body(loaded.get(file) as string, 200, { "content-type": asset.type, "cache-control": "max-age=3600" });
  });
  app.get("/console/login", (c) => page(c, "Log in", <LoginPage />));
  app.post("/console/login", async (c) => {
    const { token } = (await c.req.json().catch(() => ({}))) as { token?: unknown };
    if (typeof token !== "string" || token.length === 0) throw new ValidationError("send the admin token as token");
    if (!(await isAdminToken(verify, token))) throw new AuthenticationError("that token is not an admin's", "invalid_token");
    startSession(c, token);
    return c.json({ ok: true });
  });

  app.use("/console", sessionRequired(verify));
  app.use("/console/*", sessionRequired(verify));
  app.post("/console/logout", (c) => {
    endSession(c);
    return c.json({ ok: true });
  });

  app.get("/console", (c) => page(c, "Overview", <OverviewPage />, { charts: true }));
  app.get("/console/api/overview", async (c) => {
    // Each figure on its own: RabbitMQ down leaves the dead-letter counts empty, not the whole page.
    const [outbox, lags, deadLetters, events, sagas] = await Promise.allSettled([
      admin.outboxStatus() as Promise<Outbox>,
      admin.consumers() as Promise<Lag[]>,
      reads.deadLetterCounts(),
      reads.eventsPerMinute(),
      reads.sagasByStatus(),
    ]);
    const value = <T,>(r: PromiseSettledResult<T>, fallback: T) => (r.status === "fulfilled" ? r.value : fallback);
    const o = value(outbox, { depth: 0, oldestAgeSeconds: 0, parked: [] });
    const dead = value(deadLetters, {} as Record<string, number>);
    return c.json({
      outbox: { depth: o.depth, oldestAgeSeconds: o.oldestAgeSeconds, parked: o.parked.length },
      readModels: value(lags, [] as Lag[]).map((l) => ({ ...l, deadLetters: dead[l.consumer] ?? 0 })),
      events: value(events, [] as { minute: string; count: number }[]),
      sagas: value(sagas, {} as Record<string, number>),
      unavailable: [outbox, lags, deadLetters, events, sagas].filter((r) => r.status === "rejected").length,
    });
  });
  app.get("/console/api/rebuilds", (c) => c.json(reads.rebuilds()));

  app.get("/console/outbox", async (c) => page(c, "Outbox", <OutboxPage {...((await admin.outboxStatus()) as Outbox)} />));
  app.post("/console/actions/outbox/release-all", async (c) => {
    const n = (await admin.releaseAll?.()) ?? 0;
    return c.json({ released: n, message: `released every parked stream: ${n} rows due again` });
  });
  app.post("/console/actions/outbox/:streamId/release", async (c) => {
    const n = await admin.releaseStream(c.req.param("streamId"));
    return c.json({ released: n, message: `released ${c.req.param("streamId")}: ${n} rows due again` });
  });

  app.get("/console/read-models", async (c) => {
    const [lags, deadLetters] = await Promise.all([admin.consumers() as Promise<Lag[]>, reads.deadLetterCounts()]);
    return page(c, "Read models", <ReadModelsPage lags={lags} deadLetters={deadLetters} />);
  });
  app.get("/console/read-models/:name", async (c) => {
    const name = c.req.param("name");
    const deadLetters = (await admin.deadLetters.list(name)) as Parameters<typeof ReadModelPage>[0]["deadLetters"];
    return page(c, `Read model ${name}`, <ReadModelPage name={name} deadLetters={deadLetters} />);
  });
  app.post("/console/actions/read-models/:name/dead-letters/replay", async (c) => {
    const { ids } = (await c.req.json().catch(() => ({}))) as { ids?: unknown };
    const chosen = Array.isArray(ids) && ids.every((i) => typeof i === "string") ? (ids as string[]) : undefined;
    const n = await admin.deadLetters.replay(c.req.param("name"), chosen);
    return c.json({ replayed: n, message: `replayed ${n}` });
  });
  app.post("/console/actions/read-models/:name/dead-letters/purge", async (c) => {
    const n = await admin.deadLetters.purge(c.req.param("name"));
    return c.json({ purged: n, message: `purged ${n}` });
  });
  app.post("/console/actions/read-models/:name/audit", async (c) => {
    const name = c.req.param("name");
    const r = await reads.audit(name);
    return c.json({ ...r, message: `${name}: ${r.eventsChecked} events checked, ${r.findings.length} missing or unknown` });
  });
  app.post("/console/actions/read-models/:name/rebuild", async (c) => {
    await admin.rebuild(c.req.param("name"));
    return c.json({ started: true, message: "rebuild started" }, 202);
  });

  app.get("/console/sagas", async (c) => {
    const status = c.req.query("status");
    const sagas = ((await admin.sagas?.list(status)) ?? []) as Parameters<typeof SagasPage>[0]["sagas"];
    return page(c, "Sagas", <SagasPage sagas={sagas} status={status} />);
  });
  app.get("/console/sagas/:id", async (c) => {
    const saga = (await reads.saga(c.req.param("id"))) as Parameters<typeof SagaPage>[0]["saga"] | undefined;
    if (!saga) throw new NotFoundError("saga", c.req.param("id"));
    return page(c, `Saga ${saga.sagaId}`, <SagaPage saga={saga} />);
  });
  app.post("/console/actions/sagas/:id/retry", async (c) => {
    await admin.sagas?.retry(c.req.param("id"));
    return c.json({ retried: true, message: `retrying ${c.req.param("id")}` });
  });

  app.get("/console/streams", async (c) => {
    const id = c.req.query("id") || undefined;
    const category = c.req.query("category") || undefined;
    const from = Number(c.req.query("from") ?? "1");
    const fromVersion = Number.isInteger(from) && from > 0 ? from : 1;
    // A page of a stream at a time, so a long stream costs what a page costs.
    const events = id ? await reads.stream(id, { opened: false, fromVersion, limit: STREAM_PAGE }) : [];
    const touched = await reads.touched(events.map((e) => e.eventId));
    const streams = category && !id ? await reads.streams(category, 100) : [];
    const next = events.length === STREAM_PAGE ? fromVersion + STREAM_PAGE : undefined;
    return page(
      c,
      id ? `Stream ${id}` : "Streams",
      <StreamsPage
        id={id}
        category={category}
        streams={streams}
        events={events}
        touched={touched}
        next={next}
        canFold={Boolean(options.stateAsOf)}
      />,
    );
  });
  app.post("/console/actions/streams/:id/open", async (c) => {
    const fromVersion = Number(((await c.req.json().catch(() => ({}))) as { from?: unknown }).from ?? 1) || 1;
    return c.json({ events: await reads.stream(c.req.param("id"), { opened: true, fromVersion, limit: STREAM_PAGE }) });
  });
  // The state holds personal fields in clear: shown only by an action, as the events' are.
  app.post("/console/actions/streams/:id/state", async (c) => {
    const { version } = (await c.req.json().catch(() => ({}))) as { version?: unknown };
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1)
      throw new ValidationError("send the version as a whole number");
    const state = await options.stateAsOf?.(c.req.param("id"), version);
    if (state === undefined) throw new NotFoundError("a decider for the stream's category", c.req.param("id"));
    return c.json({ version, state });
  });

  app.get("/console/personal-data", (c) => page(c, "Personal data", <PersonalDataPage />));
  app.post("/console/actions/forget", async (c) => {
    const { subjectId } = (await c.req.json().catch(() => ({}))) as { subjectId?: unknown };
    if (typeof subjectId !== "string" || subjectId.trim().length === 0)
      throw new ValidationError("send the subject id as subjectId");
    await reads.forgetSubject(subjectId.trim());
    return c.json({ forgotten: subjectId, message: `forgot ${subjectId}: their personal fields now read redacted` });
  });
  // A page that fails shows what failed, as a page; the client's fetches get the problem as JSON.
  app.onError((error, c) => {
    const p = problemFor(error, c.get("requestId") ?? "");
    if (!(c.req.header("accept") ?? "").includes("text/html"))
      return c.json(p, p.status as never, { "content-type": "application/problem+json" });
    return c.html(
      <Layout title={p.title} app={options.app} csrf={c.get("consoleCsrf")} path={c.req.path}>
        <p id="problem">{p.detail}</p>
      </Layout>,
      p.status as never,
    );
  });
  return app;
}
