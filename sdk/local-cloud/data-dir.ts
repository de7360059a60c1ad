/**
 * The local cloud's data folder (`LocalCloudOptions.dataDir`, `floe dev --local-cloud
 * --data <dir>`), so that runs outlive the process: DynamoDB Local keeps its tables in
 * `<dir>/dynamodb` and the S3 server its objects in `<dir>/s3`. The SQS server keeps its
 * messages in memory, so a new process sends again the message of every execution whose
 * message the previous one held (see {@link resendUnfinished}). A lock file keeps a second
 * process off a folder in use.
 */
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ScanCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { State, type TaskMessage } from "../engine/model.ts";
import type { TaskQueue } from "../engine/ports.ts";
import { MAX_DELAY_SECONDS } from "../aws/sqs-task-queue.ts";
import { ErrorCode, FloeError } from "../errors.ts";

/** A prepared data folder: where each emulator keeps its data, and how to let go of it. */
export interface DataDir {
  readonly dynamodb: string;
  readonly s3: string;
  /** Removes the lock file. */
  release(): Promise<void>;
}

/**
 * Creates the folder and its parts if missing, checks it can be written, and locks it.
 *
 * @throws FloeError `FLOE_INVALID_OPTION` naming the folder, what is wrong and the fix, with nothing started
 */
export async function openDataDir(dir: string): Promise<DataDir> {
  const absolute = resolve(dir);
  const found = await stat(absolute).catch(() => undefined);
  if (found !== undefined && !found.isDirectory()) throw unusable(dir, "it is a file, not a folder");
  const dynamodb = join(absolute, "dynamodb");
  const s3 = join(absolute, "s3");
  const lock = join(absolute, "floe.lock");
  try {
    await mkdir(dynamodb, { recursive: true });
    await mkdir(s3, { recursive: true });
    // Root can write anywhere whatever the mode bits say: only a write tells.
    const probe = join(absolute, `.floe-write-check-${process.pid}`);
    await writeFile(probe, "");
    await rm(probe);
  } catch (error) {
    throw unusable(dir, `it cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const holder = Number((await readFile(lock, "utf8").catch(() => "")).trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
    throw unusable(dir, `another local cloud (process ${holder}) is using it; stop that one, or give another folder`);
  }
  await writeFile(lock, String(process.pid));
  return { dynamodb, s3, release: () => rm(lock, { force: true }) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function unusable(dir: string, problem: string): FloeError {
  return new FloeError(
    ErrorCode.InvalidOption,
    `the data folder "${dir}" cannot hold the local cloud's data: ${problem}; ` +
      "give a folder floe can create or write to, or leave it out to keep everything in memory",
  );
}

/**
 * Sends again the message of every execution whose message the previous process's SQS
 * server held when it stopped: each `queued` one (delayed until its attempt is due), each
 * `sleeping` one (delayed until its wake time), and each `running` one that came from a
 * queue, whose attempt died with that process and is taken over as after a crash, once it
 * is `takeOverAfterMs` old (the message is delayed until then). A running inline execution had no message: its caller's re-run takes it
 * over. Each `suspended` one gets its attempt's message too, which runs it again: the
 * previous process may have stopped between its suspension's write and its await edges,
 * which no upstream would then release (a suspension armed in full is merely re-run, and
 * suspends again). Waiting executions are released as always, by the coordinator, which
 * reads the table's stream from its start. A message sent twice is dropped at claim.
 *
 * @returns the ids of the executions whose message was sent
 */
export async function resendUnfinished(
  client: DynamoDBClient,
  tableName: string,
  queue: TaskQueue,
  takeOverAfterMs: number,
  now = Date.now(),
): Promise<string[]> {
  const byDelay = new Map<number, TaskMessage[]>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    // A development folder's table is small: one scan, paged, at start only.
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: start,
        FilterExpression: "#type = :execution AND #state IN (:queued, :sleeping, :running, :suspended)",
        ProjectionExpression: "id, taskName, attempt, #state, notBefore, queuedAt, startedAt",
        ExpressionAttributeNames: { "#type": "type", "#state": "state" },
        ExpressionAttributeValues: {
          ":execution": { S: "execution" },
          ":queued": { S: State.Queued },
          ":sleeping": { S: State.Sleeping },
          ":running": { S: State.Running },
          ":suspended": { S: State.Suspended },
        },
      }),
    );
    for (const item of page.Items ?? []) {
      const record = unmarshall(item) as { id: string; taskName: string; attempt: number; state: string; notBefore?: number; queuedAt?: number; startedAt?: number };
      if (record.state === State.Running && record.queuedAt === undefined) continue;
      const due =
        record.state === State.Running ? (record.startedAt ?? now) + takeOverAfterMs : record.state === State.Suspended ? now : (record.notBefore ?? now);
      const delay = Math.min(Math.max(0, due - now), MAX_DELAY_SECONDS * 1000);
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), { executionId: record.id, taskName: record.taskName, attempt: record.attempt }]);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  await Promise.all([...byDelay].map(async ([delay, messages]) => queue.send(messages, delay > 0 ? delay : undefined)));
  return [...byDelay.values()].flat().map((m) => m.executionId);
}
