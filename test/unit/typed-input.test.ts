/**
 * Typed inputs (`input:` any Standard Schema): validated at every door before anything is
 * written, the task given the schema's output, the parameters typed by the schema.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import * as zod from "zod";
import * as v from "valibot";
import { type } from "arktype";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { InvalidInputError, task, workflow, type Execution, type Task } from "floe";
import type { EmbeddedEngine } from "../../sdk/embedded/embedded-engine.ts";
import { engineOf } from "../../sdk/api/engine.ts";
import { createApiHandler } from "../../functions/api.ts";
import { localApi } from "../../sdk/cli/server.ts";
import { apiEvent } from "../support/api-event.ts";
import { thrown } from "../support/thrown.ts";
import { untouched, useEmbeddedEngines } from "../support/embedded-engines.ts";

const engine = useEmbeddedEngines();

const zodUser = zod.object({ email: zod.email(), name: zod.string().trim(), plan: zod.enum(["free", "pro"]).default("free") });
const zodSignUp = workflow("ti_zod_sign_up", { input: zodUser }, async (user) => `${user.name} <${user.email}> on ${user.plan}`);

const valibotUser = v.object({ email: v.pipe(v.string(), v.email("not an email")), age: v.optional(v.pipe(v.number(), v.minValue(18, "must be 18 or over")), 18) });
const valibotSignUp = workflow("ti_valibot_sign_up", { input: valibotUser }, async (user) => `${user.email} is ${user.age}`);

const arkUser = type({ email: "string.email", "tags?": "string[]" });
const arkSignUp = workflow("ti_ark_sign_up", { input: arkUser }, async (user) => `${user.email} [${(user.tags ?? []).join(",")}]`);

const resize = task("ti_resize", { input: [zod.string().check(zod.minLength(1)), zod.coerce.number().check(zod.int(), zod.positive())] }, async (key, width) => `${key}@${width * 2}`);

describe("typed inputs: validated at submit", () => {
  it.each([
    { library: "zod", target: zodSignUp, good: { email: "ada@example.com", name: "  Ada " }, out: "Ada <ada@example.com> on free", bad: { email: "nope", name: "Ada" }, field: "email", message: "Invalid email address" },
    { library: "valibot", target: valibotSignUp, good: { email: "ada@example.com" }, out: "ada@example.com is 18", bad: { email: "ada@example.com", age: 12 }, field: "age", message: "must be 18 or over" },
    { library: "arktype", target: arkSignUp, good: { email: "ada@example.com", tags: ["a", "b"] }, out: "ada@example.com [a,b]", bad: { email: "ada@example.com", tags: ["a", 2] }, field: "tags[1]", message: "must be a string" },
  ])("$library: runs a valid call with the schema's output, refuses an invalid one naming the field, writing nothing", async ({ target, good, out, bad, field, message }) => {
    const e = engine();
    const error = thrown(() => e.submit(target as Task<[unknown], string>, bad));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.code).toBe("FLOE_INVALID_INPUT");
    expect(error.message).toContain(`invalid input for "${target.name}": ${field}: `);
    expect(error.message).toContain(message);
    await untouched(e);
    expect(await e.submit(target as Task<[unknown], string>, good).result()).toBe(out);
  });

  it("keeps what the caller passed as the arguments, and gives the code the schema's output", async () => {
    const e = engine();
    const run = e.submit(zodSignUp, { email: "ada@example.com", name: "  Ada " });
    expect(await run.result()).toBe("Ada <ada@example.com> on free");
    expect((await engineOf(e).getExecution(run))?.args).toEqual([{ email: "ada@example.com", name: "  Ada " }]);
  });

  it("lists every refused field, each with its path", () => {
    const error = thrown(() => engine().submit(zodSignUp, { email: "x" } as never)) as InvalidInputError;
    expect(error.issues.map((i) => i.path)).toEqual([[0, "email"], [0, "name"]]);
    expect(error.message).toMatch(/email: .*; name: /);
  });

  it("validates each argument against its schema in a list, naming the argument's position", async () => {
    const e = engine();
    const error = thrown(() => e.submit(resize, "", "wide" as unknown as number));
    expect(error.code).toBe("FLOE_INVALID_INPUT");
    expect(error.message).toContain("[0]: ");
    expect(error.message).toContain("[1]: ");
    await untouched(e);
    // The coerced output reaches the code: "300" is 300.
    expect(await e.submit(resize, "cat.png", "300" as unknown as number).result()).toBe("cat.png@600");
  });

  it("refuses more arguments than the schema describes", async () => {
    const e = engine();
    const error = thrown(() => e.submit("ti_zod_sign_up", { email: "ada@example.com", name: "Ada" }, "extra"));
    expect(error.code).toBe("FLOE_INVALID_INPUT");
    expect(error.message).toContain('2 arguments were passed, and "ti_zod_sign_up" takes one argument');
    await untouched(e);
  });

  it("refuses a bad call submitted by name, as the connected runtime and the CLI submit", async () => {
    const e = engine();
    expect(thrown(() => e.submit("ti_valibot_sign_up", { email: 7 })).code).toBe("FLOE_INVALID_INPUT");
    await untouched(e);
  });

  it("refuses each bad row of a map before submitting any of them", async () => {
    const e = engine();
    const rows = [{ email: "a@example.com" }, { email: "b@example.com", age: 3 }];
    const error = thrown(() => engineOf(e).map(valibotSignUp, rows));
    expect(error.code).toBe("FLOE_INVALID_INPUT");
    expect(error.message).toContain("age: must be 18 or over (in item 1 of \"ti_valibot_sign_up\".map(); no item was submitted)");
    await untouched(e);
  });

  it("refuses a schema that validates asynchronously, naming the fix, and writes nothing", async () => {
    const slow = zod.string().check(zod.refine(async (s) => s.length > 0));
    const lookup = task("ti_async_schema", { input: slow }, async (s) => s);
    const e = engine();
    const error = thrown(() => e.submit(lookup, "x"));
    expect(error.code).toBe("FLOE_INVALID_OPTION");
    expect(error.message).toContain("validates asynchronously");
    expect(error.message).toContain("use a schema without asynchronous refinements");
    await untouched(e);
  });

  it("refuses an input option that is not a Standard Schema, naming the fix", () => {
    const notSchema = thrown(() => task("ti_bad_option", { input: { email: "string" } as never }, async () => 1));
    expect(notSchema.code).toBe("FLOE_INVALID_OPTION");
    expect(notSchema.message).toContain("input is not a Standard Schema");
    expect(notSchema.message).toContain("a zod, valibot or arktype schema");
    const badItem = thrown(() => task("ti_bad_option", { input: [zod.string(), "number"] as never }, async () => 1));
    expect(badItem.message).toContain("input[1] is not a Standard Schema");
  });
});

const greet = task("ti_greet", { input: zod.object({ name: zod.string().trim().check(zod.minLength(1)) }) }, async ({ name }) => `hi ${name}`);
const inlineGreet = task("ti_inline_greet", { inline: true, input: zod.string().check(zod.minLength(2)) }, async (name) => `hey ${name}`);

/** What a workflow saw when it called a child with bad input: the error, and whether the child ran. */
const caller = workflow("ti_caller", async (how: "call" | "submit" | "map" | "inline") => {
  try {
    if (how === "call") await greet({ name: "" });
    else if (how === "submit") greet.submit({ name: 1 as unknown as string });
    else if (how === "map") greet.map([{ name: "ok" }, { name: "" }]);
    else await inlineGreet("x");
    return "accepted";
  } catch (error) {
    return { code: (error as InvalidInputError).code, message: (error as Error).message };
  }
});

