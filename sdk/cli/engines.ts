/** The engines the `floe` command runs workflows on, and how it parses workflow arguments. */
import { createEmbeddedRuntime } from "../embedded/embedded-engine.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { ErrorCode, errorCode } from "../errors.ts";
import { CliError, ExitCode } from "./cli-error.ts";

/** Which engine to open. */
export interface EngineChoice {
  /** The AWS code path on local emulators instead of the embedded engine. */
  readonly localCloud?: boolean;
  /** A cloud assembly (`cdk.out`) whose bundles to run, each function in its own processes. */
  readonly bundles?: string;
  /** With `bundles`: the stack, when the assembly holds several. */
  readonly stack?: string;
  readonly concurrency?: number;
  /** With `localCloud`: the folder that keeps the runs across restarts. */
  readonly data?: string;
  /** The base of external executions' callback URLs: the dev server's URL. */
  readonly callbackBaseUrl?: string;
  /** On the embedded engine, print the lines tasks log as well as keeping them. @default true */
  readonly printLogs?: boolean;
  /**
   * On the embedded engine: run `runner: "worker"` tasks on this many worker threads, each
   * importing `module` (the module being run). The local cloud and bundles run every task
   * in a process of its function's already, so they refuse it.
   */
  readonly workers?: { readonly count: number; readonly module: string };
}

/**
 * Opens the embedded engine, or the local cloud (DynamoDB Local, SQS and S3 servers, the
 * real handlers). The local cloud is imported only when asked for: it pulls in the AWS SDK.
 *
 * @throws CliError `Unreachable` when the local cloud cannot start (no Java 17, say), `BadInput` for `--data` without `--local-cloud` or a folder that cannot hold the data
 */
export async function openEngine(choice: EngineChoice): Promise<Runtime> {
  const concurrency = {
    ...(choice.concurrency === undefined ? {} : { concurrency: choice.concurrency }),
    ...(choice.callbackBaseUrl === undefined ? {} : { callbackBaseUrl: choice.callbackBaseUrl }),
  };
  if (choice.data !== undefined && choice.localCloud !== true) {
    throw new CliError(ExitCode.BadInput, `--data keeps the local cloud's runs: add --local-cloud, or leave out --data ${choice.data}`);
  }
  if (choice.workers !== undefined && (choice.localCloud === true || choice.bundles !== undefined)) {
    throw new CliError(
      ExitCode.BadInput,
      `--workers is for the embedded engine: on ${choice.localCloud === true ? "--local-cloud" : "--bundles"} every task runs in its own ` +
        "function's processes already, so leave out --workers",
    );
  }
  if (choice.localCloud !== true && choice.bundles === undefined) {
    return createEmbeddedRuntime({
      ...concurrency,
      ...(choice.printLogs === false ? { printLogs: false } : {}),
      ...(choice.workers === undefined ? {} : { workers: choice.workers }),
    });
  }
  summariseSdkNotice();
  if (choice.bundles !== undefined) return openBundles(choice.bundles, choice);
  const { startLocalCloudRuntime } = await import("../local-cloud/local-cloud.ts");
  try {
    return await startLocalCloudRuntime({ ...concurrency, ...(choice.data === undefined ? {} : { dataDir: choice.data }) });
  } catch (error) {
    if (errorCode(error) === ErrorCode.InvalidOption) throw new CliError(ExitCode.BadInput, `--data: ${(error as Error).message}`, { cause: error });
    throw new CliError(
      ExitCode.Unreachable,
      `cannot start the local cloud: ${(error as Error).message}; it needs Java 17 for DynamoDB Local (apt-get install openjdk-17-jre-headless)`,
      { cause: error },
    );
  }
}

/**
 * The bundled cloud's client: `close()` stops the functions and the emulators. With
 * `--bundles`, `--concurrency` is how many processes each function may run at once.
 */
async function openBundles(assembly: string, choice: EngineChoice): Promise<Runtime> {
  if (choice.localCloud === true) {
    throw new CliError(ExitCode.BadInput, "--bundles and --local-cloud exclude each other: --bundles runs the app's bundles on the local emulators already");
  }
  const { startBundledCloud } = await import("../local-cloud/index.ts");
  try {
    const cloud = await startBundledCloud({
      assembly,
      ...(choice.stack === undefined ? {} : { stack: choice.stack }),
      ...(choice.concurrency === undefined ? {} : { concurrency: choice.concurrency }),
      // The functions' FLOE_API_URL: callback URLs then name the `floe dev` server.
      ...(choice.callbackBaseUrl === undefined ? {} : { apiUrl: choice.callbackBaseUrl }),
    });
    return cloud.client;
  } catch (error) {
    if (errorCode(error) === ErrorCode.InvalidOption) throw new CliError(ExitCode.BadInput, (error as Error).message, { cause: error });
    throw new CliError(ExitCode.Unreachable, `cannot run the bundles of ${assembly}: ${(error as Error).message}`, { cause: error });
  }
}

/** The AWS SDK's switch for its notice that its later releases need a newer Node. */
const sdkNoticeSwitch = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/**
 * Says once, in one line with the fix, what the AWS SDK would say in eight, in this process
 * and in every function process it starts (each inherits the switch): on Node 20 its notice
 * that its releases after the first week of January 2027 need Node 22 would otherwise come
 * with every command, and under `--bundles` from every function.
 */
function summariseSdkNotice(): void {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 22 || process.env[sdkNoticeSwitch] === "true") return;
  process.env[sdkNoticeSwitch] = "true";
  process.stderr.write(
    `floe: the AWS SDK's releases after the first week of January 2027 need Node 22 or newer, and this is Node ${process.versions.node}: ` +
      `upgrade Node to keep getting them (${sdkNoticeSwitch}=true silences this line)\n`,
  );
}

/** What an engine is called in messages. */
export function engineName(choice: EngineChoice): string {
  if (choice.bundles !== undefined) return `the bundles of ${choice.bundles}`;
  return choice.localCloud === true ? "the local cloud" : "the embedded engine";
}

/**
 * Workflow arguments from the command line: each is JSON where it parses as JSON (`42`,
 * `true`, `{"a":1}`, `"u1"`), else the text itself (`u1`).
 *
 * @throws CliError `BadInput` for an argument that starts like a JSON object, array or
 *   string but does not parse: a typo there should not silently become a string
 */
export function parseArgs(raw: readonly string[]): unknown[] {
  return raw.map((text, i) => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      if (/^\s*[[{"]/.test(text)) {
        throw new CliError(
          ExitCode.BadInput,
          `argument ${i + 1} (${text}) looks like JSON but does not parse: ${(error as Error).message}; ` +
            `fix the JSON, or pass a plain string as '"…"' with its quotes escaped`,
        );
      }
      return text;
    }
  });
}
