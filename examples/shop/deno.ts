/**
 * The shop's API on Deno: the same app and process runner as on Bun, served by Deno.serve.
 * Run: deno run --allow-net --allow-env --allow-read --allow-sys examples/shop/deno.ts
 */
import { runApp } from "eventline/runtime";
import { shopApp } from "./shop-app.ts";

await runApp(shopApp, { argv: ["api"] });
