/**
 * The counters of concurrency and rate limits in the executions table, kept apart from
 * executions as idempotency records are: in partitions of their own (`L#<limit>`), with no
 * index attribute, and a `type` the coordinator's stream filter passes by.
 *
 * | item | pk | sk |
 * | --- | --- | --- |
 * | a concurrency limit's holders (a string set of tokens, digests of execution ids) | `L#<limit>` | `L` |
 * | an execution it holds back | `L#<limit>` | `W#<since, 15 digits>#<id>` |
 * | a rate limit's count of starts in one window of its period | `L#<limit>` | `R#<window>`; `expiresAt`, the TTL attribute, an hour after the window ends |
 */
import { createHash } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LimitStore, LimitWaiter, Slot, Slots } from "../engine/ports.ts";
import { isConditionFailure } from "./dynamodb-conditions.ts";

/** The client and table of a {@link DynamoDbLimitStore}. */
export interface DynamoDbLimitStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const pkOf = (key: string): string => `L#${key}`;
/** How long a rate window's item outlives the window: TTL deletes late, and nothing reads an ended window. */
const windowGraceSeconds = 3_600;
/**
 * A holder's token in the set: 12 characters of its id's SHA-256 (72 bits), so a limit of
 * 50 keeps its item under one write unit (a whole execution id is five times longer, and
 * every write is billed by the item's size).
 */
const tokenOf = (id: string): string => createHash("sha256").update(id).digest("base64url").slice(0, 12);
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

  async acquire(key: string, id: string, limit: number): Promise<Slot> {
    const token = tokenOf(id);
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pkOf(key), sk: "L" },
          // A holder asking again is let through: its one slot is counted once.
          UpdateExpression: "ADD holders :tokens SET #type = :type",
          ConditionExpression: "attribute_not_exists(holders) OR contains(holders, :token) OR size(holders) < :limit",
          ExpressionAttributeNames: { "#type": "type" },
          ExpressionAttributeValues: { ":tokens": new Set([token]), ":token": token, ":limit": limit, ":type": "limit" },
          // The whole item as it was (a few hundred bytes): an ADD of a token already in the
          // set changes nothing, and UPDATED_OLD would then leave out the holders.
          ReturnValues: "ALL_OLD",
        }),
      );
      const before = Attributes?.holders instanceof Set ? (Attributes.holders as Set<string>) : new Set<string>();
      const added = !before.has(token);
      return { admitted: true, added, holders: before.size + (added ? 1 : 0) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { admitted: false, added: false, holders: limit };
    }
  }

  async slots(key: string, ids: readonly string[]): Promise<Slots> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: { pk: pkOf(key), sk: "L" }, ConsistentRead: true }));
    const holders = Item?.holders instanceof Set ? (Item.holders as Set<string>) : new Set<string>();
    return { holding: ids.filter((id) => holders.has(tokenOf(id))), holders: holders.size };
  }

  async vacate(key: string, id: string): Promise<void> {
    const token = tokenOf(id);
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pkOf(key), sk: "L" },
          UpdateExpression: "DELETE holders :tokens",
          // Nothing to write when it holds no slot (a repeated release): no item made either.
          ConditionExpression: "contains(holders, :token)",
          ExpressionAttributeValues: { ":tokens": new Set([token]), ":token": token },
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

  async waiters(key: string, count: number, after?: LimitWaiter): Promise<LimitWaiter[]> {
    const { Items } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :w)",
        ExpressionAttributeValues: { ":pk": pkOf(key), ":w": "W#" },
        ConsistentRead: true,
        Limit: count,
        ...(after === undefined ? {} : { ExclusiveStartKey: { pk: pkOf(key), sk: waiterSk(after) } }),
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
