/**
 * The bundled cloud: a synthesized CDK app's real Lambda bundles, run as Lambda runs them,
 * against emulators. The stack's template is read (`cdk.out`); its tables, buckets and
 * queues are created as it describes them; each function runs in Node processes of its
 * own ({@link LambdaFunction}) with only its template environment and what Lambda's runtime
 * sets; its event source mappings are driven as configured (an SQS mapping's batch size and
 * partial batch failures; a stream mapping's batch size, batching window, filter criteria
 * and bisection on error); and scheduled rules invoke their functions. What it returns is a
 * client of the stack, as a user's own code would be: it submits, reads and cancels, and runs
 * no task.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { S3Client } from "@aws-sdk/client-s3";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { CreateScheduleCommand, SchedulerClient, type CreateScheduleCommandInput } from "@aws-sdk/client-scheduler";
import type { DynamoDBRecord } from "aws-lambda";
import { finishedIn } from "../../functions/coordinator.ts";
import { createAwsRuntime, readEnvironment } from "../aws/aws-runtime.ts";
import { EnvironmentVariable } from "../aws/contract.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { compileFilter } from "./event-filter.ts";
import { bootstrapSource } from "./lambda-bootstrap.ts";
import { LambdaFunction, type FunctionSpec, type InvocationFaults } from "./lambda-process.ts";
import { startEmulators, type Endpoints } from "./local-cloud.ts";
import { account, provision, region, type Provisioned } from "./provision.ts";
import { QueuePoller } from "./queue-poller.ts";
import { StreamPoller } from "./stream-poller.ts";
import { startEventsEndpoint, type PublishedEvent } from "./events-endpoint.ts";
import { startSchedulerEndpoint } from "./scheduler-endpoint.ts";
import { startLogsEndpoint, type LogsEndpoint } from "./logs-endpoint.ts";
import { assetOf, readStack, resolveValue, resourcesOfType, scheduledTargets, text, type StackTemplate } from "./template.ts";

/** Options of {@link startBundledCloud}. */
export interface BundledCloudOptions {
  /** The cloud assembly `cdk synth` wrote: its folder (`cdk.out`). */
  readonly assembly: string;
  /** The stack to run; needed only when the assembly holds several. */
  readonly stack?: string;
  /** Endpoints of emulators already running; the services without one are started. */
  readonly endpoints?: Partial<Endpoints>;
  /**
   * The most execution environments (processes) of one function at once.
   * @default 2
   */
  readonly concurrency?: number;
  /**
   * The queues' visibility timeout in seconds (all, or by queue name) instead of the
   * template's: a test sees a failed delivery come back in seconds. The functions'
   * environment is left as synthesized.
   */
  readonly visibilityTimeoutSeconds?: number | ((queueName: string) => number | undefined);
  /**
   * What the functions get as `FLOE_API_URL` (the template's HTTP API endpoint), the base of
   * external executions' callback URLs: the URL that serves the API locally.
   * @default the endpoint CloudFormation would give the API, which nothing serves locally
   */
  readonly apiUrl?: string;
  /**
   * Called with the AWS clients before they are used (the client runtime's too): add
   * middleware to them, to count requests or inject faults.
   */
  readonly instrument?: (clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client }) => void;
  /** Told of each completion event the coordinator puts on EventBridge, served by a local `PutEvents` endpoint. */
  readonly onRunEvent?: (event: PublishedEvent) => void;
  /**
   * Whether scheduled rules invoke their functions on schedule ({@link BundledCloud.runScheduled} does it on demand).
   * @default true
   */
  readonly schedules?: boolean;
  /** Faults to inject into invocations. */
  readonly faults?: InvocationFaults;
  /**
   * Where the functions' output goes, line by line.
   * @default standard error, each line prefixed with the function's logical id
   */
  readonly log?: (logicalId: string, line: string) => void;
}

