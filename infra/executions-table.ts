/**
 * The executions table, built from the contract's definition (`executionTableDefinition`),
 * which the store and the local cloud use too, so keys, indexes and stream cannot drift apart.
 */
import type { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";
import { executionTableDefinition } from "../sdk/aws/contract.ts";

/** The TTL attribute: an execution record expires at this time, in epoch seconds. */
export const expiryAttribute = "expiresAt";

/**
 * Creates the table: on demand, a stream of new and old images, point-in-time recovery and
 * a TTL attribute, with the shared definition's keys and key-only indexes.
 *
 * @param scope - the parent
 * @param id - the construct id
 * @param removalPolicy - what happens to the table when it leaves the stack
 * @returns the table
 */
export function executionsTable(scope: Construct, id: string, removalPolicy: RemovalPolicy): dynamodb.Table {
  const definition = executionTableDefinition("unused");
  const types = new Map((definition.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  const attribute = (name: string | undefined): dynamodb.Attribute => {
    const type = name === undefined ? undefined : types.get(name);
    if (name === undefined || type === undefined) throw new Error(`the shared table definition has no type for key ${name}`);
    const byLetter = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY };
    return { name, type: byLetter[type] };
  };
  const keys = (schema: readonly { AttributeName?: string; KeyType?: string }[] | undefined) => ({
    partitionKey: attribute(schema?.find((k) => k.KeyType === "HASH")?.AttributeName),
    sortKey: attribute(schema?.find((k) => k.KeyType === "RANGE")?.AttributeName),
  });
  const table = new dynamodb.Table(scope, id, {
    ...keys(definition.KeySchema),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: expiryAttribute,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy,
  });
  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: index.IndexName!,
      ...keys(index.KeySchema),
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
  }
  return table;
}
