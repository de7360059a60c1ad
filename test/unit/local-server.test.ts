/**
 * The server of `floe dev` and `floe dashboard --api` answers only its own page and the
 * `floe` command (T26): cross-origin, cross-site and DNS-rebound requests, and calls without
 * its secret, are refused with 403 and start, cancel or forward nothing; a body over the
 * limit is answered 413 without being read (T14).
 */
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { task, workflow } from "floe";
import { createEmbeddedRuntime, type EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { httpApi } from "../../sdk/cli/api-client.ts";
import { findSecret, secretPath } from "../../sdk/cli/local-secret.ts";
import { localApi, remoteApi, startServer, type Server } from "../../sdk/cli/server.ts";

let release: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (release = resolve));
export const held = workflow("srv_held", async () => {
  await gate;
  return "released";
});
export const broken = workflow("srv_broken", async () => {
  throw new Error("the warehouse is closed");
});
export const step = task("srv_step", async () => 1);

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: any;
}

/** One request with exactly the headers given (Host included), as a browser or curl sends it. */
function send(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, body: text.startsWith("{") ? JSON.parse(text) : undefined }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Streams up to `total` bytes to `url`, as fast as the server reads them, until it answers.
 * @returns the status and how many bytes were written before the answer came
 */
function upload(url: string, total: number, declareLength: boolean, headers: Record<string, string>): Promise<{ status: number; written: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { ...headers, ...(declareLength ? { "content-length": String(total) } : {}) } });
    const chunk = Buffer.alloc(64 * 1024, 120);
    let written = 0;
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, written }));
    });
    req.on("error", (error) => (answered ? undefined : reject(error)));
    const pump = (): void => {
      while (!answered && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

let home: string;
beforeAll(async () => {
  // The server writes its secret under the home folder: a folder of the test's own.
  home = await mkdtemp(join(tmpdir(), "floe-home-"));
  vi.stubEnv("HOME", home);
});
afterAll(() => {
  release();
  vi.unstubAllEnvs();
});

describe("floe dev's server", () => {
  let engine: EmbeddedEngine;
  let server: Server;
  let host: string;
  let own: Record<string, string>;

  beforeAll(async () => {
    engine = createEmbeddedRuntime();
    server = await startServer(localApi(() => engine), { host: "127.0.0.1", port: 0 });
    host = new URL(server.url).host;
    // What the dashboard page's own fetches carry.
    own = { host, origin: server.url, "sec-fetch-site": "same-origin", "x-floe-secret": server.secret, "content-type": "application/json" };
  });
  afterAll(async () => {
    await server?.close();
    await engine?.close();
  });

  async function running(): Promise<string> {
    const execution = engine.submit(held);
    await execution.created;
    return execution.id;
  }

  it.each([
    ["from another origin (a text/plain form or fetch)", { origin: "http://evil.example", "content-type": "text/plain" }, /a page of http:\/\/evil\.example may not call this server/],
    ["from another port of this machine", { origin: "http://127.0.0.1:1" }, /may not call this server \(only its own origin/],
    ["from a sandboxed page (Origin: null)", { origin: "null" }, /a page of null may not call/],
    ["cross-site without an Origin", { origin: undefined, "sec-fetch-site": "cross-site" }, /a cross-site request \(Sec-Fetch-Site\) may not call/],
    ["same-site (another port's page)", { origin: undefined, "sec-fetch-site": "same-site" }, /a same-site request/],
    ["through a DNS-rebound name", { host: "rebind.evil.example:PORT", origin: "http://rebind.evil.example:PORT" }, /the Host header "rebind\.evil\.example:\d+" is not this server's address \(a check against DNS rebinding\)/],
    ["to another port in its Host", { host: "127.0.0.1:1", origin: undefined }, /the Host header "127\.0\.0\.1:1" is not this server's address/],
    ["without the secret", { "x-floe-secret": undefined }, /POST needs this server's secret in the X-Floe-Secret header.*\.floe\/servers\/\d+\.secret/],
    ["with a wrong secret", { "x-floe-secret": "guessed" }, /the X-Floe-Secret header is not this server's secret/],
  ])("refuses a cancel and a start %s with 403, and changes nothing (T26)", async (_name, change, message) => {
    const id = await running();
    const runsBefore = (await engine.listRuns()).length;
    const headers = Object.fromEntries(
      Object.entries({ ...own, ...change })
        .filter((entry): entry is [string, string] => entry[1] !== undefined)
        .map(([k, v]) => [k, v.replace("PORT", new URL(server.url).port)]),
    );
    const cancel = await send(`${server.url}/executions/${id}/cancel`, "POST", headers, "{}");
    const start = await send(`${server.url}/workflows/srv_held/executions`, "POST", headers, '{"args":[]}');
    for (const answer of [cancel, start]) {
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe("FLOE_FORBIDDEN");
      expect(answer.body.error.message).toMatch(message);
    }
    expect((await engine.getExecution(id))?.state).toBe("running");
    expect(await engine.listRuns()).toHaveLength(runsBefore);
  });

  it("starts and cancels for its own page, which carries the secret", async () => {
    const id = await running();
    const cancelled = await send(`${server.url}/executions/${id}/cancel`, "POST", own, "");
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.state).toBe("cancelled");
    const started = await send(`${server.url}/workflows/srv_held/executions`, "POST", own, '{"args":[]}');
    expect(started.status).toBe(202);
    // And for `curl` or a script on this machine: no Origin, no Sec-Fetch headers, the secret.
    const scripted = await send(`${server.url}/executions/${started.body.id as string}/cancel`, "POST", { host, "x-floe-secret": server.secret });
    expect(scripted.status).toBe(202);
  });

  it("serves its page with the secret only under its own address", async () => {
    const page = await send(`${server.url}/`, "GET", { host });
    expect(page.text).toContain(`<meta name="floe-secret" content="${server.secret}" />`);
    expect((await send(`${server.url}/`, "GET", { host: `localhost:${new URL(server.url).port}` })).status).toBe(200);
    // A link followed from another site opens the dashboard: a navigation reads nothing back.
    expect((await send(`${server.url}/`, "GET", { host, "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" })).status).toBe(200);
    const rebound = await send(`${server.url}/`, "GET", { host: "rebind.evil.example" });
    expect(rebound.status).toBe(403);
    expect(rebound.text).not.toContain(server.secret);
    expect((await send(`${server.url}/runs`, "GET", { host, "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors", origin: "http://evil.example" })).status).toBe(403);
  });

  it("sends no CORS headers, so no other origin can read an answer", async () => {
    const answers = [await send(`${server.url}/runs`, "GET", { host, origin: server.url }), await send(`${server.url}/runs`, "OPTIONS", { host, origin: "http://evil.example" })];
    for (const answer of answers) expect(answer.text).not.toMatch(/access-control/i);
    expect(answers[1]?.status).toBe(403);
  });

  it("gives an error's stack to its owner (the secret) only", async () => {
    const execution = engine.submit(broken);
    await execution.result({ raiseOnFailure: false });
    const anyone = await send(`${server.url}/executions/${execution.id}`, "GET", { host });
    expect(anyone.body.error).toEqual({ name: "Error", message: "the warehouse is closed" });
    const owner = await send(`${server.url}/runs/${execution.id}`, "GET", { host, "x-floe-secret": server.secret });
    expect(owner.body.executions[0].error.stack).toMatch(/local-server\.test\.ts/);
  });

  it("keeps the secret in a file only the user can read, for the floe command, while it serves", async () => {
    const path = secretPath(Number(new URL(server.url).port));
    expect(path.startsWith(home)).toBe(true);
    expect(await readFile(path, "utf8")).toBe(server.secret);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, ".."))).mode & 0o777).toBe(0o700);
    expect(await findSecret(new URL(server.url))).toBe(server.secret);
    expect(await findSecret(new URL(server.url.replace("127.0.0.1", "localhost")))).toBe(server.secret);
    // Never sent to another host, whatever its port.
    expect(await findSecret(new URL(`http://example.com:${new URL(server.url).port}`))).toBeUndefined();
    const id = await httpApi(server.url).start("srv_held", []);
    expect((await engine.getExecution(id))?.state).toBe("running");
  });

  it.each([
    ["with a Content-Length", true],
    ["chunked", false],
  ])("answers a 400 MB body (%s) with 413 without reading it, and starts nothing (T14)", async (_name, declareLength) => {
    const runsBefore = (await engine.listRuns()).length;
    const total = 400 * 1024 * 1024;
    const { status, written } = await upload(`${server.url}/workflows/srv_held/executions`, total, declareLength, own);
    expect(status).toBe(413);
    // The answer came after a few socket buffers' worth, not after 400 MB.
    expect(written).toBeLessThan(32 * 1024 * 1024);
    expect(await engine.listRuns()).toHaveLength(runsBefore);
  });

  it("refuses a body over the limit with a message naming it", async () => {
    const answer = await send(`${server.url}/workflows/srv_held/executions`, "POST", own, JSON.stringify({ args: ["x".repeat(1024 * 1024)] }));
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: "FLOE_PAYLOAD_TOO_LARGE", message: expect.stringContaining("over the limit of 1048576 bytes") });
  });

  it("removes its secret's file when it stops", async () => {
    const other = await startServer(localApi(() => engine), { host: "127.0.0.1", port: 0 });
    const path = secretPath(Number(new URL(other.url).port));
    expect(await readFile(path, "utf8")).toBe(other.secret);
    await other.close();
    await expect(readFile(path, "utf8")).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("floe dashboard --api's proxy", () => {
  const received: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  let upstream: HttpServer;
  let proxy: Server;
  let host: string;

  beforeAll(async () => {
    // A stand-in for the deployed API: it records what reaches it.
    upstream = createServer((req, res) => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      req.resume();
      res.writeHead(202, { "content-type": "application/json" });
      res.end('{"id":"e1"}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    proxy = await startServer(remoteApi(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`, { token: "user-token" }), { host: "127.0.0.1", port: 0 });
    host = new URL(proxy.url).host;
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it("forwards nothing for a cross-origin text/plain POST, a rebound Host or a call without the secret (T26)", async () => {
    received.length = 0;
    const refused = [
      await send(`${proxy.url}/executions/e1/cancel`, "POST", { host, origin: "http://evil.example", "content-type": "text/plain", "x-floe-secret": proxy.secret }, "{}"),
      await send(`${proxy.url}/executions/e1/cancel`, "POST", { host: "rebind.evil.example", "x-floe-secret": proxy.secret }, "{}"),
      await send(`${proxy.url}/runs`, "GET", { host: "rebind.evil.example" }),
      await send(`${proxy.url}/workflows/w/executions`, "POST", { host, origin: proxy.url }, '{"args":[]}'),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    expect(received).toEqual([]);
  });

  it("forwards its own page's calls, with the user's credentials and without the secret", async () => {
    received.length = 0;
    const answer = await send(`${proxy.url}/executions/e1/cancel`, "POST", { host, origin: proxy.url, "sec-fetch-site": "same-origin", "x-floe-secret": proxy.secret }, "{}");
    expect(answer.status).toBe(202);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: "POST", url: "/executions/e1/cancel" });
    expect(received[0]?.headers.authorization).toBe("Bearer user-token");
    expect(received[0]?.headers["x-floe-secret"]).toBeUndefined();
  });
});
