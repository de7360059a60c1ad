/** Every message a test queue holds now, taken off it: the event source, by hand. */
import type { TaskMessage } from "../../sdk/engine/model.ts";

/** Takes every message `queue` holds now (not those sent while the caller handles them). */
export function takeAll(queue: { take(): TaskMessage | undefined }): TaskMessage[] {
  const taken: TaskMessage[] = [];
  for (let m = queue.take(); m !== undefined; m = queue.take()) taken.push(m);
  return taken;
}
