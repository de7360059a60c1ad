// Module hooks (run on Node's loader thread) that let `floe dev` import a changed module
// again. Node never evicts a module, so each load imports the module under a new
// `floe-reload` query, and this hook passes the query on to every file it imports, except
// floe's own files and installed packages: those must stay one instance, or the reloaded
// tasks would register in a second registry and run outside the engine's context. Each
// file it tags is reported on `port`, so the command watches exactly the module's files.
let sdkDir = "";
/** @type {import("node:worker_threads").MessagePort | undefined} */
let port;

/** @param {{ sdkDir: string, port?: import("node:worker_threads").MessagePort }} data */
export function initialize(data) {
  sdkDir = data.sdkDir;
  port = data.port;
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith("file:")) return resolved;
  const url = new URL(resolved.url);
  const generation = url.searchParams.get("floe-reload") ?? (context.parentURL === undefined ? null : new URL(context.parentURL).searchParams.get("floe-reload"));
  if (generation === null || url.pathname.startsWith(sdkDir) || url.pathname.includes("/node_modules/")) return resolved;
  url.searchParams.set("floe-reload", generation);
  port?.postMessage(url.pathname);
  return { ...resolved, url: url.href };
}
