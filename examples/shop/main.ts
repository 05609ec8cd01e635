/** The shop's entry file: `bun examples/shop/main.ts <command>` (or `bun run eventline <command>`). */
import { runApp } from "eventline/runtime";
import { defineShopCli } from "./shop-cli.ts";

await runApp(defineShopCli());