/** The running stack, and a client of it. `close()` stops everything it started. */
export interface BundledCloud {
  /** A client runtime of the stack: submit, result, getRun, getExecution, listRuns, cancel. */
  readonly client: Runtime;
  /** The functions, by path (a logical id, prefixed by its nested stack's path and `/`): their invocation and cold-start counts. */
  readonly functions: ReadonlyMap<string, LambdaFunction>;
  /** The physical names and ARNs the template's references resolved to, by resource path (`Nested/Id`, `Nested/Id.Arn` in a nested stack). */
  readonly refs: ReadonlyMap<string, string>;
  /** Where the emulators answer. */
  readonly endpoints: Endpoints;
  /** Invokes every function a scheduled rule targets (the reconciler), now; resolves to their results. */
  runScheduled(): Promise<unknown[]>;
  close(): Promise<void>;
}

const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/**
 * Starts a stack's bundles as Lambda would run them.
 *
 * @param options - the assembly, and what to override for tests
 * @example
 * const cloud = await startBundledCloud({ assembly: "cdk.out" });
 * console.log(await cloud.client.submit("process_order", "u1", "p1").result());
 * await cloud.close();
 */
export async function startBundledCloud(options: BundledCloudOptions): Promise<BundledCloud> {
  const stack = readStack(options.assembly, options.stack);
  const emulators = await startEmulators(options.endpoints);
  const { endpoints } = emulators;
  // One key for every service: s3rver accepts only its own, DynamoDB Local scopes tables by key.
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials, maxAttempts: 6 });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, region, credentials });
  const s3 = new S3Client({ endpoint: endpoints.s3, region, credentials, forcePathStyle: true });
  const streams = new DynamoDBStreamsClient({ endpoint: endpoints.dynamodb, region, credentials });
  options.instrument?.({ dynamodb, sqs, s3 });
  const work = mkdtempSync(join(tmpdir(), "floe-bundled-"));
  // Run in reverse: the last pushed stops first, the emulators last of all.
  const stops: (() => Promise<unknown> | void)[] = [
    () => emulators.stop(),
    () => [dynamodb, sqs, s3, streams].forEach((client) => client.destroy()),
    () => rmSync(work, { recursive: true, force: true }),
    () => makeWritable(work),
  ];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (error) {
        // One step failing must not leave the emulators or processes behind.
        console.error("floe bundled cloud: stopping failed in part", error);
      }
    }
  };
  try {
    const visibility = options.visibilityTimeoutSeconds;
    const provisioned = await provision(stack, { dynamodb, sqs, s3 }, typeof visibility === "number" ? () => visibility : visibility, {
      ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
    });
    // The coordinator publishes completion events: to a local endpoint, never to AWS.
    const events = await startEventsEndpoint({ onEvent: options.onRunEvent ?? (() => undefined) });
    stops.push(() => events.close());
    const scheduler = await startScheduler(stack, provisioned, sqs);
    stops.push(() => scheduler.close());
    // Each function's output is kept in its log group, where the API reads task logs back.
    const logs = await startLogsEndpoint();
    stops.push(() => logs.close());
    const functions = startFunctions(stack, provisioned, { ...endpoints, events: events.url, scheduler: scheduler.url, logs }, work, options);
    stops.push(() => Promise.all([...functions.values()].map((fn) => fn.close())));
    const byName = new Map([...functions.values()].map((fn) => [fn.spec.name, fn]));
    const pollers = driveMappings(stack, provisioned, byName, { sqs, streams });
    stops.push(() => Promise.all(pollers.map((poller) => poller.stop())));
    const scheduled = scheduledTargets(stack, provisioned.resolverFor).flatMap(({ arn, everyMs }) => {
      const fn = byName.get(arn.split(":").at(-1) ?? "");
      return fn === undefined ? [] : [{ fn, everyMs }];
    });
    const runScheduled = () => Promise.all(scheduled.map(({ fn }) => fn.invoke(scheduledEvent(fn.spec))));
    if (options.schedules !== false) {
      const timers = scheduled.map(({ fn, everyMs }) => setInterval(() => {
        fn.invoke(scheduledEvent(fn.spec)).catch((error: unknown) => console.error(`floe bundled cloud: ${fn.spec.logicalId} failed`, error));
      }, everyMs));
      timers.forEach((timer) => timer.unref());
      stops.push(() => timers.forEach((timer) => clearInterval(timer)));
    }
    const client = await startClient(stack, functions, { dynamodb, sqs, s3, streams }, logs, stop);
    return { client, functions, refs: provisioned.refs, endpoints, runScheduled, close: () => client.close() };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Copies each function's asset to a read-only folder and prepares its processes. */
function startFunctions(
  stack: StackTemplate,
  provisioned: Provisioned,
  endpoints: Endpoints & { readonly events: string; readonly scheduler: string; readonly logs: LogsEndpoint },
  work: string,
  options: BundledCloudOptions,
): Map<string, LambdaFunction> {
  const runtimeDir = join(work, "runtime");
  mkdirSync(runtimeDir, { recursive: true });
  const bootstrap = join(runtimeDir, "bootstrap.mjs");
  writeFileSync(bootstrap, bootstrapSource);
  const log = options.log ?? ((id: string, line: string) => process.stderr.write(`[${id}] ${line}\n`));
  const functions = new Map<string, LambdaFunction>();
  for (const [id, resource] of resourcesOfType(stack, "AWS::Lambda::Function")) {
    const p = resource.Properties ?? {};
    const taskRoot = join(work, "functions", id.replaceAll("/", "-"));
    cpSync(assetOf(stack, id), taskRoot, { recursive: true });
    makeReadOnly(taskRoot);
    const name = provisioned.resolve(id) as string;
    const variables = resolveValue((p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}, provisioned.resolverFor(id)) as Record<string, unknown>;
    const memory = text(p.MemorySize) ?? "128";
    const handler = text(p.Handler) ?? "index.handler";
    const environment: Record<string, string> = {
      ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      // What Lambda's runtime sets in every function.
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: memory,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_LOG_GROUP_NAME: logGroupOf(stack, id, name),
      AWS_LAMBDA_LOG_STREAM_NAME: `local/${id}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_EXECUTION_ENV: `AWS_Lambda_${text(p.Runtime) ?? "nodejs22.x"}`,
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: "1",
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: runtimeDir,
      _HANDLER: handler,
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      // Where the services answer: the emulators.
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events,
      AWS_ENDPOINT_URL_SCHEDULER: endpoints.scheduler,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs.url,
      // The AWS SDK's warning on Node 20, silenced here only when the host silences it.
      ...(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined
        ? {}
        : { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED }),
    };
    const spec: FunctionSpec = {
      logicalId: id,
      name,
      arn: provisioned.resolve(`${id}.Arn`) as string,
      taskRoot,
      bootstrap,
      environment,
      timeoutSeconds: Number(p.Timeout ?? 3),
      concurrency: Math.max(1, options.concurrency ?? 2),
    };
    const group = logGroupOf(stack, id, name);
    functions.set(id, new LambdaFunction(spec, options.faults ?? {}, (line) => {
      log(id, line);
      endpoints.logs.append(group, line, `local/${id}`);
    }));
  }
  return functions;
}

/**
 * The local Scheduler, with the stack's schedule groups and its workflows' schedules as
 * the template describes them (so the API function pauses and resumes them): a fired
 * wake-up is sent to the queue its target names. Recurring schedules are kept, not fired.
 */
async function startScheduler(stack: StackTemplate, provisioned: Provisioned, sqs: SQSClient): Promise<{ url: string; close(): Promise<void> }> {
  const endpoint = await startSchedulerEndpoint({
    groups: resourcesOfType(stack, "AWS::Scheduler::ScheduleGroup").map(([id]) => provisioned.resolve(id) as string),
    deliver: async (arn, input) => {
      const url = provisioned.queueUrls.get(arn);
      if (url === undefined) throw new Error(`floe bundled cloud: a schedule targets ${arn}, which is no queue of the stack`);
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: input }));
    },
  });
  const client = new SchedulerClient({ endpoint: endpoint.url, region, credentials });
  try {
    for (const [id, schedule] of resourcesOfType(stack, "AWS::Scheduler::Schedule")) {
      const p = resolveValue(schedule.Properties ?? {}, provisioned.resolverFor(id)) as Omit<CreateScheduleCommandInput, "Name">;
      await client.send(new CreateScheduleCommand({ ...p, Name: provisioned.resolve(id) as string }));
    }
  } catch (error) {
    await endpoint.close();
    throw error;
  } finally {
    client.destroy();
  }
  return endpoint;
}

/** Polls each event source mapping's queue or stream and invokes its function as configured. */
function driveMappings(
  stack: StackTemplate,
  provisioned: Provisioned,
  byName: Map<string, LambdaFunction>,
  clients: { readonly sqs: SQSClient; readonly streams: DynamoDBStreamsClient },
): (QueuePoller | StreamPoller)[] {
  const pollers: (QueuePoller | StreamPoller)[] = [];
  for (const [id, mapping] of resourcesOfType(stack, "AWS::Lambda::EventSourceMapping")) {
    const p = resolveValue(mapping.Properties ?? {}, provisioned.resolverFor(id)) as Record<string, unknown>;
    if (p.Enabled === false) continue;
    const fn = byName.get(String(p.FunctionName).split(":").at(-1) ?? "");
    if (fn === undefined) throw new Error(`event source mapping ${id} names function ${String(p.FunctionName)}, which the stack does not define`);
    const source = String(p.EventSourceArn);
    const reportsFailures = Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes("ReportBatchItemFailures");
    const queueUrl = provisioned.queueUrls.get(source);
    if (queueUrl !== undefined) {
      const batchSize = Number(p.BatchSize ?? 10);
      const limit = (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? Infinity;
      const poller = new QueuePoller({
        sqs: clients.sqs,
        queues: { ready: () => [queueUrl], onCreated: () => undefined },
        handlerFor: () => async (event) => {
          const response = (await fn.invoke(event)) as { batchItemFailures?: { itemIdentifier: string }[] } | null;
          // Without ReportBatchItemFailures Lambda ignores the response: a batch that did not throw is done.
          return { batchItemFailures: reportsFailures ? (response?.batchItemFailures ?? []) : [] };
        },
        concurrency: batchSize * Math.min(limit, fn.spec.concurrency),
        batchSize,
      });
      poller.start();
      pollers.push(poller);
    } else if (source.includes(":dynamodb:") && source.includes("/stream/")) {
      const filter = compileFilter(p.FilterCriteria as { Filters?: { Pattern?: string }[] } | undefined);
      const poller = new StreamPoller({
        streams: clients.streams,
        streamArn: source,
        coordinator: (event) =>
          invokeBisecting(fn, event.Records.map((r) => lambdaRecord(r, source)), p.BisectBatchOnFunctionError === true, reportsFailures, (record, error) =>
            console.error(`floe bundled cloud: ${id} gave up stream record ${record.dynamodb?.SequenceNumber ?? "?"} (Lambda would send it to the on-failure destination)`, error),
          ),
        filter: (record) => filter(lambdaRecord(record, source)),
        batchSize: Number(p.BatchSize ?? 100),
        batchingWindowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1000,
      });
      poller.start();
      pollers.push(poller);
    } else {
      throw new Error(`event source mapping ${id} reads ${source}, which is neither a queue nor a table stream of the stack`);
    }
  }
  return pollers;
}

/**
 * Invokes `fn` with a stream batch; when it throws and the mapping bisects on error, each
 * half alone, as Lambda does to isolate a record that fails its batch. A lone record that
 * still throws is discarded (Lambda, its retries spent, sends it to the mapping's on-failure
 * destination) and the batch goes on past it.
 *
 * @param discard - told of each record given up
 */
export async function invokeBisecting(
  fn: Pick<LambdaFunction, "invoke">,
  records: DynamoDBRecord[],
  bisect: boolean,
  reportsFailures: boolean,
  discard: (record: DynamoDBRecord, error: unknown) => void,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  try {
    const response = (await fn.invoke({ Records: records })) as { batchItemFailures?: { itemIdentifier: string }[] } | null;
    return { batchItemFailures: reportsFailures ? (response?.batchItemFailures ?? []) : [] };
  } catch (error) {
    if (!bisect) throw error;
    const [only] = records;
    if (records.length === 1 && only !== undefined) {
      discard(only, error);
      return { batchItemFailures: [] };
    }
    const half = Math.ceil(records.length / 2);
    const first = await invokeBisecting(fn, records.slice(0, half), bisect, reportsFailures, discard);
    // A failure in the first half stops the batch there: the rest is retried from it.
    if (first.batchItemFailures.length > 0) return first;
    return invokeBisecting(fn, records.slice(half), bisect, reportsFailures, discard);
  }
}

/** A stream record as Lambda delivers it: its creation time in epoch seconds, its source named. */
function lambdaRecord(record: DynamoDBRecord, streamArn: string): DynamoDBRecord {
  const created = record.dynamodb?.ApproximateCreationDateTime as unknown;
  const seconds = created instanceof Date ? Math.floor(created.getTime() / 1000) : (created as number | undefined);
  return {
    ...record,
    eventVersion: "1.1",
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: { ...record.dynamodb, ...(seconds === undefined ? {} : { ApproximateCreationDateTime: seconds }) },
  };
}

function scheduledEvent(spec: FunctionSpec): object {
  return {
    version: "0",
    id: `local-${Date.now()}`,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account,
    time: new Date().toISOString(),
    region,
    resources: [spec.arn],
    detail: {},
  };
}

/**
 * The client: a runtime over the stack's table, bucket and queues (read from a floe
 * function's environment), woken by the table's stream when an execution finishes, since
 * it runs none itself.
 */
async function startClient(
  stack: StackTemplate,
  functions: Map<string, LambdaFunction>,
  clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client; readonly streams: DynamoDBStreamsClient },
  logs: LogsEndpoint,
  stop: () => Promise<void>,
): Promise<Runtime> {
  const floe = [...functions.values()].find((fn) => fn.spec.environment[EnvironmentVariable.TableName] !== undefined);
  if (floe === undefined) throw new Error(`stack ${stack.name} has no floe function (none sets ${EnvironmentVariable.TableName}): is it an app with floe's Orchestrator?`);
  // The API function's: where the workers' log groups are.
  const prefix = [...functions.values()].map((fn) => fn.spec.environment[EnvironmentVariable.WorkerLogGroupPrefix]).find((p) => p !== undefined);
  const env = readEnvironment({ ...floe.spec.environment, ...(prefix === undefined ? {} : { [EnvironmentVariable.WorkerLogGroupPrefix]: prefix }) });
  const logsClient = new CloudWatchLogsClient({ endpoint: logs.url, region, credentials });
  let subscription: StreamPoller | undefined;
  const client = createAwsRuntime(env, {
    clients,
    logsClient,
    onClose: async () => {
      await subscription?.stop();
      logsClient.destroy();
      await stop();
    },
  });
  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: env[EnvironmentVariable.TableName] }));
  if (Table?.LatestStreamArn !== undefined) {
    subscription = new StreamPoller({
      streams: clients.streams,
      streamArn: Table.LatestStreamArn,
      coordinator: async (event) => {
        for (const record of event.Records) {
          const id = finishedIn(record);
          if (id !== undefined) client.finishedElsewhere(id);
        }
        return { batchItemFailures: [] };
      },
      filter: (record) => finishedIn(record) !== undefined,
    });
    subscription.start();
  }
  return client;
}

/**
 * The log group a function writes to: the one its `LoggingConfig` names (a log group of the
 * template with a name of its own), else Lambda's default, `/aws/lambda/<function name>`.
 */
function logGroupOf(stack: StackTemplate, id: string, name: string): string {
  const ref = ((stack.resources[id]?.Properties?.LoggingConfig as { LogGroup?: { Ref?: unknown } } | undefined)?.LogGroup)?.Ref;
  // A resource of a nested stack is named by its path: the referenced log group shares it.
  const path = typeof ref === "string" ? `${id.includes("/") ? id.slice(0, id.lastIndexOf("/") + 1) : ""}${ref}` : undefined;
  const named = path === undefined ? undefined : text(stack.resources[path]?.Properties?.LogGroupName);
  return named ?? `/aws/lambda/${name}`;
}

function makeReadOnly(folder: string): void {
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) makeReadOnly(path);
    else chmodSync(path, 0o444);
  }
  chmodSync(folder, 0o555);
}

function makeWritable(folder: string): void {
  try {
    chmodSync(folder, 0o755);
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) makeWritable(path);
    }
  } catch {
    // Already gone.
  }
}
