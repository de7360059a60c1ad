import { describe, expect, it } from "vitest";
import { Execution, task, workflow, type Execution as ExecutionType } from "floe";

const loadUser = task("d_load_user", async (id: string) => ({ id }));
const loadProduct = task("d_load_product", async (id: string) => ({ id, price: 3 }));
const createOrder = task(
  "d_create_order",
  { wait: true },
  async (user: ExecutionType<{ id: string }>, product: ExecutionType<{ id: string; price: number }>) => ({
    user: (await user.result()).id,
    total: (await product.result()).price,
  }),
);
const processOrder = workflow("d_process_order", async (userId: string, productId: string) => {
  const user = loadUser.submit(userId);
  const product = loadProduct.submit(productId);
  return createOrder.submit(user, product);
});

describe("the default engine", () => {
  it("runs a workflow called at top level, with no engine configured", async () => {
    expect(await processOrder("u1", "p1")).toEqual({ user: "u1", total: 3 });
  });

  it("returns an execution from a top-level submit", async () => {
    const execution = loadUser.submit("u2");
    expect(execution).toBeInstanceOf(Execution);
    expect(await execution.result()).toEqual({ id: "u2" });
  });
});
