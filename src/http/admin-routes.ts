import { Hono, type MiddlewareHandler } from "hono";
import { describeRoute } from "hono-openapi";
import { EventlineError } from "../core/errors.ts";
import { sha256 } from "../core/sha256.ts";

export type AdminDeps = {
  token?: string;
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
};

/** Compares digests byte by byte without an early exit, so the time taken reveals nothing about the token. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function bearer(token: string): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!given || !(await sameSecret(given, token))) {
      c.header("www-authenticate", 'Bearer realm="eventline-admin"');
      throw new EventlineError("UNAUTHORIZED", "admin routes need Authorization: Bearer <ADMIN_TOKEN>");
    }
    await next();
  };
}

/** Operator routes under /admin. Without a configured token they do not exist (404). */
export function createAdminRoutes(deps: AdminDeps): Hono {
  const admin = new Hono();
  if (!deps.token) return admin;
  const doc = (summary: string) =>
    describeRoute({
      tags: ["admin"],
      summary,
      security: [{ bearer: [] }],
      responses: {
        200: { description: "done" },
        202: { description: "started" },
        401: { description: "missing or wrong bearer token" },
        404: { description: "unknown read model or consumer" },
      },
    });
  admin.use("/admin/*", bearer(deps.token));
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
