/** The baseline for the HTTP benchmark: the same kind of Hono app, parsing the body and answering a constant. */
import { Hono } from "hono";

const app = new Hono();
app.post("/products", async (c) => {
  await c.req.json();
  return c.json({ productId: "00000000-0000-0000-0000-000000000000", version: 1, position: 1 }, 201);
});
const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.env.PORT), fetch: app.fetch });
console.log(JSON.stringify({ message: "constant server listening", url: server.url.href }));
