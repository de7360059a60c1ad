/**
 * A function's execution environments in the bundled cloud: each a plain Node process with
 * only the function's environment, one invocation at a time each, up to the function's
 * limit; a crashed one replaced by a fresh one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bootstrapSource } from "../../sdk/local-cloud/lambda-bootstrap.ts";
import { LambdaFunction, type FunctionSpec } from "../../sdk/local-cloud/lambda-process.ts";

const folder = mkdtempSync(join(tmpdir(), "floe-lambda-"));
const bootstrap = join(folder, "bootstrap.mjs");
writeFileSync(bootstrap, bootstrapSource);
writeFileSync(
  join(folder, "index.mjs"),
  [
    "import { existsSync } from 'node:fs';",
    "export const handler = async (event, context) => {",
    "  while (event.until && !existsSync(event.until)) await new Promise((resolve) => setTimeout(resolve, 10));",
    "  if (event.fail) throw new TypeError('refused ' + event.fail);",
    "  return { pid: process.pid, env: Object.keys(process.env).sort(), name: context.functionName, execArgv: process.execArgv };",
    "};",
  ].join("\n"),
);
const fns: LambdaFunction[] = [];
afterAll(async () => {
  await Promise.all(fns.map((fn) => fn.close()));
  rmSync(folder, { recursive: true, force: true });
});

function start(concurrency: number, crash?: (event: unknown) => boolean): LambdaFunction {
  const spec: FunctionSpec = {
    logicalId: "Fn",
    name: "stack-Fn",
    arn: "arn:aws:lambda:us-east-1:000000000000:function:stack-Fn",
    taskRoot: folder,
    bootstrap,
    environment: { LAMBDA_TASK_ROOT: folder, _HANDLER: "index.handler", AWS_LAMBDA_FUNCTION_NAME: "stack-Fn", ONLY: "this" },
    timeoutSeconds: 60,
    concurrency,
  };
  const fn = new LambdaFunction(spec, crash === undefined ? {} : { crash: (_, event) => crash(event) }, () => undefined);
  fns.push(fn);
  return fn;
}

type Reply = { pid: number; env: string[]; name: string; execArgv: string[] };

describe("a function's execution environments", () => {
  it("run plain Node with only the function's environment, and report what the handler throws", async () => {
    const fn = start(1);
    const reply = (await fn.invoke({})) as Reply;
    expect(reply.name).toBe("stack-Fn");
    expect(reply.execArgv).toEqual([]);
    expect(reply.env.filter((k) => !["NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE"].includes(k))).toEqual(
      ["AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "ONLY", "_HANDLER"],
    );
    await expect(fn.invoke({ fail: "x" })).rejects.toThrow("TypeError: refused x");
  });

  it("serve one invocation at a time each, and start more only up to the limit", async () => {
    const until = join(folder, "released");
    const one = start(1);
    const held = one.invoke({ until });
    const queued = one.invoke({});
    const two = start(2);
    const a = two.invoke({ until }) as Promise<Reply>;
    const b = (await two.invoke({})) as Reply;
    writeFileSync(until, "");
    expect((await a).pid).not.toBe(b.pid);
    expect(((await held) as Reply).pid).toBe(((await queued) as Reply).pid);
    expect(two.counts.coldStarts).toBe(2);
    expect(one.counts.coldStarts).toBe(1);
  });

  it("end the invocations in process and those waiting when stopped", async () => {
    const one = start(1);
    const held = one.invoke({ until: join(folder, "never") });
    const queued = one.invoke({});
    const outcomes = Promise.allSettled([held, queued]);
    await one.close();
    const [h, q] = await outcomes;
    expect(h.status === "rejected" && String(h.reason)).toContain("exited");
    expect(q.status === "rejected" && String(q.reason)).toContain("stopped");
  });

  it("replace an environment that crashed with a fresh one", async () => {
    let crashes = 1;
    const fn = start(1, () => crashes-- > 0);
    await expect(fn.invoke({})).rejects.toThrow("crashed");
    expect(((await fn.invoke({})) as Reply).pid).toBeGreaterThan(0);
    expect(fn.counts.coldStarts).toBe(2);
  });
});
