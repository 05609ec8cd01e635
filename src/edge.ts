/**
 * `eventline/edge`: an app's API for isolates (Cloudflare Workers, Deno Deploy) behind a transaction
 * pooler. It needs Web APIs and, on Workers, `nodejs_compat` (postgres.js and node:timers).
 */

/** The app's API as a fetch handler: a connection per request, the same routes, auth and answers as the `api` process. */
export { createEdgeHandler, type EdgeContext, type EdgeEnv } from "./processes/edge-handler.ts";
