import type { Decider } from "eventline";
import { DomainError, NotFoundError } from "eventline";

export type CatalogCommand =
  | { type: "AddProduct"; data: { productId: string; sku: string; name: string; price: number } }
  | { type: "ChangePrice"; data: { productId: string; price: number } };

export type CatalogEvent =
  | { type: "ProductAdded"; data: { productId: string; sku: string; name: string; price: number } }
  | { type: "PriceChanged"; data: { productId: string; sku: string; price: number; previousPrice: number } };

export type Product = { exists: false } | { exists: true; productId: string; sku: string; name: string; price: number };

export const productStream = (productId: string) => `product-${productId}`;
/** One stream per sku, claimed atomically with the product, so two products can never share a sku. */
export const skuStream = (sku: string) => `sku-${sku}`;

export const catalog: Decider<CatalogCommand, CatalogEvent, Product> = {
  initialState: () => ({ exists: false }),
  decide(command, state) {
    switch (command.type) {
      case "AddProduct":
        if (state.exists) throw new DomainError("PRODUCT_EXISTS", `product ${command.data.productId} already exists`);
        return [{ type: "ProductAdded", data: command.data }];
      case "ChangePrice":
        if (!state.exists) throw new NotFoundError("product", command.data.productId);
        if (state.price === command.data.price) return [];
        return [
          {
            type: "PriceChanged",
            data: { productId: state.productId, sku: state.sku, price: command.data.price, previousPrice: state.price },
          },
        ];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case "ProductAdded":
        return { exists: true, ...event.data };
      case "PriceChanged":
        return state.exists ? { ...state, price: event.data.price } : state;
    }
  },
};
