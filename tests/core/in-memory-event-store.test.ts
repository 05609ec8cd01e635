import { createInMemoryEventStore, createInMemoryKeyStore } from "../../src/core/in-memory-event-store.ts";
import { describeEventStoreContract } from "../support/event-store-contract.ts";

// Stores made by one factory share their keys, as stores over one database share the keys table.
const keys = createInMemoryKeyStore();
describeEventStoreContract("in-memory", { create: async (options) => createInMemoryEventStore({ ...options, keys }) });
