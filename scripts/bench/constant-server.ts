/**
 * The baseline for the HTTP benchmark: the same kind of Hono app, parsing the body and answering a
 * constant. With VERIFY_TOKENS=1 it verifies each request's bearer token as the API does, so the pair of
 * them measures what authentication costs a request.
 */
import { Hono } from "hono";
import { loadAuthConfig } from "../../src/auth-config.ts";
import { authenticate } from "../../src/http/auth/authenticate.ts";
import { requireIdentity } from "../../src/http/auth/identity.ts";
import { createJwtAuthenticator } from "../../src/http/auth/jwt-authenticator.ts";

const app = new Hono();
const verify = process.env.VERIFY_TOKENS === "1";
if (verify) app.use(authenticate({ authenticator: createJwtAuthenticator(loadAuthConfig(process.env).jwt) }));
app.post("/products", async (c) => {
  if (verify) requireIdentity(c);
  await c.req.json();
  return c.json({ productId: "00000000-0000-0000-0000-000000000000", version: 1, position: 1 }, 201);
});
const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.env.PORT), fetch: app.fetch });
console.log(JSON.stringify({ message: "constant server listening", url: server.url.href }));
