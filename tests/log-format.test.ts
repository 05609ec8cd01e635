import { describe, expect, it } from "bun:test";
import { createLogger } from "../src/log.ts";

describe("the process logger", () => {
  it("writes one JSON object per line by default, with the process's fields and the line's", () => {
    const lines: string[] = [];
    createLogger({ app: "shop", role: "relay", pid: 7 }, "info", (l) => lines.push(l))("warn", "publish failed", {
      position: 42,
    });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: "warn",
      message: "publish failed",
      role: "relay",
      position: 42,
    });
  });

  it("writes compact human-readable lines with LOG_FORMAT=pretty: time, role, level, message and the ids that matter", () => {
    const lines: string[] = [];
    const log = createLogger({ app: "shop", role: "consumer:orders", pid: 7 }, "info", (l) => lines.push(l), "pretty");
    log.child({ consumer: "orders" })("error", "handler failed", {
      streamId: "order-1",
      error: 'bad "input"',
      skipped: undefined,
    });
    log("debug", "not shown");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} consumer:orders\s+ERROR handler failed consumer=orders streamId=order-1 error="bad \\"input\\""$/,
    );
    expect(lines[0]).not.toContain("pid=");
  });
});
