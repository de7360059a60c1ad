/**
 * Wake-ups past SQS's 15 minutes as one-time EventBridge Scheduler schedules: instead of a
 * message delayed 900 s that arrives early and is sent again every 15 minutes (a Lambda
 * invocation, a refused claim and a read per hop, 2,880 hops for a 30-day sleep), one
 * schedule at the due time sends the message to the task's queue, then deletes itself.
 * Scheduler may fire up to a minute late, or rarely early: an early message is sent again
 * by the engine with the delay left, as any early delivery.
 */
import { createHash } from "node:crypto";
import { CreateScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import type { TaskMessage } from "../engine/model.ts";
import { encodeMessage } from "./sqs-task-queue.ts";

/** What {@link WakeScheduler} needs: the client and where schedules go and whom they act as. */
export interface WakeSchedulerOptions {
  readonly client: SchedulerClient;
  /** The schedule group the wake-ups are made in (the construct's, `FLOE_WAKE_SCHEDULE_GROUP`). */
  readonly groupName: string;
  /** The role Scheduler sends with: `sqs:SendMessage` on the task queues only. */
  readonly roleArn: string;
  /** The ARN of a task's queue. */
  readonly queueArn: (taskName: string) => string;
  /** The time the delays count from: the runtime's clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * The name of a message's wake-up schedule: its due second (so names sort by time) and a
 * digest of the execution, the attempt and that second, 38 characters of Scheduler's 64.
 * A repeated send of the same wake-up (a redelivery's repair) derives the same name, and
 * Scheduler refuses the second with `ConflictException`: one schedule.
 *
 * @param message - the task message
 * @param dueSecond - when it is due, epoch seconds
 */
export function wakeScheduleName(message: TaskMessage, dueSecond: number): string {
  const digest = createHash("sha256").update(`${message.executionId}\u0000${message.attempt}\u0000${dueSecond}`).digest("base64url").slice(0, 22);
  return `floe-${dueSecond}-${digest}`;
}

/** Makes one-time schedules that send task messages at their due time. */
export class WakeScheduler {
  readonly #o: WakeSchedulerOptions;

  /** @param options - the client, group, role and queues */
  constructor(options: WakeSchedulerOptions) {
    this.#o = options;
  }

  /**
   * Schedules `message` to be sent to its task's queue `delayMs` from now (rounded up to
   * the second: `at()` has no finer grain, and a wake-up is never early by it).
   * @throws the client's error, except `ConflictException`: the schedule exists already
   */
  async schedule(message: TaskMessage, delayMs: number): Promise<void> {
    const dueSecond = Math.ceil(((this.#o.now ?? Date.now)() + delayMs) / 1000);
    try {
      await this.#o.client.send(
        new CreateScheduleCommand({
          Name: wakeScheduleName(message, dueSecond),
          GroupName: this.#o.groupName,
          ScheduleExpression: `at(${new Date(dueSecond * 1000).toISOString().slice(0, 19)})`,
          ScheduleExpressionTimezone: "UTC",
          FlexibleTimeWindow: { Mode: "OFF" },
          ActionAfterCompletion: "DELETE",
          Description: `floe: wakes execution ${message.executionId} (attempt ${message.attempt})`.slice(0, 512),
          Target: {
            Arn: this.#o.queueArn(message.taskName),
            RoleArn: this.#o.roleArn,
            Input: encodeMessage(message),
            // Scheduler retries a send SQS refused for up to a day.
            RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== "ConflictException") throw error;
    }
  }
}
