/**
 * The {@link LogReader} of the API on AWS: reads an execution's lines back from its
 * workers' CloudWatch log groups with `FilterLogEvents`. Each worker writes JSON lines
 * (`StdoutLogSink`), so a JSON filter pattern on the execution id (and the attempt) selects
 * them on the service's side; the search is bounded in time by the execution's creation and
 * end (plus a margin for clock skew and Lambda's delivery), and in cost by a cap on lines
 * and requests.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { LogPage, LogQuery, LogReader } from "../logs/execution-logs.ts";
import { parseJsonLine, type TaggedLine } from "../logs/log-line.ts";

/** The most lines one read returns; a read that stops here says so (`truncated`). */
export const MAX_LINES_READ = 1_000;
/** The most `FilterLogEvents` requests per log group in one read (pages may be empty). */
export const MAX_REQUESTS_PER_GROUP = 10;
/** Added before an execution's creation and after its end, for clock skew and late delivery. */
export const WINDOW_MARGIN_MS = 5 * 60_000;

/** The settings of a {@link CloudWatchLogReader}. */
export interface CloudWatchLogReaderOptions {
  /** The client, or how to make it on first use (the API loads the SDK only when logs are read). */
  readonly client: CloudWatchLogsClient | (() => Promise<CloudWatchLogsClient>);
  /** The log group of the worker of a task. */
  readonly logGroupOf: (taskName: string) => string;
  /** Now, for an unfinished execution's window. */
  readonly now: () => number;
}

/** Reads lines back with `FilterLogEvents`; see the file comment. */
export class CloudWatchLogReader implements LogReader {
  readonly #o: CloudWatchLogReaderOptions;
  #client: Promise<CloudWatchLogsClient> | undefined;

  /** @param options - see {@link CloudWatchLogReaderOptions} */
  constructor(options: CloudWatchLogReaderOptions) {
    this.#o = options;
  }

  async read(query: LogQuery): Promise<LogPage> {
    const { record } = query;
    // An inline execution's lines are in the log group of the worker that ran it.
    const groups = [...new Set([record.taskName, ...(query.inlineHosts ?? [])].map(this.#o.logGroupOf))];
    const window = { startTime: record.createdAt - WINDOW_MARGIN_MS, endTime: (record.finishedAt ?? this.#o.now()) + WINDOW_MARGIN_MS };
    const pattern = filterPattern(record.id, query.attempt);
    const lines: TaggedLine[] = [];
    let truncated = false;
    for (const group of groups) {
      const found = await this.#readGroup(group, pattern, window, MAX_LINES_READ - lines.length);
      lines.push(...found.lines.filter((line) => line.tags.executionId === record.id && (query.attempt === undefined || line.tags.attempt === query.attempt)));
      truncated ||= found.truncated;
      if (lines.length >= MAX_LINES_READ) break;
    }
    lines.sort((a, b) => a.at - b.at);
    return { lines, ...(truncated ? { truncated } : {}) };
  }

  async #readGroup(group: string, filterPattern: string, window: { startTime: number; endTime: number }, max: number): Promise<{ lines: TaggedLine[]; truncated: boolean }> {
    const { FilterLogEventsCommand } = await import("@aws-sdk/client-cloudwatch-logs");
    const client = await this.#clientOnce();
    const lines: TaggedLine[] = [];
    let nextToken: string | undefined;
    for (let request = 0; request < MAX_REQUESTS_PER_GROUP; request += 1) {
      let page;
      try {
        page = await client.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern, ...window, limit: Math.min(max - lines.length, 10_000), nextToken }));
      } catch (error) {
        // A worker that never ran has no log group yet: it wrote nothing.
        if ((error as Error).name === "ResourceNotFoundException") return { lines, truncated: false };
        throw error;
      }
      for (const event of page.events ?? []) {
        const line = event.message === undefined ? undefined : parseJsonLine(event.message.trim());
        if (line !== undefined) lines.push(line);
      }
      nextToken = page.nextToken;
      if (nextToken === undefined) return { lines, truncated: false };
      if (lines.length >= max) return { lines: lines.slice(0, max), truncated: true };
    }
    return { lines, truncated: true };
  }

  #clientOnce(): Promise<CloudWatchLogsClient> {
    const { client } = this.#o;
    this.#client ??= typeof client === "function" ? client() : Promise.resolve(client);
    return this.#client;
  }
}

/**
 * The JSON filter pattern of an execution's lines: `{ $.floe.executionId = "<id>" }`, and
 * `&& $.floe.attempt = <n>` for one attempt. Ids are floe's own (letters, digits and a few
 * marks); a quote or backslash in one would end the string early, so they are escaped.
 */
export function filterPattern(executionId: string, attempt?: number): string {
  const id = executionId.replace(/["\\]/g, (c) => `\\${c}`);
  return attempt === undefined ? `{ $.floe.executionId = "${id}" }` : `{ $.floe.executionId = "${id}" && $.floe.attempt = ${attempt} }`;
}
