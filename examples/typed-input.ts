/**
 * Typed inputs: `input` takes any Standard Schema (zod here; valibot and arktype work the
 * same), types the function's parameter, and refuses bad arguments at submit and at the
 * HTTP API, naming the field, before anything is written. The code receives the schema's
 * output: the trimmed name, the default plan.
 *
 * Run it with `floe run examples/typed-input.ts sign_up_typed '{"email":"ada@example.com","name":" Ada "}'`;
 * `'{"email":"ada"}'` is refused with a 400 naming `args.0.email` and `args.0.name`.
 */
import * as z from "zod";
import { task, workflow } from "floe";

/** What a sign-up carries; `plan` defaults to "free". */
export const SignUp = z.object({
  email: z.email(),
  name: z.string().trim().check(z.minLength(1, "a name is needed")),
  plan: z.enum(["free", "pro"]).default("free"),
});

/** Several arguments: one schema per argument, here a user's id and a number of credits. */
export const grantCredits = task("grant_credits", { input: [z.string(), z.int().check(z.positive())] }, async (userId, credits) => ({ userId, credits }));

/**
 * Creates the account, and gives a pro plan its credits.
 *
 * @example
 * const account = await engine.submit(signUp, { email: "ada@example.com", name: " Ada " }).result();
 */
export const signUp = workflow("sign_up_typed", { input: SignUp }, async (user) => {
  // `user` is the schema's output: `user.plan` is "free" | "pro", never undefined.
  const account = { id: `acct-${user.email}`, name: user.name, plan: user.plan };
  const credits = user.plan === "pro" ? await grantCredits(account.id, 100) : undefined;
  return { ...account, credits: credits?.credits ?? 0 };
});
