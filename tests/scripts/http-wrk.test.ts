import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseWrkReport, runWrk } from "../../scripts/bench/http.ts";

// Shaped like a `wrk --latency` report (figures made up), with each time unit wrk prints.
const report = `Running 10s test @ http://127.0.0.1:4000
  2 threads and 64 connections
  Latency Distribution
     50%  850.00us
     75%    2.10ms
     90%    5.00ms
     99%    1.20s
  93170 requests in 10.00s, 18.39MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   9317.02
Transfer/sec:      1.84MB
`;

describe("the benchmark's wrk runs", () => {
  let dir = "";
  let path: string | undefined;
  beforeAll(() => {
    // A stand-in for wrk that takes a while and then prints the report above.
    dir = mkdtempSync(join(tmpdir(), "eventline-fake-wrk-"));
    writeFileSync(join(dir, "wrk"), `#!/bin/sh\nsleep 0.6\ncat <<'EOF'\n${report}EOF\n`);
    chmodSync(join(dir, "wrk"), 0o755);
    path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
  });
  afterAll(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads throughput, percentiles in any unit and the failed responses from wrk's report", () => {
    expect(parseWrkReport(report)).toEqual({ perSecond: 9317.02, p50Ms: 0.85, p99Ms: 1200, non2xx: 12 });
  });

  it("keeps the event loop turning while wrk runs, so the output of the API under test is still read", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    try {
      const row = await runWrk("http://127.0.0.1:9", 1, 64, "Bearer x");
      expect(row.perSecond).toBe(9317.02);
      expect(row.seconds).toBe(1);
    } finally {
      clearInterval(timer);
    }
    // wrk took 0.6 s; a blocking wait would have let no tick through.
    expect(ticks).toBeGreaterThanOrEqual(5);
  });
});
