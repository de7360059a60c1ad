/** `wait()` and `asCompleted()` over several executions. */
import { WaitMode, isTerminal, type ExecutionRecord } from "../engine/model.ts";
import type { Execution } from "./execution.ts";
import type { Runtime } from "./runtime.ts";

/**
 * Waits until every execution has finished, whatever its outcome. Inside a task the wait
 * holds no concurrency slot (or suspends the task, in the cloud).
 *
 * @param executions - the executions to wait for
 * @returns the same executions, all finished
 * @example
 * await wait(floors.map((f) => stopAtFloor.submit(f)));
 */
export async function wait<T extends Execution<unknown>>(executions: Iterable<T>): Promise<T[]> {
  const list = [...executions];
  for (const [runtime, group] of byRuntime(list)) {
    const context = runtime.contextOf();
    const records = await runtime.records(group);
    const open = group.filter((_, i) => !done(records[i]));
    if (open.length > 0) await runtime.block(context, open.map((e) => e.id), WaitMode.All);
  }
  return list;
}

/**
 * Yields each execution as it finishes, earliest first.
 *
 * @param executions - the executions to watch
 * @example
 * for await (const execution of asCompleted(downloads)) console.log(await execution.result());
 */
export async function* asCompleted<T extends Execution<unknown>>(executions: Iterable<T>): AsyncGenerator<T, void, undefined> {
  const remaining = new Map([...executions].map((e) => [e.id, e]));
  while (remaining.size > 0) {
    const pending = [...remaining.values()];
    const [runtime] = byRuntime(pending).keys();
    if (runtime === undefined) return;
    const context = runtime.contextOf();
    const records = await runtime.records(pending);
    const finished = pending
      .map((execution, i) => ({ execution, record: records[i] }))
      .filter((entry) => done(entry.record))
      .sort((a, b) => (a.record?.finishedAt ?? 0) - (b.record?.finishedAt ?? 0));
    for (const { execution } of finished) {
      remaining.delete(execution.id);
      yield execution;
    }
    if (finished.length === 0) await runtime.block(context, [...remaining.keys()], WaitMode.Any);
  }
}

/** A missing record counts as finished so that its `result()` reports the problem. */
function done(record: ExecutionRecord | undefined): boolean {
  return record === undefined || isTerminal(record.state);
}

function byRuntime<T extends Execution<unknown>>(executions: readonly T[]): Map<Runtime, T[]> {
  const groups = new Map<Runtime, T[]>();
  for (const execution of executions) {
    const runtime = execution.host as Runtime;
    const group = groups.get(runtime);
    if (group === undefined) groups.set(runtime, [execution]);
    else group.push(execution);
  }
  return groups;
}
