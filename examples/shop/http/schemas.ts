import * as v from "valibot";

export const Sku = v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/, "1 to 64 letters, digits, '.', '_' or '-'"));
/** Prices are whole cents. */
export const Price = v.pipe(v.number(), v.integer("a whole number of cents"), v.minValue(0), v.maxValue(100_000_000_00));
export const Quantity = v.pipe(v.number(), v.integer("a whole number"), v.minValue(1), v.maxValue(1_000_000));
export const Name = v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(200));
export const Email = v.pipe(v.string(), v.trim(), v.email("must be an email address"), v.maxLength(254));
export const Uuid = v.pipe(v.string(), v.uuid("must be a UUID"));

export const AddProductBody = v.strictObject({ sku: Sku, name: Name, price: Price });
export const ChangePriceBody = v.strictObject({ price: Price });
export const ReceiveStockBody = v.strictObject({ quantity: Quantity });
export const RegisterCustomerBody = v.strictObject({ name: Name, email: Email });
export const ChangeEmailBody = v.strictObject({ email: Email });
export const CreateOrderBody = v.optional(v.strictObject({ customerId: v.optional(Uuid) }));
export const AddItemBody = v.strictObject({ sku: Sku, quantity: Quantity });
export const PlaceOrderBody = v.strictObject({ paymentToken: v.pipe(v.string(), v.minLength(1), v.maxLength(200)) });
export const CancelOrderBody = v.optional(v.strictObject({ reason: v.optional(v.pipe(v.string(), v.maxLength(500))) }));

export const CommandAnswer = v.object({ version: v.number(), position: v.number() });
export const Problem = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.optional(v.string()),
  code: v.optional(v.string()),
  errors: v.optional(v.array(v.object({ pointer: v.string(), message: v.string() }))),
});

export const OrderItemView = v.object({ sku: v.string(), quantity: v.number(), unitPrice: v.number() });
export const OrderView = v.object({
  orderId: v.string(),
  customerId: v.string(),
  status: v.picklist(["DRAFT", "PLACED", "CONFIRMED", "CANCELLED", "SHIPPED"]),
  items: v.array(OrderItemView),
  total: v.number(),
  paymentStatus: v.picklist(["NONE", "CHARGED", "DECLINED", "REFUNDED"]),
  version: v.number(),
});
export const CustomerView = v.object({
  customerId: v.string(),
  name: v.string(),
  email: v.string(),
  forgotten: v.boolean(),
  version: v.number(),
});
export const ProductView = v.object({
  productId: v.string(),
  sku: v.string(),
  name: v.string(),
  price: v.number(),
  available: v.number(),
  version: v.number(),
});
export const SalesReport = v.object({
  skus: v.array(v.object({ sku: v.string(), units: v.number(), revenue: v.number() })),
  totalUnits: v.number(),
  totalRevenue: v.number(),
});
export const AsOfQuery = v.object({
  version: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, "must be a version number"))),
  at: v.optional(v.pipe(v.string(), v.isoTimestamp("must be an ISO 8601 time"))),
});
export const AfterQuery = v.object({ after: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, "must be a position"))) });
