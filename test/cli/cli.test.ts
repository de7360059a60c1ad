/**
 * The `floe` command: output, exit codes, `--json`, and one clear line for each kind of
 * bad input. Commands that load a module run as a user runs them (the bin under Node with
 * tsx's loader, in a process of its own); the others call `main` in this process, which
 * is the same code without the second or so each process costs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { httpApi } from "../../sdk/cli/api-client.ts";
import { bin, cli, expectOneLine, floe as floeWith, ownHome, root, serve, type Outcome } from "./support.ts";

const fixtures = "test/cli/fixtures/workflows.ts";
const floe = (...args: string[]): Promise<Outcome> => floeWith(args);

const home = ownHome();

/** A POST with exactly these headers (Host included), as a web page's browser would send it. */
function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("floe run", () => {
  it("runs process_order on the embedded engine and prints its result and timeline", async () => {
    const { code, stdout, stderr } = await floe("run", "examples/process-order.ts", "process_order", "u1", "p1");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^run \S+: process_order completed in \d+ ms/);
    expect(stdout).toContain('result: {"user":{"id":"u1","name":"User u1"},"product":{"id":"p1","priceCents":4999},"totalCents":4999}');
    for (const row of ['process_order("u1", "p1") │', '  load_user("u1")         │', '  load_product("p1")      │', "  create_order(…)         │"]) {
      expect(stdout).toContain(row);
    }
    expect(stdout).toMatch(/task time .* 1\.\d\d× the wall time/);
    // Progress goes to stderr (a line per change when it is not a terminal), ending all done.
    expect(stderr.trimEnd().split("\n").at(-1)).toBe("4 executions: 0 queued, 0 running, 4 done, 0 failed");
  });

  it("redraws one progress line in place on a terminal", { timeout: 30_000 }, async () => {
    // `script` gives the command a pseudo-terminal, as a user's shell does.
    const command = `"${process.execPath}" "${bin}" run examples/process-order.ts process_order u1 p1`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: root, env: { ...process.env, FLOE_API: "" }, stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.on("error", reject);
      child.on("close", () => resolve(text));
    });
    // Each update clears the line and writes it again; the last one says all four are done.
    const updates = output.split("\r\x1b[2K").slice(1);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.at(-1)).toMatch(/^4 executions: 0 queued, 0 running, 4 done, 0 failed {2}\d+ ms\r?\n/);
    expect(output).toMatch(/process_order completed in \d+ ms/);
  });

  it("prints the run as JSON with --json, and nothing else", async () => {
    const { code, stdout, stderr } = await floe("run", "examples/process-order.ts", "process_order", "u1", "p1", "--json");
    expect(code).toBe(0);
    expect(stderr).toBe("");
    const run = JSON.parse(stdout) as { state: string; result: { totalCents: number }; executions: { task: string; state: string }[]; edges: unknown[] };
    expect(run.state).toBe("completed");
    expect(run.result.totalCents).toBe(4999);
    expect(run.executions.map((e) => e.task).sort()).toEqual(["create_order", "load_product", "load_user", "process_order"]);
    expect(run.edges).toHaveLength(2);
  });

  it("runs process_order on the local cloud (the AWS code path) with --local-cloud", { timeout: 90_000 }, async () => {
    const { code, stdout } = await floe("run", "--local-cloud", "examples/process-order.ts", "process_order", "u1", "p1", "--json");
    expect(code).toBe(0);
    const run = JSON.parse(stdout) as { state: string; result: { totalCents: number }; executions: { task: string; state: string }[]; edges: unknown[] };
    expect(run.state).toBe("completed");
    expect(run.result.totalCents).toBe(4999);
    expect(run.executions.map((e) => e.state)).toEqual(["completed", "completed", "completed", "completed"]);
    expect(run.edges).toHaveLength(2);
  });

  it("refuses --bundles of a folder that is not a cloud assembly, naming it and the fix, before starting anything", async () => {
    const folder = await mkdtemp(join(tmpdir(), "floe-not-assembly-"));
    const { code, stderr } = await cli("run", "--bundles", folder, fixtures, "echo", "1");
    expect(code).toBe(2);
    expect(stderr).toContain(`the cloud assembly "${folder}" holds no manifest.json`);
    expect(stderr).toContain("cdk synth");
  });

  it("parses arguments as JSON where they are JSON, and as text otherwise", async () => {
    const { code, stdout } = await floe("run", fixtures, "echo", "42", '{"a":[1,2]}', "u1", "true", "null", '"7"', "--json");
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { result: unknown }).result).toEqual([42, { a: [1, 2] }, "u1", true, null, "7"]);
  });

  it("exits 1 when the run fails, with its error", async () => {
    const { code, stdout } = await floe("run", fixtures, "declined", "5", "--no-progress");
    expect(code).toBe(1);
    expect(stdout).toMatch(/^run \S+: declined failed/);
    expect(stdout).toContain("error: NonRetriableError [FLOE_NON_RETRIABLE]: card declined for 5 cents");
    expect(stdout).not.toMatch(/\n\s+at /);
  });

  it("prints why each retried attempt failed in the run's summary", async () => {
    const { code, stdout } = await floe("run", "test/cli/fixtures/flaky.ts", "flaky", "/x", "--no-progress");
    expect(code).toBe(0);
    expect(stdout).toContain('result: "fetched /x"');
    expect(stdout).toMatch(
      /\nretried:\n {2}gateway\("\/x"\) {2}\S+\n {4}attempt 1 failed after \d+ ms: TimeoutError \[FLOE_TIMEOUT\]: "gateway" ran past its timeoutMs of 30000 ms\n {4}attempt 2 failed after \d+ ms: Error: 503 from gateway\n/,
    );
  });

  it("prints the lines each attempt logged with --logs, under that attempt, once the run has finished", async () => {
    const { code, stdout } = await floe("run", "test/cli/fixtures/flaky.ts", "flaky", "/x", "--no-progress", "--logs");
    expect(code).toBe(0);
    const logs = stdout.slice(stdout.indexOf("\nlogs:\n"));
    // Printed once, in the logs, not also as the tasks ran.
    expect(stdout.split("calling the gateway")).toHaveLength(4);
    expect(logs).toMatch(
      new RegExp(
        [
          String.raw`\nlogs:`,
          String.raw` {2}gateway\("/x"\) {2}\S+`,
          ...[1, 2, 3].flatMap((n) => [` {4}attempt ${n}`, String.raw` {6}\d\d:\d\d:\d\d\.\d{3} info {2}calling the gateway \{"path":"/x","call":${n}\}`]),
        ].join("\n"),
      ),
    );
  });

  it("prints the error's stack with --verbose: the user owns the engine", async () => {
    const { code, stdout } = await cli("run", fixtures, "declined", "5", "--no-progress", "--verbose");
    expect(code).toBe(1);
    expect(stdout).toMatch(/\n\s+at .*workflows\.ts/);
  });

  it("refuses an unknown module with exit code 2 and the path it looked at", async () => {
    expectOneLine(await floe("run", "nowhere/tasks.ts", "process_order"), 2, /cannot find the module "nowhere\/tasks\.ts" \(looked for .*\/nowhere\/tasks\.ts\)/);
  });

  it("refuses a module that does not load, naming the module and the error", async () => {
    expectOneLine(await floe("run", "test/cli/fixtures/throws.ts", "process_order"), 2, /cannot load the module "test\/cli\/fixtures\/throws\.ts": DATABASE_URL is not set$/m);
  });

  it("refuses an unknown workflow, listing the module's workflows", async () => {
    expectOneLine(await floe("run", fixtures, "refund"), 2, /no workflow is named "refund" in .*; its workflows are declined, echo$/m);
    expectOneLine(await floe("run", fixtures, "charge"), 2, /"charge" is a task; run one of its workflows: declined, echo/);
  });

  it("refuses an argument that looks like JSON but does not parse", async () => {
    expectOneLine(await floe("run", fixtures, "echo", '{"a":'), 2, /argument 1 \(\{"a":\) looks like JSON but does not parse/);
  });

  it("refuses bad usage with exit code 2 and the help to read", async () => {
    expectOneLine(await floe("run"), 2, /missing required argument 'module' \(see `floe run --help`\)/);
    expectOneLine(await cli("schedules", "pause"), 2, /missing required argument 'workflow' \(see `floe schedules pause --help`\)/);
    expectOneLine(await cli("run", fixtures), 2, /name the workflow to run/);
    expectOneLine(await cli("run", fixtures, "echo", "--frobnicate"), 2, /unknown option '--frobnicate'/);
    expectOneLine(await cli("launch"), 2, /unknown command 'launch'/);
    expectOneLine(await cli("run", fixtures, "echo", "--concurrency", "lots"), 2, /--concurrency must be a whole number/);
  });

  it("refuses a number out of its option's range with exit code 2, naming the range and the value", async () => {
    // Zero passes for a port only: a timeline of no width, no concurrency or an empty page would fail later, or never run.
    for (const [args, message] of [
      [["run", fixtures, "echo", "--width", "0"], '--width must be a whole number from 1 to 1000, got "0"'],
      [["run", fixtures, "echo", "--concurrency", "0"], '--concurrency must be a whole number from 1 to 100000, got "0"'],
      [["runs", "--limit", "0"], '--limit must be a whole number from 1 to 100, got "0"'],
      [["inspect", "run_1", "--width", "1001"], '--width must be a whole number from 1 to 1000, got "1001"'],
      [["dashboard", "--api", "http://127.0.0.1:1", "--port", "-1"], '--port must be a whole number from 0 to 65535, got "-1"'],
    ] as const) {
      const { code, stderr } = await cli(...args);
      expect({ code, stderr }).toEqual({ code: 2, stderr: `floe: ${message}\n` });
    }
  });

  it("has help for every command", async () => {
    expect((await floe("--help")).code).toBe(0);
    for (const command of [[], ["run"], ["dev"], ["dashboard"], ["runs"], ["inspect"]]) {
      const { code, stdout } = await cli(...command, "--help");
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: floe/);
    }
  });
});

