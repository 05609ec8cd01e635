/** The shop's entry file: `bun examples/shop/main.ts <command>` (or `bun run eventline <command>`). */
import { runApp } from "eventline/runtime";
import { shopApp } from "./shop-app.ts";

await runApp(shopApp);
