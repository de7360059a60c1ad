/**
 * Loads the user's module of tasks and workflows, and loads it again when one of its files
 * changes (`floe dev`). See `reload-hooks.mjs` for how a module is imported afresh while
 * floe itself stays one instance.
 */
import { watch, type FSWatcher } from "node:fs";
import { stat } from "node:fs/promises";
import { register } from "node:module";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel } from "node:worker_threads";
import { Kind, definitionsList, redefining } from "../define/registry.ts";
import { errorCode } from "../errors.ts";
import { CliError, ExitCode } from "./cli-error.ts";

let files: Set<string> | undefined;
let generation = 0;
/** The names the module's earlier loads defined: those a reload did not define again are gone from it. */
const earlier = new Set<string>();

/** Registers the reload hooks once; afterwards every loaded file of the module is added to `files`. */
function hooks(): Set<string> {
  if (files !== undefined) return files;
  const seen = new Set<string>();
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (path: string) => seen.add(decodeURIComponent(path)));
  port1.unref();
  register("./reload-hooks.mjs", import.meta.url, {
    data: { sdkDir: new URL("../", import.meta.url).pathname, port: port2 },
    transferList: [port2],
  });
  files = seen;
  return seen;
}

/**
 * Imports the module at `path` (relative to the working directory); a later call imports
 * it afresh, its new definitions replacing the old. A name defined twice in one load is
 * refused, as on a plain import.
 *
 * @returns the names of the workflows the module defines (a reload's, without those it no longer defines)
 * @throws CliError `BadInput` when the file does not exist or fails to load (`FLOE_DUPLICATE_TASK` among the reasons)
 */
export async function loadModule(path: string): Promise<string[]> {
  const absolute = resolvePath(path);
  const found = await stat(absolute).catch(() => undefined);
  if (found === undefined || !found.isFile()) {
    throw new CliError(
      ExitCode.BadInput,
      `cannot find the module "${path}" (looked for ${absolute}); give the path of the .ts or .js file that defines your workflows`,
    );
  }
  hooks();
  generation += 1;
  const url = `${pathToFileURL(absolute).href}?floe-reload=${generation}`;
  let defined: ReadonlySet<string>;
  try {
    ({ defined } = await redefining(() => import(url)));
  } catch (error) {
    const code = errorCode(error);
    const reason = `${code?.startsWith("FLOE_") === true ? `${code}: ` : ""}${(error as Error).message ?? String(error)}`;
    throw new CliError(ExitCode.BadInput, `cannot load the module "${path}": ${reason}`, { cause: error });
  }
  const names = workflowNames().filter((name) => defined.has(name) || !earlier.has(name));
  for (const name of defined) earlier.add(name);
  return names;
}

/** The names of every workflow defined in this process, sorted. */
export function workflowNames(): string[] {
  return definitionsList()
    .filter((d) => d.kind === Kind.Workflow)
    .map((d) => d.name)
    .sort();
}

/**
 * Calls `onChange` (debounced) when any file of the loaded module changes; floe's own files
 * and installed packages are not watched.
 *
 * @returns stops watching
 */
export function watchModule(onChange: () => void, debounceMs = 100): () => void {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  // Files join the set as they are imported, so the watch list is refreshed now and then.
  const refresh = (): void => {
    for (const file of files ?? []) {
      if (watchers.has(file)) continue;
      try {
        // Editors often replace a file rather than write it: "rename" counts as a change too.
        const watcher = watch(file, { persistent: false }, (event) => {
          if (event === "rename") {
            watcher.close();
            watchers.delete(file);
          }
          changed();
        });
        watchers.set(file, watcher);
      } catch {
        // A file that vanished is picked up again if it comes back in a later load.
      }
    }
  };
  refresh();
  const poll = setInterval(refresh, 500);
  poll.unref();
  return () => {
    clearInterval(poll);
    clearTimeout(timer);
    for (const watcher of watchers.values()) watcher.close();
  };
}
