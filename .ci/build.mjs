// `npm run build` (and `prepare`, `prepack`): the package as users install it, in dist/.
// tsc compiles sdk/, functions/ and infra/ to ES modules with .d.ts (tsconfig.build.json,
// its ./x.ts imports rewritten to ./x.js); then the command's plain-JavaScript entry
// point and loader hooks are copied, the dashboard's script bundled and its page and
// stylesheet copied; and dist/package.json gives the compiled files their own `#engines`.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });

for (const file of ["floe.mjs", "reload-hooks.mjs"]) copyFileSync(join(root, "sdk/cli", file), join(dist, "sdk/cli", file));
chmodSync(join(dist, "sdk/cli/floe.mjs"), 0o755);
// The worker threads' entry point, loaded by plain Node before any loader is registered,
// and the TypeScript file it tries to learn whether its thread has a loader.
for (const file of ["pool-worker.mjs", "pool-probe.ts"]) copyFileSync(join(root, "sdk/embedded", file), join(dist, "sdk/embedded", file));

const dashboard = join(dist, "sdk/dashboard");
mkdirSync(dashboard, { recursive: true });
for (const file of ["index.html", "app.css"]) copyFileSync(join(root, "sdk/dashboard", file), join(dashboard, file));
const { bundleDashboard } = await import(new URL("../dist/sdk/cli/dashboard-assets.js", import.meta.url).href);
writeFileSync(join(dashboard, "app.js"), await bundleDashboard(join(root, "sdk/dashboard/app.ts")));

// Node, TypeScript and bundlers resolve `#engines` by the nearest package.json: this one
// for the compiled files, the package's own (which names the sources) for the repository.
const { version, imports } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const compiledImports = JSON.parse(JSON.stringify(imports).replaceAll(/"\.\/([^"]+)\.ts"/g, '"./$1.js"'));
writeFileSync(join(dist, "package.json"), `${JSON.stringify({ type: "module", version, imports: compiledImports }, null, 2)}\n`);
