import type { ConsumerDefinition } from "eventline";
import { catalogReadModel } from "./catalog-read-model.ts";
import { customersReadModel } from "./customers-read-model.ts";
import { ordersReadModel } from "./orders-read-model.ts";
import { salesReadModel } from "./sales-read-model.ts";

/** Every consumer of the shop; each runs as its own process (`bun examples/shop/main.ts consumer <name>`). */
export const shopReadModels: ConsumerDefinition[] = [catalogReadModel, ordersReadModel, customersReadModel, salesReadModel];