describe("floe dev, runs and inspect", () => {
  let dev: ChildProcess;
  let url = "";
  const output = { log: "" };
  const module = "test-artifacts/cli/dev-module.ts";
  const source = (version: string) =>
    `import { workflow } from "floe";\nexport * from "../../test/cli/fixtures/workflows.ts";\n` +
    `export const version = workflow("version", async () => "${version}");\n` +
    `export const hold = workflow("hold", () => new Promise<never>(() => undefined));\n`;

  beforeAll(async () => {
    await mkdir(new URL("../../test-artifacts/cli/", import.meta.url), { recursive: true });
    await writeFile(new URL(`../../${module}`, import.meta.url), source("one"));
    ({ child: dev, url } = await serve(["dev", module], output));
  }, 30_000);

  afterAll(() => {
    dev?.kill("SIGTERM");
  });

  it("serves the dashboard and the API", async () => {
    expect(output.log).toContain("workflows: declined, echo, hold, version");
    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/dashboard/app.js">');
    const script = await fetch(`${url}/dashboard/app.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${url}/runs`)).status).toBe(200);
  });

  it("runs a workflow through the API with run --api", async () => {
    const { code, stdout } = await cli("run", "--api", url, "echo", "1", "two", "--no-progress");
    expect(code).toBe(0);
    expect(stdout).toContain('result: [1,"two"]');
    expect((await cli("run", "--api", url, "declined", "9", "--no-progress")).code).toBe(1);
    expectOneLine(await cli("run", "--api", url, "refund"), 2, /no workflow is named "refund"/);
  });

  it("gets an error's stack from floe dev with the secret, for run --verbose", async () => {
    const { stdout } = await cli("run", "--api", url, "declined", "4", "--no-progress", "--verbose");
    expect(stdout).toMatch(/\n\s+at .*workflows\.ts/);
  });

  it("lists recent runs, filtered by workflow and state, as a table or JSON", async () => {
    await cli("run", "--api", url, "declined", "1", "--no-progress");
    const table = await cli("runs", "--api", url);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^RUN\s+WORKFLOW\s+STATE\s+STARTED\s+DURATION$/);
    expect(table.stdout).toMatch(/declined\s+failed/);
    const failed = JSON.parse((await cli("runs", "--api", url, "--state", "failed", "--json")).stdout) as { runs: { task: string; state: string }[] };
    expect(failed.runs.length).toBeGreaterThan(0);
    expect(failed.runs.every((r) => r.task === "declined" && r.state === "failed")).toBe(true);
    const echoes = JSON.parse((await cli("runs", "--api", url, "--workflow", "echo", "--json")).stdout) as { runs: { task: string }[] };
    expect(echoes.runs.every((r) => r.task === "echo")).toBe(true);
    expectOneLine(await cli("runs", "--api", url, "--state", "done"), 2, /--state must be one of/);
  });

  it("filters and pages runs on the server, and says when a filter matches none", async () => {
    for (const arg of ["p1", "p2"]) await cli("run", "--api", url, "echo", arg, "--no-progress");
    expect((await cli("runs", "--api", url, "--workflow", "echo", "--state", "cancelled")).stdout).toBe("No cancelled runs of workflow echo\n");
    const first = await cli("runs", "--api", url, "--workflow", "echo", "--limit", "1");
    expect(first.stdout.split("\n").filter((line) => /^\S+\s+echo\s/.test(line))).toHaveLength(1);
    const cursor = /^more: floe runs --workflow echo --limit 1 --cursor (\S+) \(or --all for every page\)$/m.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    type Page = { runs: { id: string; task: string }[]; cursor?: string };
    const second = JSON.parse((await cli("runs", "--api", url, "--workflow", "echo", "--limit", "1", "--cursor", cursor ?? "", "--json")).stdout) as Page;
    expect(second.runs).toHaveLength(1);
    expect(first.stdout).not.toContain(second.runs[0]?.id);
    const all = JSON.parse((await cli("runs", "--api", url, "--workflow", "echo", "--limit", "1", "--all", "--json")).stdout) as Page;
    expect(all.cursor).toBeUndefined();
    expect(all.runs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(all.runs.map((r) => r.id)).size).toBe(all.runs.length);
    expect(all.runs.every((r) => r.task === "echo")).toBe(true);
    expectOneLine(await cli("runs", "--api", url, "--cursor", "junk!"), 2, /cursor "junk!" is not one this API gave out/);
  });

  it("inspects a run as a tree with states, attempts, durations and errors", async () => {
    const run = JSON.parse((await cli("run", "--api", url, "declined", "3", "--json")).stdout) as { id: string; executions: { id: string; task: string }[] };
    const { code, stdout } = await cli("inspect", run.id, "--api", url);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^declined\(3\) +failed +\d+ ms \(waited \d+ ms, ran \d+ ms\)/);
    expect(stdout).toMatch(/└─ charge\(3\) +failed/);
    expect(stdout).toContain("✗ NonRetriableError [FLOE_NON_RETRIABLE]: card declined for 3 cents");
    expect(stdout).toContain("wall time");
    const charge = run.executions.find((e) => e.task === "charge")?.id ?? "";
    const byExecution = await cli("inspect", charge, "--api", url);
    expect(byExecution.stdout).toMatch(new RegExp(`charge\\(3\\).*${charge}  ◀`));
    // The lines its task logged, under their attempt; none of the workflow's own.
    expect(stdout).toMatch(new RegExp(`\\nlogs:\\n {2}charge\\(3\\) {2}${charge}\\n {4}attempt 1\\n {6}\\d\\d:\\d\\d:\\d\\d\\.\\d{3} warn {2}declining a charge of 3 cents\\n`));
    expect(byExecution.stdout).toContain("declining a charge of 3 cents");
    expect((await cli("inspect", run.id, "--api", url, "--no-logs")).stdout).not.toContain("logs:");
    const json = JSON.parse((await cli("inspect", run.id, "--api", url, "--json")).stdout) as { id: string; executions: unknown[] };
    expect(json.id).toBe(run.id);
    expect(json.executions).toHaveLength(2);
  });

  it("refuses an unknown run or execution id with exit code 2", async () => {
    expectOneLine(await cli("inspect", "no-such-run", "--api", url), 2, /no run or execution has the id "no-such-run" .*; list recent runs with `floe runs`/);
  });

  it("reloads the module when it changes, keeping the runs it has", async () => {
    const before = await cli("run", "--api", url, "version", "--json");
    expect((JSON.parse(before.stdout) as { result: string }).result).toBe("one");
    await writeFile(new URL(`../../${module}`, import.meta.url), source("two"));
    for (let waited = 0; !output.log.includes("reloaded") && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await cli("run", "--api", url, "version", "--json");
    expect((JSON.parse(after.stdout) as { result: string }).result).toBe("two");
    const { runs } = JSON.parse((await cli("runs", "--api", url, "--workflow", "version", "--json")).stdout) as { runs: unknown[] };
    expect(runs).toHaveLength(2);
  });

  it("refuses a web page's start and cancel, and a DNS-rebound request, changing nothing (T26)", async () => {
    const held = await httpApi(url).start("hold", []);
    const echoes = async () => (JSON.parse((await cli("runs", "--api", url, "--workflow", "echo", "--json")).stdout) as { runs: unknown[] }).runs.length;
    const echoesBefore = await echoes();
    const host = new URL(url).host;
    const page = { host, origin: "http://evil.example", "content-type": "text/plain" };
    const attempts = [
      await post(`${url}/executions/${held}/cancel`, page, "{}"),
      await post(`${url}/workflows/echo/executions`, page, '{"args":[1]}'),
      await post(`${url}/executions/${held}/cancel`, { host: `rebind.evil.example:${new URL(url).port}` }, "{}"),
      // No Origin (as curl sends it), but no secret either.
      await post(`${url}/executions/${held}/cancel`, { host }, "{}"),
    ];
    expect(attempts.map((a) => a.status)).toEqual([403, 403, 403, 403]);
    expect(attempts[0]?.text).toContain("a page of http://evil.example may not call this server");
    expect(attempts[2]?.text).toContain("DNS rebinding");
    expect(attempts[3]?.text).toMatch(/needs this server's secret in the X-Floe-Secret header; .* reads it from .*\.floe\/servers\/\d+\.secret/);
    const inspected = JSON.parse((await cli("inspect", held, "--api", url, "--json")).stdout) as { executions: { state: string }[] };
    expect(inspected.executions.map((e) => e.state)).toEqual(["running"]);
    expect(await echoes()).toBe(echoesBefore);
  });

  it("says which check refused the command, and how to fix it", async () => {
    // Another server's secret: as when the file is stale or --api names another server.
    const other = `http://localhost:${new URL(url).port}`;
    vi.stubEnv("HOME", await mkdtemp(join(tmpdir(), "floe-cli-other-")));
    try {
      expectOneLine(await cli("run", "--api", other, "echo", "1"), 3, /the floe server at http:\/\/localhost:\d+ refused: POST needs this server's secret/);
    } finally {
      vi.stubEnv("HOME", home());
    }
  });

  it("refuses a taken port and an unknown module with exit code 2", async () => {
    const port = new URL(url).port;
    expectOneLine(await floe("dev", fixtures, "--port", port), 2, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken; pass another with --port`));
    expectOneLine(await floe("dev", "missing.ts"), 2, /cannot find the module "missing\.ts"/);
  });
});

describe("floe dashboard --api", () => {
  const received: string[] = [];
  let upstream: HttpServer;
  let dashboard: ChildProcess;
  let url = "";

  beforeAll(async () => {
    // A stand-in for the deployed API: it records every request that reaches it.
    upstream = createHttpServer((req, res) => {
      received.push(`${req.method ?? ""} ${req.url ?? ""}`);
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ runs: [] }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const api = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    ({ child: dashboard, url } = await serve(["dashboard", "--api", api, "--token", "t"], { log: "" }));
  }, 30_000);

  afterAll(async () => {
    dashboard?.kill("SIGTERM");
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it("forwards nothing a web page sends: a cross-origin text/plain POST, a rebound Host, a call without the secret (T26)", async () => {
    received.length = 0;
    const host = new URL(url).host;
    const attempts = [
      await post(`${url}/executions/e1/cancel`, { host, origin: "http://evil.example", "content-type": "text/plain" }, "{}"),
      await post(`${url}/workflows/echo/executions`, { host, origin: "http://evil.example", "content-type": "text/plain" }, '{"args":[]}'),
      await post(`${url}/executions/e1/cancel`, { host: "rebind.evil.example" }, "{}"),
      await post(`${url}/executions/e1/cancel`, { host, origin: url }, "{}"),
    ];
    expect(attempts.map((a) => a.status)).toEqual([403, 403, 403, 403]);
    expect(received).toEqual([]);
    // Its own page's reads still go through.
    expect((await fetch(`${url}/runs`)).status).toBe(200);
    expect(received).toEqual(["GET /runs"]);
  });
});

describe("an unreachable API", () => {
  it("is one line with the fix and exit code 3, and its stack with --verbose", async () => {
    const api = `http://127.0.0.1:${await closedPort()}`;
    expectOneLine(await cli("runs", "--api", api), 3, /cannot reach the floe API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); start one with `floe dev <module>`/);
    expectOneLine(await cli("inspect", "abc", "--api", api), 3, /cannot reach the floe API/);
    expectOneLine(await cli("run", "--api", api, "echo"), 3, /cannot reach the floe API/);
    const verbose = await floe("runs", "--api", api, "--verbose");
    expect(verbose.code).toBe(3);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it("refuses an --api that is not a URL", async () => {
    expectOneLine(await cli("runs", "--api", "localhost-ish"), 2, /--api must be a URL such as http:\/\/127\.0\.0\.1:3700, got "localhost-ish"/);
  });
});

describe("a deployed API's authorisation", () => {
  const credentials = { accessKeyId: "AKIDFLOETEST", secretAccessKey: "floe-test-secret" };
  const seen: { method: string; url: string; headers: Record<string, string | string[] | undefined>; valid: boolean }[] = [];
  let status = 200;
  let server: HttpServer;
  let api: string;

  beforeAll(async () => {
    // An API that checks SigV4 signatures the way API Gateway does: signed again here with
    // the same key and time, the signature must match.
    const verifier = new SignatureV4({ service: "execute-api", region: "eu-west-1", credentials, sha256: Hash.bind(null, "sha256") });
    server = createHttpServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? "/", `http://${req.headers.host ?? ""}`);
        const authorization = String(req.headers.authorization ?? "");
        let valid = false;
        const date = String(req.headers["x-amz-date"] ?? "");
        if (authorization.startsWith("AWS4-HMAC-SHA256")) {
          const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(";") ?? [];
          const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(req.headers[h] ?? "")]));
          const query: Record<string, string> = {};
          url.searchParams.forEach((v, k) => (query[k] = v));
          const again = await verifier.sign(
            { method: req.method ?? "GET", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers },
            { signingDate: new Date(date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z")) },
          );
          valid = again.headers.authorization === authorization;
        }
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, valid });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(status === 200 ? JSON.stringify({ runs: [] }) : JSON.stringify({ message: "Forbidden" }));
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("signs requests with SigV4 and the AWS credentials with --iam", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    vi.stubEnv("AWS_REGION", "eu-west-1");
    try {
      seen.length = 0;
      const { code } = await cli("runs", "--api", api, "--iam", "--json");
      expect(code).toBe(0);
      expect(seen).toHaveLength(1);
      expect(String(seen[0]?.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFLOETEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request/);
      expect(seen[0]?.valid).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("sends a bearer token with --token, and nothing without either", async () => {
    seen.length = 0;
    expect((await cli("runs", "--api", api, "--token", "eyJ.test.token", "--json")).code).toBe(0);
    expect((await cli("runs", "--api", api, "--json")).code).toBe(0);
    expect(seen.map((s) => s.headers.authorization)).toEqual(["Bearer eyJ.test.token", undefined]);
  });

  it("says what to check when the API refuses the request", async () => {
    status = 403;
    try {
      expectOneLine(await cli("runs", "--api", api), 3, /refused the request \(403\).*AWS credentials.*--token/);
    } finally {
      status = 200;
    }
  });
});