describe("typed inputs: validated inside a task", () => {
  it.each(["call", "submit", "map", "inline"] as const)("the %s form throws in the caller's code and creates no child", async (how) => {
    const e = engine();
    const run = e.submit(caller, how);
    expect(await run.result()).toMatchObject({ code: "FLOE_INVALID_INPUT", message: expect.stringMatching(/invalid input for "ti_(inline_)?greet": (name|input): /) });
    expect((await engineOf(e).getRun(run))?.executions.map((x) => x.task)).toEqual(["ti_caller"]);
  });

  it("a child submitted with a transformed input keeps its id when its parent re-runs", async () => {
    const parent = workflow("ti_parent", async () => {
      const first = await greet({ name: "  Ada " });
      const second = await greet({ name: "  Ada " });
      return [first, second];
    });
    // Each await suspends the parent, which re-runs and submits its children again.
    const e = engine({ suspendAfterMs: 0 });
    const run = e.submit(parent);
    expect(await run.result()).toEqual(["hi Ada", "hi Ada"]);
    const view = await engineOf(e).getRun(run);
    const children = view?.executions.filter((x) => x.task === "ti_greet") ?? [];
    // Two calls, two children: no re-run created a third under another id.
    expect(children).toHaveLength(2);
    expect(children.map((c) => c.args)).toEqual([[{ name: "  Ada " }], [{ name: "  Ada " }]]);
  });

  it("refuses an execution passed where the schema describes a value, saying what to pass", async () => {
    const load = task("ti_load", async () => ({ name: "Ada" }));
    const chained = workflow("ti_chained", async () => {
      try {
        greet.submit(load.submit() as never);
        return "accepted";
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(await engine().submit(chained).result()).toContain("pass `await execution.result()`");
  });

  it("fails an attempt whose stored arguments its schema refuses at the start, without retrying", async () => {
    let strict = false;
    const checked = task("ti_schema_changed", { retries: { limit: 3, delayMs: 0 }, input: zod.string().check(zod.refine(() => !strict, "refused by the new schema")) }, async (s) => s);
    const e = engine();
    // A deployment changed the schema between the submit and the start.
    const gate = e.submit(
      workflow("ti_schema_gate", async () => {
        const child = checked.submit("x");
        strict = true;
        return child.result({ raiseOnFailure: false });
      }),
    );
    const error = (await gate.result()) as Error & { code?: string };
    expect(error.message).toContain("refused by the new schema");
    const child = (await engineOf(e).getRun(gate))?.executions.find((x) => x.task === "ti_schema_changed");
    expect(child).toMatchObject({ state: "failed", attempt: 1, error: { code: "FLOE_INVALID_INPUT" } });
  });
});

describe("typed inputs: validated at the HTTP API", () => {
  async function post(e: EmbeddedEngine, name: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const response = await createApiHandler({ runtime: e })(apiEvent("POST", `/workflows/${name}/executions`, { body, headers }));
    return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? "null") };
  }

  it.each([
    { name: "ti_zod_sign_up", args: [{ email: "nope", name: "Ada" }], field: "args.0.email" },
    { name: "ti_valibot_sign_up", args: [{ email: "ada@example.com", age: 3 }], field: "args.0.age" },
    { name: "ti_ark_sign_up", args: [{ email: 5 }], field: "args.0.email" },
  ])("answers 400 naming $field for $name, and writes nothing", async ({ name, args, field }) => {
    const e = engine();
    for (const headers of [{}, { "idempotency-key": "k-1" }] as Record<string, string>[]) {
      const answer = await post(e, name, { args }, headers);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("FLOE_INVALID_INPUT");
      expect(Object.keys(answer.body.error.fields)).toEqual([field]);
      expect(answer.body.error.message).toContain(`invalid input for "${name}"`);
    }
    await untouched(e);
  });

  it("answers 400 on floe dev's server too, naming the field, and writes nothing", async () => {
    const e = engine();
    const api = localApi(() => e);
    const body = JSON.stringify({ args: [{ email: "ada@example.com", name: 7 }] });
    const answer = await api({ method: "POST", path: "/workflows/ti_zod_sign_up/executions", search: "", headers: {}, body, owner: false });
    expect(answer.status).toBe(400);
    expect((answer.body as { error: { fields: Record<string, string> } }).error.fields).toEqual({ "args.0.name": expect.stringContaining("expected string") });
    await untouched(e);
  });

  it("starts a run with valid arguments", async () => {
    const e = engine();
    const answer = await post(e, "ti_zod_sign_up", { args: [{ email: "ada@example.com", name: "Ada" }] });
    expect(answer.status).toBe(202);
    expect(await e.reference(answer.body.id).result()).toBe("Ada <ada@example.com> on free");
  });
});

describe("typed inputs: types", () => {
  it("types the parameters by the schema's output and the arguments by its input", () => {
    expectTypeOf(zodSignUp).parameters.toEqualTypeOf<[{ email: string; name: string; plan?: "free" | "pro" | undefined }]>();
    expectTypeOf<ReturnType<typeof zodSignUp.submit>>().toEqualTypeOf<Execution<string>>();
    expectTypeOf(resize).parameters.toEqualTypeOf<[string, unknown]>();
    expectTypeOf(valibotSignUp).parameters.toEqualTypeOf<[{ email: string; age?: number | undefined }]>();
    expectTypeOf(arkSignUp).parameters.toEqualTypeOf<[{ email: string; tags?: string[] }]>();
    task("ti_types_output", { input: zodUser }, async (user) => {
      // The code sees the default applied: plan is always there.
      expectTypeOf(user.plan).toEqualTypeOf<"free" | "pro">();
    });
    task("ti_types_list", { input: [zod.string(), zod.number()] }, async (key, n) => {
      expectTypeOf(key).toEqualTypeOf<string>();
      expectTypeOf(n).toEqualTypeOf<number>();
    });
  });

  it("refuses, at compile time, arguments the schema does not describe", () => {
    const e = engine();
    // @ts-expect-error: email is missing
    expect(() => e.submit(zodSignUp, { name: "Ada" })).toThrow(/email/);
    // @ts-expect-error: name is a string
    expect(() => zodSignUp.submit({ email: "ada@example.com", name: 1 })).toThrow();
    // @ts-expect-error: tags are strings
    expect(() => e.submit(arkSignUp, { email: "ada@example.com", tags: [1] })).toThrow();
    // @ts-expect-error: a task whose parameter does not accept the schema's output
    task("ti_types_mismatch", { input: zod.string() }, async (n: number) => n);
  });

  it("accepts any Standard Schema, not only the three libraries'", async () => {
    const even: StandardSchemaV1<number, number> = {
      "~standard": { version: 1, vendor: "hand", validate: (value) => (typeof value === "number" && value % 2 === 0 ? { value } : { issues: [{ message: "must be even" }] }) },
    };
    const half = task("ti_hand_schema", { input: even }, async (n) => n / 2);
    const e = engine();
    expect(thrown(() => e.submit(half, 3)).message).toBe('invalid input for "ti_hand_schema": input: must be even');
    expect(await e.submit(half, 4).result()).toBe(2);
  });
});
