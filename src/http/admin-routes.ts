import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { RecordedEvent } from "../core/messages.ts";
import { ADMIN_ROLE, roleRequired } from "./auth/identity.ts";

export type AdminDeps = {
  outboxStatus(): Promise<unknown>;
  releaseStream(streamId: string): Promise<number>;
  /** Every parked or backing-off stream due again. */
  releaseAll?(): Promise<number>;
  consumers(): Promise<unknown[]>;
  deadLetters: {
    list(consumer: string): Promise<unknown[]>;
    replay(consumer: string, messageIds?: string[]): Promise<number>;
    purge(consumer: string): Promise<number>;
  };
  /** Starts a rebuild in the background; resolves once it holds its lock, rejects (REBUILD_RUNNING) if another does. */
  rebuild(readModel: string): Promise<void>;
  sagas?: { list(status?: string): Promise<unknown[]>; retry(id: string): Promise<void> };
  /** What the console shows beside the routes above. */
  console?: ConsoleReads;
};

/** Reads and actions only the console uses. */
export type ConsoleReads = {
  /** Events appended per minute over the last hour (at most the log's last 200,000 events). */
  eventsPerMinute(): Promise<{ minute: string; count: number }[]>;
  sagasByStatus(): Promise<Record<string, number>>;
  deadLetterCounts(): Promise<Record<string, number>>;
  /** A page of a stream's events from a version, as stored (personal fields redacted) or opened. */
  stream(streamId: string, options: { opened: boolean; fromVersion: number; limit: number }): Promise<RecordedEvent[]>;
  /** Stream ids of a category, newest first. */
  streams(category: string, limit: number): Promise<string[]>;
  /** For each of these events, the read models that applied it and the sagas it started. */
  touched(eventIds: string[]): Promise<Record<string, { consumers: string[]; sagas: string[] }>>;
  saga(sagaId: string): Promise<unknown | undefined>;
  forgetSubject(subjectId: string): Promise<void>;
  /** `audit` for one read model: its events older than the allowed lag not applied, versions the store lacks. */
  audit(readModel: string): Promise<{ eventsChecked: number; findings: unknown[] }>;
  /** The last known progress of each read model's rebuild started from this process. */
  rebuilds(): Record<string, RebuildStatus>;
};

export type RebuildStatus = { percent: number; applied: number; state: "running" | "done" | "failed"; error?: string };

/** Operator routes under /admin, for the ADMIN_TOKEN or a token with the admin role (401 anonymous, 403 without the role). */
export function createAdminRoutes(deps: AdminDeps): Hono {
  const admin = new Hono();
  const doc = (summary: string) =>
    describeRoute({
      tags: ["admin"],
      summary,
      security: [{ bearer: [] }],
      responses: {
        200: { description: "done" },
        202: { description: "started" },
        401: { description: "no or wrong bearer token" },
        403: { description: "the token has no admin role" },
        404: { description: "unknown read model or consumer" },
      },
    });
  admin.use("/admin/*", roleRequired(ADMIN_ROLE));
  admin.get("/admin/outbox", doc("Outbox depth, oldest pending age and parked streams"), async (c) =>
    c.json(await deps.outboxStatus()),
  );
  admin.post("/admin/outbox/:streamId/release", doc("Release a parked stream"), async (c) =>
    c.json({ released: await deps.releaseStream(c.req.param("streamId")) }),
  );
  admin.post("/admin/outbox/release-all", doc("Release every parked stream"), async (c) =>
    c.json({ released: (await deps.releaseAll?.()) ?? 0 }),
  );
  admin.get("/admin/consumers", doc("Lag per consumer"), async (c) => c.json(await deps.consumers()));
  admin.get("/admin/consumers/:name/dead-letters", doc("List a consumer's dead letters"), async (c) =>
    c.json(await deps.deadLetters.list(c.req.param("name"))),
  );
  admin.post("/admin/consumers/:name/dead-letters/replay", doc("Replay dead letters (all, or ?id=...)"), async (c) => {
    const ids = c.req.queries("id");
    return c.json({ replayed: await deps.deadLetters.replay(c.req.param("name"), ids?.length ? ids : undefined) });
  });
  admin.delete("/admin/consumers/:name/dead-letters", doc("Purge a consumer's dead letters"), async (c) =>
    c.json({ purged: await deps.deadLetters.purge(c.req.param("name")) }),
  );
  admin.post("/admin/read-models/:name/rebuild", doc("Rebuild a read model in the background"), async (c) => {
    await deps.rebuild(c.req.param("name"));
    return c.json({ started: true }, 202);
  });
  admin.get("/admin/sagas", doc("Saga instances, filtered by ?status="), async (c) =>
    c.json((await deps.sagas?.list(c.req.query("status"))) ?? []),
  );
  admin.post("/admin/sagas/:id/retry", doc("Retry a saga that needs attention"), async (c) => {
    await deps.sagas?.retry(c.req.param("id"));
    return c.json({ retried: true }, 202);
  });
  return admin;
}
