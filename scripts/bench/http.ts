/** Section 2: HTTP commands/s through the real API with an external load generator (wrk), beside a constant. */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createJwtAuthenticator } from "../../src/http/auth/jwt-authenticator.ts";
import { signToken } from "../../src/http/auth/sign-token.ts";
import { carrierOf, contextFromHeaders, inSpan, SpanKind } from "../../src/core/telemetry.ts";
import { bearer } from "../bearer.ts";
import { startProcess } from "../process-runner.ts";
import { notePeaks } from "./peak-memory.ts";

export type HttpRow = {
  target: string;
  connections: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  seconds: number;
};

// Every sku is new: wrk's Lua starts its random numbers from the same seed in every run, so the run's own
// prefix keeps a second run against the same database from hitting the first run's skus (409s).
const addProductScript = (authorization: string) => {
  const run = `W${crypto.randomUUID().slice(0, 8)}`;
  return `
local counter = 0
setup = function(thread) thread:set("tid", tostring(math.random(1, 1000000000))) end
request = function()
  counter = counter + 1
  local body = '{"sku":"${run}-' .. tid .. '-' .. counter .. '","name":"Bench","price":100}'
  return wrk.format("POST", "/products", {["content-type"] = "application/json", ["authorization"] = "${authorization}"}, body)
end
`;
};

/** A wrk script that GETs these paths in turn, each request with the bearer token. */
export const getPathsScript = (paths: string[]) => (authorization: string) =>
  `
local paths = { ${paths.map((p) => JSON.stringify(p)).join(", ")} }
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], {["authorization"] = "${authorization}"})
end
`;

