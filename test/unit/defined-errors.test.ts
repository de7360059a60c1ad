/** `defineError`: a user's error class with a name minification keeps, and bad input refused. */
import { describe, expect, it } from "vitest";
import { ErrorCode, defineError, task } from "floe";

const thrown = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("did not throw");
};

describe("defineError", () => {
  it("makes an Error class named by its literal, with an optional code; a subclass keeps its own name", () => {
    const Declined = defineError("DefinedDeclined", { code: "DECLINED" });
    const error = new Declined("no", { cause: 1 });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "DefinedDeclined", message: "no", code: "DECLINED", cause: 1 });
    class Hard extends Declined {}
    expect(new Hard("x").name).toBe("Hard");
    expect(new Hard("x")).toBeInstanceOf(Declined);
    expect(new Declined("x")).not.toBeInstanceOf(Hard);
    expect(new (defineError("DefinedDeclined"))("same kind")).toBeInstanceOf(Declined);
    expect(new (defineError("OtherKind"))("other kind")).not.toBeInstanceOf(Declined);
  });

  it.each([["not an identifier"], [""], ["TimeoutError"], ["FloeError"]])("refuses the name %j, naming the fix", (name) => {
    const error = thrown(() => defineError(name));
    expect(error.code).toBe(ErrorCode.InvalidOption);
    expect(error.message).toContain(JSON.stringify(name));
    expect(error.message).toContain('e.g. "PaymentDeclined"');
  });

  it("is accepted by retryOn, where a function that is not a class is refused", () => {
    const Declined = defineError("RetryOnDeclined");
    expect(() => task("defined_retry_on", { retries: { limit: 1, retryOn: [Declined, "TimeoutError"] } }, async () => 1)).not.toThrow();
    const error = thrown(() =>
      task("defined_retry_on_arrow", { retries: { limit: 1, retryOn: [(() => true) as unknown as typeof Declined] } }, async () => 1),
    );
    expect(error.message).toContain("retries.retryOn must be a list of error names, codes or classes");
  });
});
