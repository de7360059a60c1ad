/**
 * The dashboard's files: its page and stylesheet as written, its script bundled by esbuild
 * from `sdk/dashboard/` on first request (no build step, no network, no CDN).
 */
import { readFile } from "node:fs/promises";

const dashboardDir = new URL("../dashboard/", import.meta.url);

/** A file to serve. */
export interface Asset {
  readonly type: string;
  readonly body: string;
}

let bundle: Promise<string> | undefined;

async function script(): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [new URL("app.ts", dashboardDir).pathname],
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
