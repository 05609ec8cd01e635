/**
 * The shop's API in Cloudflare's workerd: the same app definition, routes and answers as `api` on Bun,
 * one pooled connection per request (Hyperdrive when bound). Locally: `wrangler dev -c examples/shop/wrangler.toml`.
 */
import { createEdgeHandler } from "eventline/edge";
import { shopApp } from "./shop-app.ts";

export default { fetch: createEdgeHandler(shopApp) };
