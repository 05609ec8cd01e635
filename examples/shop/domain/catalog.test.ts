import { describe, it } from "bun:test";
import { deciderSpec } from "eventline/testing";
import { type CatalogEvent, catalog } from "./catalog.ts";

const added: CatalogEvent = { type: "ProductAdded", data: { productId: "p1", sku: "MUG-1", name: "Mug", price: 1200 } };

describe("catalog decider", () => {
  it("adds a product that does not exist yet", () => {
    deciderSpec(catalog)
      .given([])
      .when({ type: "AddProduct", data: { productId: "p1", sku: "MUG-1", name: "Mug", price: 1200 } })
      .thenEmits([{ type: "ProductAdded", data: { productId: "p1", sku: "MUG-1", name: "Mug", price: 1200 } }]);
  });

  it("refuses to add a product that exists", () => {
    deciderSpec(catalog)
      .given([added])
      .when({ type: "AddProduct", data: { productId: "p1", sku: "MUG-2", name: "Other mug", price: 900 } })
      .thenRejects("PRODUCT_EXISTS");
  });

  it("changes the price, carrying the sku and the previous price from the product", () => {
    deciderSpec(catalog)
      .given([added])
      .when({ type: "ChangePrice", data: { productId: "p1", price: 1500 } })
      .thenEmits([{ type: "PriceChanged", data: { productId: "p1", sku: "MUG-1", price: 1500, previousPrice: 1200 } }]);
  });

  it("refuses to change the price of a product that does not exist", () => {
    deciderSpec(catalog)
      .given([])
      .when({ type: "ChangePrice", data: { productId: "p1", price: 1500 } })
      .thenRejects("NOT_FOUND");
  });

  it("changes nothing when the price is already the one asked for", () => {
    deciderSpec(catalog)
      .given([added])
      .when({ type: "ChangePrice", data: { productId: "p1", price: 1200 } })
      .thenEmits([]);
  });

  it("takes the previous price from the latest price change", () => {
    deciderSpec(catalog)
      .given([added, { type: "PriceChanged", data: { productId: "p1", sku: "MUG-1", price: 1500, previousPrice: 1200 } }])
      .when({ type: "ChangePrice", data: { productId: "p1", price: 1800 } })
      .thenEmits([{ type: "PriceChanged", data: { productId: "p1", sku: "MUG-1", price: 1800, previousPrice: 1500 } }]);
  });

  it("changes nothing when the price was already changed to the one asked for", () => {
    deciderSpec(catalog)
      .given([added, { type: "PriceChanged", data: { productId: "p1", sku: "MUG-1", price: 1500, previousPrice: 1200 } }])
      .when({ type: "ChangePrice", data: { productId: "p1", price: 1500 } })
      .thenEmits([]);
  });
});
