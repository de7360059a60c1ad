import type { Engine } from "floe";
import { startLocalCloudRuntime } from "../../sdk/local-cloud/local-cloud.ts";
import type { Runtime } from "../../sdk/runtime/runtime.ts";
import { conformance, runtimeOf } from "./suite.ts";
import { inlineConformance } from "./inline.ts";
import { emulatorsForFile } from "../support/file-emulators.ts";

// One set of emulators for the file; each test gets its own table, queues and bucket.
const emulators = emulatorsForFile();
let clouds = 0;

/** Per cloud, the messages sent to each task's queue and the invocations of each worker. */
const tallies = new Map<Runtime, { messages: Map<string, number>; invocations: Map<string, number> }>();
const add = (counts: Map<string, number>, key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);

const localCloud = {
  name: "local cloud (DynamoDB Local, SQS and S3 servers, the real handlers)",
  create: async ({ concurrency }: { readonly concurrency?: number }) => {
    clouds += 1;
    const prefix = `c${clouds}`;
    const tally = { messages: new Map<string, number>(), invocations: new Map<string, number>() };
    const cloud = await startLocalCloudRuntime({
      endpoints: emulators.endpoints,
      prefix,
      concurrency: concurrency ?? 64,
      suspendAfterMs: 0,
      onInvoke: (name) => add(tally.invocations, name),
      instrument: ({ sqs }) =>
        sqs.middlewareStack.add(
          (next, context) => async (args) => {
            const input = args.input as { QueueUrl?: string; Entries?: unknown[] };
            const sends = { SendMessageCommand: 1, SendMessageBatchCommand: input.Entries?.length ?? 0 }[context.commandName ?? ""];
            if (sends !== undefined && input.QueueUrl !== undefined) add(tally.messages, input.QueueUrl.slice(input.QueueUrl.lastIndexOf("/") + 1), sends);
            return next(args);
          },
          { step: "initialize", name: "conformanceSends" },
        ),
    });
    tallies.set(cloud, tally);
    return cloud;
  },
  suspends: true,
  hops: (engine: Engine, taskName: string) => {
    const tally = tallies.get(runtimeOf(engine));
    const queue = [...(tally?.messages.keys() ?? [])].filter((name) => name.endsWith(`-${taskName}`));
    return {
      messages: queue.reduce((sum, name) => sum + (tally?.messages.get(name) ?? 0), 0),
      invocations: tally?.invocations.get(`worker:${taskName}`) ?? 0,
    };
  },
};

conformance(localCloud);
inlineConformance(localCloud);
