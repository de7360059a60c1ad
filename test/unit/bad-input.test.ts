import { describe, expect, it } from "vitest";
import { createEngine, task, unmapped, workflow, type Execution } from "floe";
import { thrown } from "../support/thrown.ts";
import { untouched, useEmbeddedEngines } from "../support/embedded-engines.ts";

const engine = useEmbeddedEngines();

const echo = task("b_echo", async (...args: unknown[]) => args.length);
const pair = task("b_pair", { wait: [2] }, async (_a: unknown, _b: unknown) => "ran");
const byProps = task("b_props", { wait: ["product"] }, async (_input: { user?: unknown; product?: unknown }) => "ran");

describe("bad input", () => {
  it("refuses a second task with the same name and keeps the first", async () => {
    task("b_unique", async () => "first");
    const error = thrown(() => task("b_unique", async () => "second"));
    expect(error.code).toBe("FLOE_DUPLICATE_TASK");
    expect(error.message).toContain('named "b_unique" is already defined');
    expect(error.message).toContain("rename one of them");
    expect(await engine().submit("b_unique").result()).toBe("first");
  });

  it("refuses a task and a workflow with the same name", () => {
    expect(thrown(() => workflow("b_echo", async () => 1)).code).toBe("FLOE_DUPLICATE_TASK");
  });

  it("refuses an unknown task name, lists the known ones and writes nothing", async () => {
    const e = engine();
    const error = thrown(() => e.submit("no_such_task"));
    expect(error.code).toBe("FLOE_UNKNOWN_TASK");
    expect(error.message).toContain('no task or workflow is named "no_such_task"');
    expect(error.message).toContain('"b_echo"');
    await untouched(e);
  });

  it("refuses a non-serialisable argument at submit, naming its path, and writes nothing", async () => {
    const e = engine();
    const error = thrown(() => e.submit(echo, 1, { user: { name: "ada", save() {} } }));
    expect(error.code).toBe("FLOE_NOT_SERIALIZABLE");
    expect(error.message).toContain("args[1].user.save is a function (save)");
    expect(error.message).toContain("Pass plain data instead");
    await untouched(e);
  });

  it("names the class of a class instance passed as an argument", () => {
    class Connection {}
    const error = thrown(() => engine().submit(echo, [new Connection()]));
    expect(error.message).toContain("args[0][0] is an instance of Connection");
  });

  it("fails an execution whose result cannot be serialised, naming the path, without retrying", async () => {
    const e = engine();
    let runs = 0;
    const leaky = task("b_leaky", { retries: 3 }, async () => {
      runs += 1;
      return { handle: { close: () => undefined } };
    });
    const error = (await e.submit(leaky).result({ raiseOnFailure: false })) as Error & { code: string };
    expect(error.code).toBe("FLOE_NOT_SERIALIZABLE");
    expect(error.message).toContain("result.handle.close is a function");
    expect(runs).toBe(1);
  });

  it("refuses wait naming an argument position that was not passed, and writes nothing", async () => {
    const e = engine();
    const error = thrown(() => e.submit(pair, 1, 2));
    expect(error.code).toBe("FLOE_INVALID_OPTION");
    expect(error.message).toContain('"b_pair" waits for argument 2, but it was called with 2 argument(s)');
    await untouched(e);
  });

  it("refuses wait naming a property the single object argument does not have, and writes nothing", async () => {
    const e = engine();
    const error = thrown(() => e.submit(byProps, { user: 1, prodct: 2 } as never));
    expect(error.message).toContain('waits for property "product", which its argument does not have (it has "user", "prodct")');
    expect(thrown(() => e.submit(byProps, 1 as never)).message).toContain("that is not a plain object");
    await untouched(e);
  });

  it.each([
    [{ retries: 150 }, "retries must be between 0 and 100, got 150"],
    [{ retries: -1 }, "retries must be between 0 and 100, got -1"],
    [{ retries: 1.5 }, "retries must be a whole number, got 1.5"],
    [{ retries: { limit: 2, backoff: "linear" } }, 'retries.backoff must be "exponential" or "fixed", got "linear"'],
    [{ retries: { limit: 2, delayMs: -5 } }, "retries.delayMs must be at least 0, got -5"],
    [{ timeoutMs: 0 }, "timeoutMs must be at least 1, got 0"],
    [{ timeoutMs: "5s" }, 'timeoutMs must be a number of milliseconds, got "5s"'],
    [{ wait: [-1] }, "wait must be true, argument positions"],
    [{ wait: [0, "user"] }, "wait mixes positions and property names"],
    [{ inline: "yes" }, 'inline must be true or false, got "yes"'],
    [{ inline: 1 }, "inline must be true or false, got 1"],
    [{ retry: 3 }, "unknown option retry; the options are wait, retries, timeoutMs, inline, schedule, debounce, cache, memo, input, runner, concurrency and rateLimit"],
  ])("refuses invalid options %j with a message naming the option and the value", (options, message) => {
    const name = `b_opt_${Math.random().toString(36).slice(2, 8)}`;
    const error = thrown(() => task(name, options as never, async () => 1));
    expect(error.code).toBe("FLOE_INVALID_OPTION");
    expect(error.message).toContain(`invalid options for task "${name}"`);
    expect(error.message).toContain(message);
    // Nothing was registered: the name is still free.
    expect(() => task(name, async () => 1)).not.toThrow();
  });

  it("refuses an invalid task name", () => {
    expect(thrown(() => task("load user!", async () => 1)).message).toContain('invalid task name "load user!"');
  });

  it("refuses invalid engine options", () => {
    expect(thrown(() => createEngine({ concurrency: 0 })).message).toContain("invalid createEngine options: concurrency");
  });

  it("refuses result() on an execution of another engine inside a task", async () => {
    const a = engine();
    const b = engine();
    const foreign = a.submit(echo, 1);
    await foreign.result();
    const awaitForeign = task("b_await_foreign", async () => foreign.result());
    const error = (await b.submit(awaitForeign).result({ raiseOnFailure: false })) as Error & { code: string };
    expect(error.code).toBe("FLOE_FOREIGN_EXECUTION");
    expect(error.message).toContain("an execution of another engine was awaited");
  });

  it("refuses an execution of another engine as an argument, and writes nothing", async () => {
    const a = engine();
    const b = engine();
    const foreign: Execution<number> = a.submit(echo, 1);
    const error = thrown(() => b.submit(echo, foreign));
    expect(error.code).toBe("FLOE_FOREIGN_EXECUTION");
    expect(error.message).toContain("belongs to another engine");
    await untouched(b);
  });

  it("fails a wait in progress when its engine closes", async () => {
    const e = engine();
    const stuck = task("b_stuck", async () => new Promise<never>(() => undefined));
    const pending = e.submit(stuck).result();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await e.close();
    await expect(pending).rejects.toMatchObject({ code: "FLOE_ENGINE_CLOSED" });
  });

  it("refuses to submit to or wait on a closed engine", async () => {
    const e = engine();
    const execution = e.submit(echo, 1);
    await e.close();
    expect(thrown(() => e.submit(echo, 1)).code).toBe("FLOE_ENGINE_CLOSED");
    await expect(execution.result()).rejects.toMatchObject({ code: "FLOE_ENGINE_CLOSED" });
  });

  it("refuses map() arguments of different lengths, and map() with nothing to map over", () => {
    const error = thrown(() => echo.map([1, 2], [1]));
    expect(error.code).toBe("FLOE_INVALID_OPTION");
    expect(error.message).toContain("args[0] has 2 items, args[1] has 1");
    expect(thrown(() => echo.map(unmapped(1))).message).toContain("needs at least one iterable argument");
  });

  it("refuses arguments over the payload limit at submit, naming the limit, and writes nothing", async () => {
    const e = engine({ maxPayloadBytes: 100 });
    const error = thrown(() => e.submit(echo, "x".repeat(200)));
    expect(error.code).toBe("FLOE_PAYLOAD_TOO_LARGE");
    expect(error.message).toContain("over the limit of 100");
    await untouched(e);
  });

  it("fails an execution whose result is over the payload limit, without retrying", async () => {
    const e = engine({ maxPayloadBytes: 100 });
    let runs = 0;
    const huge = task("b_huge", { retries: 3 }, async () => {
      runs += 1;
      return "y".repeat(500);
    });
    const error = (await e.submit(huge).result({ raiseOnFailure: false })) as Error & { code: string };
    expect(error.code).toBe("FLOE_PAYLOAD_TOO_LARGE");
    expect(error.message).toContain("over the limit of 100");
    expect(runs).toBe(1);
  });
});
