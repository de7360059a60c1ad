/**
 * The secret of a local floe server (`floe dev`, `floe dashboard`): made anew at each
 * start, put into the dashboard page it serves and into a file only the user can read
 * (`~/.floe/servers/<port>.secret`), where the `floe` command finds it for a URL of this
 * machine. A web page can read neither, so it cannot make a call the server accepts.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { homedir, networkInterfaces } from "node:os";
import { join } from "node:path";

/** The header that carries the secret. */
export const secretHeader = "x-floe-secret";

/** A new secret: 256 random bits, URL-safe. */
export function createSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Whether `given` is `secret`, compared in constant time (digests make the lengths equal). */
export function sameSecret(given: string, secret: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

/** Where the secret of the server on `port` is kept. */
export function secretPath(port: number): string {
  // HOME as this thread sees it (a worker thread's environment is its own), else the OS's answer.
  return join(process.env.HOME || homedir(), ".floe", "servers", `${port}.secret`);
}

/**
 * Writes the secret of the server on `port`, readable by the user only.
 * @returns removes the file (when the server stops)
 */
export async function saveSecret(port: number, secret: string): Promise<() => Promise<void>> {
  const path = secretPath(port);
  const dir = join(path, "..");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // `mode` applies only to what mkdir and writeFile create; an older folder or file is fixed here.
  await chmod(dir, 0o700);
  await writeFile(path, secret, { mode: 0o600 });
  await chmod(path, 0o600);
  return async () => {
    const current = await readFile(path, "utf8").catch(() => undefined);
    if (current === secret) await rm(path, { force: true });
  };
}

/**
 * The secret to send to the floe server at `url`: read from its file when `url` names this
 * machine (a loopback name or one of its addresses), so that it never goes to another host.
 */
export async function findSecret(url: URL): Promise<string | undefined> {
  if (url.protocol !== "http:" || !isThisMachine(url.hostname)) return undefined;
  const port = url.port === "" ? 80 : Number(url.port);
  const text = await readFile(secretPath(port), "utf8").catch(() => undefined);
  return text?.trim() || undefined;
}

/** Whether `hostname` (IPv6 with or without brackets) is a loopback name or address. */
export function isLoopback(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Whether `hostname` (as `URL.hostname` gives it: IPv6 in brackets) is this machine. */
export function isThisMachine(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  // The unspecified addresses reach this machine when connected to, as `--host 0.0.0.0` prints them.
  if (isLoopback(name) || name === "0.0.0.0" || name === "::") return true;
  if (isIP(name) === 0) return false;
  return Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.address.toLowerCase() === name) === true);
}
