#!/usr/bin/env node
// The `floe` command's entry point. From the package (dist/, where main.js sits beside this
// file) it runs on plain Node and registers tsx's loader only to load a TypeScript module
// the user names; from the repository's sources it always registers tsx, which runs
// main.ts itself (and resolves "floe" to the sources through tsconfig.json's paths).
import { existsSync } from "node:fs";

const compiled = existsSync(new URL("./main.js", import.meta.url));
// The module is a file argument; a workflow's arguments are rarely existing .ts files.
const typeScriptModule = process.argv.slice(2).find((arg) => /\.[cm]?tsx?$/.test(arg) && existsSync(arg));

if (!compiled || typeScriptModule !== undefined) {
  let tsx;
  try {
    tsx = await import("tsx/esm/api");
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    process.stderr.write(
      compiled
        ? `floe: ${typeScriptModule} is TypeScript, which floe loads with tsx: install it in your project ` +
            "(npm install --save-dev tsx), or compile the module and give floe the .js file\n"
        : "floe: run from its TypeScript sources, floe needs tsx: npm install\n",
    );
    process.exit(2);
  }
  tsx.register();
}
const { main } = await import(compiled ? "./main.js" : "./main.ts");
const code = await main(process.argv);
// Explicit: an engine's timers or a stray handle must not keep a finished command alive.
process.exit(code);
