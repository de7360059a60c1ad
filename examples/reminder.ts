/**
 * Durable time: `sign_up` welcomes a user, sleeps, then nudges them if they have not
 * finished their profile, and books a follow-up with a delayed start. While it sleeps the
 * run is `sleeping` until its wake time: it holds no slot and runs no code,
 * and on the cloud it survives any restart. The delays are seconds here so the example
 * runs quickly; days work the same way (up to 30).
 *
 * Run it with `floe run examples/reminder.ts sign_up ada@example.com`.
 */
import { sleep, task, workflow } from "floe";

/** Sends an email (a stand-in for a mail API call). */
export const sendEmail = task("send_email", async (to: string, subject: string) => ({ to, subject, sentAt: new Date() }));

/** Whether the user finished their profile (a stand-in for a database read). */
export const profileDone = task("profile_done", async (email: string) => email.startsWith("done"));

/**
 * Welcomes a user, waits, and nudges them if needed; books a follow-up for later.
 *
 * @example
 * const result = await engine.submit(signUp, "ada@example.com").result();
 */
export const signUp = workflow("sign_up", async (email: string) => {
  await sendEmail(email, "Welcome!");
  // Seconds for the example; `sleep(86_400_000)` waits a day, `sleep(new Date(...))` until a time.
  await sleep(2_000);
  const nudged = (await profileDone(email)) ? undefined : await sendEmail(email, "Finish your profile");
  // Starts in 3 seconds whatever this run does meanwhile; nothing waits for it.
  const followUp = sendEmail.with({ delayMs: 3_000 }).submit(email, "How is it going?");
  return { nudged: nudged !== undefined, followUp: followUp.id };
});
