/**
 * The runtime side of a local Lambda process, as source: the host writes it to the
 * function's runtime folder (Lambda's `/var/runtime`, apart from the task's code) and forks
 * plain Node on it, with no loader of the host's, so the bundle runs as Lambda's Node
 * runtime runs it. At start it imports the handler's module from `LAMBDA_TASK_ROOT` (the
 * `_HANDLER` setting, `index.handler`), then serves one invocation at a time over IPC.
 */

/** What the host sends: one invocation. */
export interface InvokeMessage {
  readonly id: number;
  readonly event: unknown;
  /** When Lambda would stop the invocation, epoch milliseconds. */
  readonly deadline: number;
  /** The function's ARN, for the context (Lambda sets no variable for it). */
  readonly arn: string;
}

/** What the process sends back. */
export type ReplyMessage =
  | { readonly type: "ready" }
  | { readonly type: "init-error"; readonly error: ErrorJson }
  | { readonly type: "result"; readonly id: number; readonly result: unknown }
  | { readonly type: "error"; readonly id: number; readonly error: ErrorJson };

/** An error as Lambda reports it: `errorType`, `errorMessage`, `stack`. */
export interface ErrorJson {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stack?: string;
}

/** The bootstrap's source (an ES module). */
export const bootstrapSource = String.raw`
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const describe = (error) => ({
  errorType: error instanceof Error ? error.name : typeof error,
  errorMessage: error instanceof Error ? error.message : String(error),
  ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
});
const send = (message) => new Promise((resolve) => process.send(message, resolve));

const root = process.env.LAMBDA_TASK_ROOT;
const setting = process.env._HANDLER ?? "";
const dot = setting.lastIndexOf(".");
const [file, name] = [setting.slice(0, dot), setting.slice(dot + 1)];
let handler;
try {
  const entry = [".mjs", ".js", ".cjs"].map((ext) => join(root, file + ext)).find((path) => existsSync(path));
  if (entry === undefined) throw new Error("no module " + file + " (.mjs, .js, .cjs) in " + root + " for the handler " + setting);
  handler = (await import(pathToFileURL(entry).href))[name];
  if (typeof handler !== "function") throw new Error("the module " + entry + " exports no function " + name + " (the handler " + setting + ")");
} catch (error) {
  await send({ type: "init-error", error: describe(error) });
  process.exit(1);
}

let count = 0;
process.on("message", async ({ id, event, deadline, arn }) => {
  count += 1;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    awsRequestId: process.pid + "-" + count,
    invokedFunctionArn: arn,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(event, context);
    await send({ type: "result", id, result: result ?? null });
  } catch (error) {
    await send({ type: "error", id, error: describe(error) });
  }
});
await send({ type: "ready" });
`;
