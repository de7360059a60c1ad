import { describe, expect, it } from "vitest";
import { Execution, task, workflow, type Execution as ExecutionType } from "floe";
import { bareEnvironment, runScript } from "../support/child.ts";

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

// The choice is made from the process's environment at the first top-level call: each
// case runs a user's script as a process of its own (see test/aws/connected-function.test.ts
// for a connected function).
describe("the default engine, chosen at the first top-level call", () => {
  const script = "test/fixtures/top-level/submit.ts";

  it("is the embedded engine outside Lambda and unconnected, and the AWS SDK is never loaded", async () => {
    const child = runScript(script, [], bareEnvironment);
    expect(await child.next()).toMatchObject({ id: expect.any(String) });
    expect(await child.next()).toEqual({ result: 42, awsSdkLoaded: false });
  }, 30_000);

  it("refuses in a Lambda function that is not connected, naming the fix", async () => {
    const child = runScript(script, [], { ...bareEnvironment, AWS_LAMBDA_FUNCTION_NAME: "checkout" });
    const { code, message } = await child.next();
    expect(code).toBe("FLOE_NOT_CONNECTED");
    expect(message).toContain('"conn_double" was submitted at top level in the Lambda function "checkout"');
    expect(message).toContain("orchestrator.connect(fn)");
    expect(message).toContain("createEngine()");
  }, 30_000);

  it("refuses an incomplete connection, naming what is missing", async () => {
    const child = runScript(script, [], { ...bareEnvironment, FLOE_TABLE_NAME: "executions" });
    const { code, message } = await child.next();
    expect(code).toBe("FLOE_NOT_CONNECTED");
    expect(message).toContain("FLOE_BUCKET_NAME");
    expect(message).toContain("FLOE_QUEUE_URL_PREFIX");
    expect(message).toContain("orchestrator.connect(fn)");
  }, 30_000);
});
