import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Hono } from "hono";
import { createApp } from "../../src/http/create-app.ts";
import { MAX_BODY_BYTES } from "../../src/http/json-body.ts";

// Over a real socket, since a declared Content-Length and a chunked body take different paths through the
// body guard, and in-process requests (app.request) carry no Content-Length at all.
const reached: unknown[] = [];
let server: ReturnType<typeof Bun.serve>;
let url: string;

beforeAll(() => {
  const routes = new Hono();
  routes.post("/echo", async (c) => {
    const body = await c.req.json();
    reached.push(body);
    return c.json({ got: body });
  });
  const app = createApp({ ready: async () => {}, routes: [routes] });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  url = `http://127.0.0.1:${server.port}/echo`;
});
afterAll(() => server.stop(true));

/** A body sent in chunks with no Content-Length, as a streaming client would send it. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192));
      controller.close();
    },
  });
}

const json = { "content-type": "application/json" };
const big = JSON.stringify({ text: "x".repeat(MAX_BODY_BYTES) });

describe("the JSON body guard", () => {
  it("passes a body with a declared length to the route, parsed", async () => {
    const res = await fetch(url, { method: "POST", headers: json, body: JSON.stringify({ a: 1 }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: { a: 1 } });
  });

  it("passes a chunked body without a declared length to the route, parsed", async () => {
    const res = await fetch(url, { method: "POST", headers: json, body: chunked(JSON.stringify({ b: [1, 2] })) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: { b: [1, 2] } });
  });

  it("answers 413 to a declared length over 64 KiB, and to a chunked body that grows past it, without running the route", async () => {
    const before = reached.length;
    const declared = await fetch(url, { method: "POST", headers: json, body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).code).toBe("PAYLOAD_TOO_LARGE");
    const streamed = await fetch(url, { method: "POST", headers: json, body: chunked(big) });
    expect(streamed.status).toBe(413);
    expect(reached.length).toBe(before);
  });

  it("answers 400 to malformed JSON and 415 to another media type, with or without a declared length", async () => {
    const before = reached.length;
    for (const body of ['{"a": ', chunked('{"a": ')]) {
      expect((await fetch(url, { method: "POST", headers: json, body })).status).toBe(400);
    }
    for (const body of ["a=1", chunked("a=1")]) {
      const headers = { "content-type": "application/x-www-form-urlencoded" };
      expect((await fetch(url, { method: "POST", headers, body })).status).toBe(415);
    }
    expect(reached.length).toBe(before);
  });
});