function ms(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/**
 * Runs wrk and reads requests/s, p50, p99 and the non-2xx count from its report. Asynchronously: the API
 * under test writes its log to a pipe this process reads, and a wait that blocked the event loop would let
 * that pipe fill and stall the API mid-measurement (a run of the API at LOG_LEVEL=info measured 55 req/s).
 */
export async function runWrk(
  url: string,
  seconds: number,
  connections: number,
  authorization: string,
  lua: (authorization: string) => string = addProductScript,
): Promise<Omit<HttpRow, "target" | "connections">> {
  const script = join(process.env.TMPDIR ?? "/tmp", `eventline-wrk-${process.pid}.lua`);
  writeFileSync(script, lua(authorization));
  const wrk = Bun.spawn(["wrk", "-t2", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url], {
    // The environment as it is now, PATH included (Bun.spawn would otherwise look wrk up in the one it started with).
    env: process.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, status] = await Promise.all([new Response(wrk.stdout).text(), new Response(wrk.stderr).text(), wrk.exited]);
  if (status !== 0) throw new Error(`wrk failed: ${err}`);
  return { ...parseWrkReport(out), seconds };
}

/** The figures of a `wrk --latency` report. */
export function parseWrkReport(out: string): Omit<HttpRow, "target" | "connections" | "seconds"> {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return {
    perSecond: rps,
    p50Ms: p50 ? ms(p50[1] as string, p50[2] as string) : 0,
    p99Ms: p99 ? ms(p99[1] as string, p99[2] as string) : 0,
    non2xx,
  };
}

export function ensureWrk(): void {
  if (spawnSync("wrk", ["--version"]).error === undefined) return;
  if (process.getuid?.() !== 0) throw new Error("the HTTP benchmark needs wrk: apt-get install wrk");
  spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "wrk"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

async function waitHealthy(url: string) {
  const deadline = Date.now() + 30_000;
  while (
    (await fetch(url).then(
      (r) => r.status,
      () => 0,
    )) === 0
  ) {
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the targets look rows up by. */
export const HTTP_TARGETS = {
  api: "eventline API: POST /products (token, validate, append, outbox)",
  apiTraced: "the same API exporting its spans (OTLP/HTTP to a local sink)",
  constant: "same Hono app answering a constant",
  constantVerifying: "same Hono app answering a constant, verifying the token",
} as const;

/**
 * The API at each connection count (more connections fill bigger group-commit batches and cost latency),
 * then the constant app at the first, without and with token verification. Every request carries a
 * catalog staff member's bearer token, as the API needs for POST /products.
 */
export async function benchHttp(
  env: Record<string, string>,
  seconds: number,
  connectionCounts: number[],
  freePort: () => number,
): Promise<HttpRow[]> {
  ensureWrk();
  const apiPort = freePort();
  const api = startProcess("api", ["api"], { ...env, PORT: String(apiPort), LOG_LEVEL: "warn", DB_POOL_MAX: "20" });
  const root = join(import.meta.dirname, "..", "..");
  const constantApp = (verify: boolean) => {
    const port = freePort();
    const child = Bun.spawn([process.execPath, join(root, "scripts", "bench", "constant-server.ts")], {
      env: { ...process.env, ...env, PORT: String(port), VERIFY_TOKENS: verify ? "1" : "0" },
      stdout: "ignore",
    });
    return { port, child };
  };
  const constants = [constantApp(false), constantApp(true)];
  // A collector that takes every export and keeps nothing: the traced API pays for its spans and their
  // sending, not for a slow receiver.
  const sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      await req.arrayBuffer();
      return Response.json({});
    },
  });
  const tracedPort = freePort();
  const traced = startProcess("api", ["api"], {
    ...env,
    PORT: String(tracedPort),
    LOG_LEVEL: "warn",
    DB_POOL_MAX: "20",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}`,
  });
  const { authorization } = await bearer("bench-catalog", ["catalog"], env);
  try {
    await waitHealthy(`http://127.0.0.1:${apiPort}/health`);
    for (const c of constants) await waitHealthy(`http://127.0.0.1:${c.port}/`);
    await waitHealthy(`http://127.0.0.1:${tracedPort}/health`);
    const rows: HttpRow[] = [];
    for (const connections of connectionCounts) {
      rows.push({
        target: HTTP_TARGETS.api,
        connections,
        ...(await runWrk(`http://127.0.0.1:${apiPort}`, seconds, connections, authorization)),
      });
    }
    const connections = connectionCounts[0] ?? 64;
    rows.push({
      target: HTTP_TARGETS.apiTraced,
      connections,
      ...(await runWrk(`http://127.0.0.1:${tracedPort}`, seconds, connections, authorization)),
    });
    const [plain, verifying] = constants as [(typeof constants)[0], (typeof constants)[0]];
    rows.push({
      target: HTTP_TARGETS.constant,
      connections,
      ...(await runWrk(`http://127.0.0.1:${plain.port}`, seconds, connections, authorization)),
    });
    rows.push({
      target: HTTP_TARGETS.constantVerifying,
      connections,
      ...(await runWrk(`http://127.0.0.1:${verifying.port}`, seconds, connections, authorization)),
    });
    return rows;
  } finally {
    notePeaks("http", [api, { name: "api (exporting spans)", peakRssMb: traced.peakRssMb }]);
    await api.stop("SIGTERM");
    await traced.stop("SIGTERM");
    sink.stop(true);
    for (const c of constants) {
      c.child.kill("SIGTERM");
      await c.child.exited;
    }
  }
}

/**
 * What verifying one token costs in this process, in µs: the first time a token is seen (signature and
 * claims, jose with WebCrypto) and each time after (the remembered token's time window only).
 */
export async function measureTokenVerification(count: number): Promise<{ firstSightUs: number; rememberedUs: number }> {
  const settings = {
    secret: "bench-secret-for-token-verification-0123",
    issuer: "bench",
    audience: "bench",
    clockSkewSeconds: 30,
  };
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) => signToken(settings, { subject: `s${i}`, roles: ["catalog"] })),
  );
  const verify = createJwtAuthenticator({ ...settings, cacheSize: count });
  const timed = async () => {
    const started = performance.now();
    for (const t of tokens) await verify(t);
    return ((performance.now() - started) * 1000) / count;
  };
  const firstSightUs = await timed();
  const rememberedUs = await timed();
  return { firstSightUs, rememberedUs };
}

/**
 * What a command's tracing costs with no OpenTelemetry SDK registered, in µs, timed in this process (which
 * registers none): the calls one command makes (the request's span from its headers, the command's span,
 * the append's, the context written into the metadata twice), for a request with a caller's traceparent
 * and for one without.
 */
export async function measureNoopTracing(count: number): Promise<{ perCommandUs: number; withTraceparentUs: number }> {
  const timed = async (headers: Headers) => {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      await inSpan(
        "POST",
        { kind: SpanKind.SERVER, parent: contextFromHeaders(headers), attributes: { "url.path": "/products" } },
        (_s, http) => {
          const request = carrierOf(http);
          return inSpan("command AddProduct", { parent: http, attributes: { "eventline.stream.id": "p" } }, (_c, cmd) => {
            const metadata = { ...request, ...carrierOf(cmd) };
            return inSpan(
              "append eventline_events",
              { kind: SpanKind.CLIENT, attributes: { "db.system.name": "postgresql" } },
              async () => metadata,
            );
          });
        },
      );
    }
    return ((performance.now() - started) * 1000) / count;
  };
  const plain = new Headers({ "content-type": "application/json" });
  const traced = new Headers({
    "content-type": "application/json",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  });
  return { perCommandUs: await timed(plain), withTraceparentUs: await timed(traced) };
}
