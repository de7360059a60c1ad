/**
 * Seed 001's `process_order`: two loads run in parallel, and `create_order` receives both
 * executions. The workflow returns `create_order`'s execution without waiting for it, so
 * the workflow finishes at once and its result is the order (forwarding). `wait: true`
 * keeps `create_order` out of the queue until both loads have finished, so it holds no
 * concurrency slot while it waits.
 *
 * Run it with `npm run demo`.
 */
import { task, workflow, type Execution } from "floe";

/** A user, as `load_user` returns it. */
export interface User {
  readonly id: string;
  readonly name: string;
}

/** A product, as `load_product` returns it. */
export interface Product {
  readonly id: string;
  readonly priceCents: number;
}

/** An order, as `create_order` returns it. */
export interface Order {
  readonly user: User;
  readonly product: Product;
  readonly totalCents: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Loads a user (a 100 ms stand-in for a database read). */
export const loadUser = task("load_user", async (userId: string): Promise<User> => {
  await sleep(100);
  return { id: userId, name: `User ${userId}` };
});

/** Loads a product (a 100 ms stand-in for a database read). */
export const loadProduct = task("load_product", async (productId: string): Promise<Product> => {
  await sleep(100);
  return { id: productId, priceCents: 4999 };
});

/**
 * Creates an order from a user and a product. With `wait: true` it starts only once both
 * executions have finished, so their `result()` calls return at once.
 */
export const createOrder = task(
  "create_order",
  { wait: true },
  async (user: Execution<User>, product: Execution<Product>): Promise<Order> => {
    const [u, p] = await Promise.all([user.result(), product.result()]);
    return { user: u, product: p, totalCents: p.priceCents };
  },
);

/**
 * Submits both loads in parallel and returns `create_order`'s execution: the run's
 * result is the order, but the workflow itself does not wait for it.
 *
 * @example
 * const order = await processOrder("u1", "p1");
 */
export const processOrder = workflow("process_order", async (userId: string, productId: string) => {
  const user = loadUser.submit(userId);
  const product = loadProduct.submit(productId);
  return createOrder.submit(user, product);
});
