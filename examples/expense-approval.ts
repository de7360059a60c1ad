/**
 * An expense approval: `submit_expense` emails the manager a single-use link, reminds them
 * if no answer comes in time, and pays or refuses once they answer. The answer is an
 * external execution (`external()`): completed from outside by a POST to its callback URL
 * (no credentials: the link is the proof), or over the API (`floe complete <id> --result
 * '{"approved":true}'`); with none by its timeout it fails with `FLOE_TIMEOUT`. A simulated
 * manager "clicks" the link a few seconds in. Seconds here so the example runs quickly; a
 * day for the reminder and three for the timeout work the same way.
 *
 * Under `floe dev examples/expense-approval.ts`, start it with
 * `floe run --api http://127.0.0.1:3700 submit_expense ada 42000`: the link names the server,
 * the manager's POST completes the approval, and the expense is paid. With
 * `floe run examples/expense-approval.ts submit_expense ada 42000` no server answers the
 * link (it is relative): the reminder goes out, and the approval times out.
 */
import { external, sleep, task, workflow, type Execution } from "floe";

const REMINDER_MS = 3_000;
const MANAGER_ANSWERS_AFTER_MS = 5_000;
const TIMEOUT_MS = 15_000;

/** Emails the manager the approval link (a stand-in for a mail API call). */
export const emailManager = task("email_manager", async (employee: string, amountCents: number, link: string) => {
  console.log(`to the manager: ${employee} spent $${(amountCents / 100).toFixed(2)}; approve: POST {"result":{"approved":true}} to ${link}`);
  return link;
});

/** Reminds the manager if the approval is still waiting after a while (it sleeps durably). */
export const remindManager = task("remind_manager", async (approval: Execution<{ approved: boolean }>, link: string) => {
  await sleep(REMINDER_MS);
  if ((await approval.state()) !== "waiting") return "not needed";
  console.log(`reminder to the manager: an expense still waits for you at ${link}`);
  return "reminded";
});

/** A manager who clicks the link a little later: a stand-in for a person. */
export const simulatedManager = task("simulated_manager", async (link: string, approve: boolean) => {
  await sleep(MANAGER_ANSWERS_AFTER_MS);
  if (!link.startsWith("http")) return `no server answers ${link}`;
  const response = await fetch(link, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ result: { approved: approve } }) });
  return `answered: ${response.status}`;
});

/** Pays the employee back (a stand-in for a payments API call). */
export const pay = task("pay_expense", async (employee: string, amountCents: number) => ({ employee, amountCents, paidAt: new Date() }));

/**
 * Submits an expense for the manager's approval; pays it if approved.
 *
 * @example
 * const outcome = await engine.submit(submitExpense, "ada", 42_000).result();
 */
export const submitExpense = workflow("submit_expense", async (employee: string, amountCents: number) => {
  const approval = external<{ approved: boolean }>("manager_approval", { timeoutMs: TIMEOUT_MS });
  // The link is the same on every re-run of this code, so the email is sent once.
  await emailManager(employee, amountCents, approval.callbackUrl);
  simulatedManager.submit(approval.callbackUrl, amountCents <= 100_000);
  const reminder = remindManager.submit(approval, approval.callbackUrl);
  const answer = await approval.result({ raiseOnFailure: false });
  await reminder.result();
  if (answer instanceof Error) {
    return { employee, status: (answer as Error & { code?: string }).code === "FLOE_TIMEOUT" ? "no answer in time" : `refused: ${answer.message}` };
  }
  if (!answer.approved) return { employee, status: "rejected" };
  return { employee, status: "paid", payment: await pay(employee, amountCents) };
});
