/**
 * The dashboard's files: its page and stylesheet as written, and its script. The package
 * ships the script bundled at build time (`app.js` beside the page, made by
 * `npm run build`); run from the sources, the script is bundled by esbuild from
 * `sdk/dashboard/` on first request (no build step, no network, no CDN).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const dashboardDir = new URL("../dashboard/", import.meta.url);

/** A file to serve. */
export interface Asset {
  readonly type: string;
  readonly body: string;
}

let bundle: Promise<string> | undefined;

/**
 * Bundles the dashboard's script with esbuild: for the build, and on demand from the sources.
 *
 * @param entry - the path of `sdk/dashboard/app.ts`
 * @returns the minified ES module
 * @throws Error naming the package to install when esbuild is not installed
 */
export async function bundleDashboard(entry: string): Promise<string> {
  const esbuild = await import("esbuild").catch((error: unknown) => {
    throw new Error("the dashboard's script is bundled by esbuild, which is not installed: npm install --save-dev esbuild", { cause: error });
  });
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error("esbuild produced no dashboard bundle");
  return output.text;
}

/** The script built with the package, else bundled now from the sources beside it. */
async function script(): Promise<string> {
  const built = await readFile(new URL("app.js", dashboardDir), "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  return built ?? bundleDashboard(fileURLToPath(new URL("app.ts", dashboardDir)));
}

/**
 * The asset served at `path`, or `undefined` when the path is not the dashboard's.
 * @param secret - the server's secret, put into the page for its script to send (base64url:
 *   nothing in it needs escaping)
 */
export async function dashboardAsset(path: string, secret: string): Promise<Asset | undefined> {
  switch (path) {
    case "/":
    case "/index.html": {
      const page = await readFile(new URL("index.html", dashboardDir), "utf8");
      return { type: "text/html; charset=utf-8", body: page.replace("</head>", `  <meta name="floe-secret" content="${secret}" />\n  </head>`) };
    }
    case "/dashboard/app.css":
      return { type: "text/css; charset=utf-8", body: await readFile(new URL("app.css", dashboardDir), "utf8") };
    case "/dashboard/app.js":
      bundle ??= script();
      try {
        return { type: "text/javascript; charset=utf-8", body: await bundle };
      } catch (error) {
        // Built again on the next request, once the file is fixed.
        bundle = undefined;
        throw error;
      }
    default:
      return undefined;
  }
}
