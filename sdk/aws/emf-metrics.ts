/**
 * Per-task figures in CloudWatch's embedded metric format (EMF): JSON lines on stdout that
 * CloudWatch Logs turns into metrics, with no API call from the worker. A worker runs
 * several executions per invocation (a batch of messages, inline tasks of other names), so
 * the figures are kept per task and written once per invocation, when the handler is done
 * with its batch, failed messages included: one line per task (more when a task has over
 * 100 values of a figure, EMF's limit per line).
 *
 * Written here rather than with Powertools Metrics: a Powertools instance holds one set of
 * dimensions, cleared at every flush (its own automatic one at 100 values included), so
 * per-task lines in one invocation would need an instance per task and dimensions re-added
 * around each flush; and `POWERTOOLS_DEV`, which users set for Powertools Logger's readable
 * output, silently turns its metrics off.
 */
import type { ExecutionRecord } from "../engine/model.ts";
import { AttemptEnding, queueWaitMs, type AttemptWatch, type AttemptWatcher } from "../runtime/attempt-watch.ts";

/** The metric names floe writes, each with the dimension sets of {@link EMF_DIMENSIONS}. */
export const FloeMetric = {
  /** Attempts started (a re-run after a suspension or a sleep is one too). */
  Started: "Started",
  /** Attempts that completed their execution. */
  Completed: "Completed",
  /** Attempts that failed their execution: no retry left. */
  Failed: "Failed",
  /** Attempts that failed, with a retry to follow. */
  Retried: "Retried",
  /** Milliseconds from when an attempt was due (queued, its delay over) to its start. */
  QueueWait: "QueueWait",
  /** Milliseconds from an attempt's start to its end. */
  Duration: "Duration",
} as const;
export type FloeMetric = (typeof FloeMetric)[keyof typeof FloeMetric];

/** The dimensions: the deployment (whole-deployment graphs), and the deployment and task (per-task graphs). */
export const EMF_DIMENSIONS = [["Deployment"], ["Deployment", "Task"]] as const;

/** EMF's limit of values per metric in one line. */
const VALUES_PER_LINE = 100;

/** The settings of {@link EmfMetrics}. */
export interface EmfMetricsOptions {
  /** The CloudWatch namespace, e.g. `floe`. */
  readonly namespace: string;
  /** The `Deployment` dimension's value: the orchestrator's name. */
  readonly deployment: string;
  /**
   * Where each line goes.
   * @default a write to stdout, which Lambda sends to the function's log group
   */
  readonly write?: (line: string) => void;
  /**
   * The time of each line, epoch milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** One task's figures since the last flush. */
interface TaskFigures {
  counts: Record<"Started" | "Completed" | "Failed" | "Retried", number>;
  queueWait: number[];
  duration: number[];
}

/** Counts attempts per task and writes them as EMF lines; see the file comment. */
export class EmfMetrics implements AttemptWatcher {
  readonly #o: EmfMetricsOptions;
  readonly #write: (line: string) => void;
  #byTask = new Map<string, TaskFigures>();

  /** @param options - see {@link EmfMetricsOptions} */
  constructor(options: EmfMetricsOptions) {
    this.#o = options;
    this.#write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  start(record: ExecutionRecord, at: number): AttemptWatch {
    const figures = this.#figures(record.taskName);
    figures.counts.Started += 1;
    const wait = queueWaitMs(record, at);
    if (wait !== undefined) figures.queueWait.push(wait);
    return {
      end: (end) => {
        // Looked up again: a flush since the start may have replaced the task's figures.
        const now = this.#figures(record.taskName);
        now.duration.push(Math.max(0, end.at - at));
        if (end.ending === AttemptEnding.Completed) now.counts.Completed += 1;
        else if (end.ending === AttemptEnding.Failed) now.counts.Failed += 1;
        else if (end.ending === AttemptEnding.Retried) now.counts.Retried += 1;
      },
    };
  }

  #figures(taskName: string): TaskFigures {
    let figures = this.#byTask.get(taskName);
    if (figures === undefined) {
      figures = { counts: { Started: 0, Completed: 0, Failed: 0, Retried: 0 }, queueWait: [], duration: [] };
      this.#byTask.set(taskName, figures);
    }
    return figures;
  }

  /** Writes every task's figures since the last flush, and forgets them. */
  flush(): void {
    const byTask = this.#byTask;
    this.#byTask = new Map();
    const timestamp = (this.#o.now ?? Date.now)();
    for (const [task, figures] of byTask) {
      const lines = Math.max(1, Math.ceil(figures.queueWait.length / VALUES_PER_LINE), Math.ceil(figures.duration.length / VALUES_PER_LINE));
      for (let i = 0; i < lines; i += 1) {
        const slice = (values: number[]) => values.slice(i * VALUES_PER_LINE, (i + 1) * VALUES_PER_LINE);
        // Counts go in the first line only; zeros too, so a failure rate has no missing data.
        const values: Record<string, number | number[]> = i === 0 ? { ...figures.counts } : {};
        const [queueWait, duration] = [slice(figures.queueWait), slice(figures.duration)];
        if (queueWait.length > 0) values[FloeMetric.QueueWait] = queueWait;
        if (duration.length > 0) values[FloeMetric.Duration] = duration;
        this.#write(JSON.stringify(this.#line(timestamp, task, values)));
      }
    }
  }

  #line(timestamp: number, task: string, values: Record<string, number | number[]>): Record<string, unknown> {
    const metrics = Object.keys(values).map((name) => ({
      Name: name,
      Unit: name === FloeMetric.QueueWait || name === FloeMetric.Duration ? "Milliseconds" : "Count",
    }));
    return {
      _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: this.#o.namespace, Dimensions: EMF_DIMENSIONS, Metrics: metrics }] },
      Deployment: this.#o.deployment,
      Task: task,
      ...values,
    };
  }
}
