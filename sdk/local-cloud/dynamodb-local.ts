/**
 * DynamoDB Local, AWS's own emulator, run with Java on a free port. The jar ships in the
 * npm package `amplify-dynamodb-simulator`; only its `emulator/` folder is unpacked, into
 * a cache folder, so the Amplify CLI it depends on is never installed.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";

const run = promisify(execFile);
const simulator = "amplify-dynamodb-simulator@2.9.30";

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /**
   * Where the emulator is unpacked and kept between runs.
   * @default node_modules/.cache/floe/dynamodb-local in the working directory
   */
  readonly cacheDir?: string;
  /**
   * How long to wait for it to answer, in milliseconds.
   * @default 60000
   */
  readonly startTimeoutMs?: number;
  /**
   * A folder (absolute, existing) to keep the tables in, so that they outlive the process;
   * one database for every access key and region (`-sharedDb`).
   * @default undefined: in memory, gone when it stops
   */
  readonly dbPath?: string;
}

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** Its endpoint, e.g. `http://127.0.0.1:41231`. */
  readonly endpoint: string;
  /** Stops the process. */
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local in memory (or in `dbPath`), telemetry off, on a free port.
 *
 * @throws Error naming the fix when Java is missing or the emulator cannot be fetched
 * @example
 * const ddb = await startDynamoDbLocal();
 * const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: "us-east-1" });
 * await ddb.stop();
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const dir = await ensureEmulator(options.cacheDir ?? resolve("node_modules/.cache/floe/dynamodb-local"));
  const port = await freePort();
  const child = spawn(
    "java",
    [
      "-Djava.library.path=./DynamoDBLocal_lib",
      "-jar",
      "DynamoDBLocal.jar",
      ...(options.dbPath === undefined ? ["-inMemory"] : ["-dbPath", options.dbPath, "-sharedDb"]),
      "-disableTelemetry",
      "-port",
      String(port),
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  // The emulator must not outlive this process, however it ends.
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  child.once("exit", () => process.removeListener("exit", kill));
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(child, endpoint, options.startTimeoutMs ?? 60_000, () => stderr);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { endpoint, stop: () => stop(child) };
}

async function ensureEmulator(cacheDir: string): Promise<string> {
  const dir = join(cacheDir, "emulator");
  if (existsSync(join(dir, "DynamoDBLocal.jar"))) return dir;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), "floe-ddb-"));
  try {
    const { stdout } = await run("npm", ["pack", simulator, "--silent", "--pack-destination", work]);
    const tarball = join(work, stdout.trim().split("\n").at(-1) ?? "");
    await run("tar", ["xzf", tarball, "-C", work, "package/emulator"]);
    // Unpacked beside the cache, then moved in one step: a run cut short leaves no half folder.
    await rename(join(work, "package", "emulator"), dir);
  } catch (error) {
    throw new Error(
      `could not fetch DynamoDB Local (${simulator}) with npm pack: ${(error as Error).message}; ` +
        "check that the npm registry is reachable, or point floe at a running emulator with AWS_ENDPOINT_URL_DYNAMODB",
      { cause: error },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitUntilReady(child: ChildProcess, endpoint: string, timeoutMs: number, stderr: () => string): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(new Error(`could not start Java for DynamoDB Local (${error.message}); install Java 17, e.g. apt-get install openjdk-17-jre-headless`)),
    );
    child.once("exit", (code) => reject(new Error(`DynamoDB Local exited with code ${String(code)}: ${stderr()}`)));
  });
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await Promise.race([client.send(new ListTablesCommand({})), exited]);
        return;
      } catch (error) {
        if (child.exitCode !== null || (error as Error).message.includes("could not start Java")) throw error;
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}
