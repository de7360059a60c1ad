#!/usr/bin/env node
// The `floe` command's entry point. It registers tsx's loader first, so the command and
// the user's modules can be TypeScript, then hands over to main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
const code = await main(process.argv);
// Explicit: an engine's timers or a stray handle must not keep a finished command alive.
process.exit(code);
