/**
 * The body of a completion (`POST /executions/{id}/complete`, `POST /callbacks/{token}`):
 * `{ "result": <json> }` or `{ "error": { "message": string, "code"?: string } }`, exactly
 * one of them. Checked before anything is read or written.
 */
import * as z from "../zod.ts";
import { ErrorCode } from "../errors.ts";
import type { ExternalOutcome } from "../runtime/runtime.ts";

const errorSchema = z.strictObject({
  message: z.string({ error: "error.message must be a string" }).check(
    z.minLength(1, { error: "error.message must not be empty" }),
    z.maxLength(10_000, { error: "error.message must be at most 10000 characters" }),
  ),
  code: z.optional(
    z.string({ error: "error.code must be a string" }).check(
      z.regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, { error: 'error.code must be a short name such as "E_REJECTED" (a letter, then letters, digits, "_", "." or "-")' }),
    ),
  ),
});

/** Makes the error a route throws: status, code, message and the fields at fault. */
export type BodyError = (status: number, code: string, message: string, fields: Record<string, string>) => Error;

/**
 * The completion a request body describes.
 * @throws what `fail` makes: 413 for a body over `maxBytes`, 400 naming the field otherwise
 */
export function completionOf(body: string | undefined, maxBytes: number, fail: BodyError): ExternalOutcome {
  const size = Buffer.byteLength(body ?? "");
  if (size > maxBytes) throw fail(413, ErrorCode.PayloadTooLarge, `the request body is ${size} bytes, over the limit of ${maxBytes}`, { body: "too large" });
  let json: unknown;
  try {
    json = JSON.parse(body ?? "");
  } catch (error) {
    const message = `the request body is not JSON: ${(error as Error).message}; send { "result": … } or { "error": { "message": … } }`;
    throw fail(400, ErrorCode.BadJson, message, { body: message });
  }
  const bad = (field: string, message: string) => fail(400, ErrorCode.BadRequest, `invalid request: ${field}: ${message}`, { [field]: message });
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad("body", 'send an object: { "result": … } or { "error": { "message": … } }');
  const keys = Object.keys(json);
  const extra = keys.find((key) => key !== "result" && key !== "error");
  if (extra !== undefined) throw bad(extra, `unknown field "${extra}": send only "result" or "error"`);
  if (keys.length !== 1) {
    throw bad("body", keys.length === 0 ? 'send "result" (the value) or "error" ({ "message": … })' : 'send "result" or "error", not both');
  }
  if ("result" in json) return { result: json.result };
  const { error } = json as { error: unknown };
  if (typeof error !== "object" || error === null || Array.isArray(error)) throw bad("error", 'error must be an object: { "message": …, "code"?: … }');
  const parsed = errorSchema.safeParse(error);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw bad(issue?.path.length ? `error.${issue.path.join(".")}` : "error", issue?.message ?? "invalid");
  }
  return { error: { message: parsed.data.message, ...(parsed.data.code === undefined ? {} : { code: parsed.data.code }) } };
}
