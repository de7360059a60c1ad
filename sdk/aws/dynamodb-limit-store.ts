/**
 * The counters of concurrency and rate limits in the executions table, kept apart from
 * executions as idempotency records are: in partitions of their own (`L#<limit>`), with no
 * index attribute, and a `type` the coordinator's stream filter passes by.
 *
 * | item | pk | sk |
 * | --- | --- | --- |
 * | a concurrency limit's holders (a string set of execution ids) | `L#<limit>` | `L` |
 * | an execution it holds back | `L#<limit>` | `W#<since, 15 digits>#<id>` |
 * | a rate limit's count of starts in one window of its period | `L#<limit>` | `R#<window>`; `expiresAt`, the TTL attribute, an hour after the window ends |
 */
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LimitStore, LimitWaiter } from "../engine/ports.ts";
import { isConditionFailure } from "./dynamodb-conditions.ts";

/** The client and table of a {@link DynamoDbLimitStore}. */
export interface DynamoDbLimitStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const pkOf = (key: string): string => `L#${key}`;
/** How long a rate window's item outlives the window: TTL deletes late, and nothing reads an ended window. */
const windowGraceSeconds = 3_600;
const waiterSk = (waiter: LimitWaiter): string => `W#${String(waiter.since).padStart(15, "0")}#${waiter.id}`;

/** A {@link LimitStore} on DynamoDB: each method one request (one conditional write, one read or one query). */
export class DynamoDbLimitStore implements LimitStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  /** @param options - the document client and the table's name */
  constructor(options: DynamoDbLimitStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
  }

  async acquire(key: string, id: string, limit: number): Promise<{ admitted: boolean; holders: number }> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pkOf(key), sk: "L" },
          // A holder asking again is let through: its one slot is counted once.
          UpdateExpression: "ADD holders :ids SET #type = :type",
          ConditionExpression: "attribute_not_exists(holders) OR contains(holders, :id) OR size(holders) < :limit",
          ExpressionAttributeNames: { "#type": "type" },
          ExpressionAttributeValues: { ":ids": new Set([id]), ":id": id, ":limit": limit, ":type": "limit" },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { admitted: true, holders: sizeOf(Attributes?.holders) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { admitted: false, holders: limit };
    }
  }

  async vacate(key: string, id: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pkOf(key), sk: "L" },
          UpdateExpression: "DELETE holders :ids",
          // Nothing to write when it holds no slot (a repeated release): no item made either.
          ConditionExpression: "contains(holders, :id)",
          ExpressionAttributeValues: { ":ids": new Set([id]), ":id": id },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async hold(key: string, waiter: LimitWaiter): Promise<void> {
    await this.#client.send(
      new PutCommand({ TableName: this.#table, Item: { pk: pkOf(key), sk: waiterSk(waiter), type: "limit-waiter", id: waiter.id, since: waiter.since } }),
    );
  }

  async unhold(key: string, waiter: LimitWaiter): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#table, Key: { pk: pkOf(key), sk: waiterSk(waiter) } }));
  }

  async waiters(key: string, count: number): Promise<LimitWaiter[]> {
    const { Items } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
        ExpressionAttributeValues: { ":pk": pkOf(key), ":w": "W#" },
        ConsistentRead: true,
        Limit: count,
      }),
    );
    return (Items ?? []).map((item) => ({ id: item.id as string, since: item.since as number }));
  }

  async countStart(key: string, window: number, periodMs: number): Promise<number> {
    const { Attributes } = await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: pkOf(key), sk: `R#${window}` },
        // No condition: a count past the limit is an answer, not a failure, so concurrent
        // starts never make each other's writes fail.
        UpdateExpression: "ADD #starts :one SET #type = :type, expiresAt = :expires",
        ExpressionAttributeNames: { "#starts": "starts", "#type": "type" },
        ExpressionAttributeValues: { ":one": 1, ":type": "limit", ":expires": Math.ceil(((window + 1) * periodMs) / 1000) + windowGraceSeconds },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Attributes?.starts as number;
  }
}

function sizeOf(holders: unknown): number {
  return holders instanceof Set ? holders.size : 0;
}
