/**
 * What each of floe's functions does with the orchestrator's table, queues and bucket, and
 * the grant that allows exactly that. The shares follow the handlers' code paths (the
 * engine methods each calls, down to the AWS adapters' requests), so a role holds no
 * action its function never makes.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { executionTableDefinition } from "../sdk/aws/contract.ts";

/** Where payloads go in the bucket (the blob store's default prefix). */
export const payloadPrefix = "payloads/";

/** A function's share of the orchestrator's data. */
export interface DataAccess {
  /** DynamoDB actions on the table's items (a transaction's items need their own actions). */
  readonly table: readonly string[];
  /** The indexes it queries. */
  readonly indexes: readonly string[];
  /** Whether it sends task messages: to every task queue, since a release may queue any task. */
  readonly send: boolean;
  /** S3 actions on the objects under {@link payloadPrefix}. */
  readonly payloads: readonly string[];
}

/** Every index of the shared table definition: the construct's table has the same. */
const allIndexes = (executionTableDefinition("unused").GlobalSecondaryIndexes ?? []).map((index) => index.IndexName!);

/**
 * Releasing dependents: read the links out of an execution (its record, and a query of the
 * link items of one with more dependents than its record holds) and the downstream's record,
 * decrement counters (an update), queue a downstream that is ready (an update, then a send).
 * Under a concurrency limit, a downstream held is noted (a put) and a freed slot's release
 * forgets the note of the one it admits (a delete).
 */
const release = {
  table: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
  indexes: [],
  send: true,
  payloads: [],
} as const satisfies DataAccess;

/** The shares, by role. */
export const dataAccess = {
  /**
   * The whole engine: submitting (puts of records and edges), running attempts, reading
   * results and runs through every index, cancelling, payloads both ways. Workers (user
   * code submits, waits and reads) and the API need it, and `grantDataAccess` grants it.
   */
  engine: {
    table: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    indexes: allIndexes,
    send: true,
    payloads: ["s3:GetObject", "s3:PutObject"],
  },
  /** Releases the dependents of finished executions, from the stream: nothing more. */
  coordinator: release,
  /**
   * Fails a dead-lettered execution (a read, then an update) and releases its dependents;
   * its error is written to the bucket when over the blob threshold, and never read back.
   */
  deadLetter: { ...release, payloads: ["s3:PutObject"] },
  /**
   * Finds executions queued long past their due time, whose message may be lost (the
   * sparse queued index, then the records by key), and sends them again: no write to the
   * table and no payload. If it comes to query another
   * index, test/infra/data-access.test.ts names it.
   */
  reconciler: { table: ["dynamodb:BatchGetItem"], indexes: ["byQueued"], send: true, payloads: [] },
} as const satisfies Record<string, DataAccess>;

/** The resources a share applies to. */
export interface DataResources {
  readonly table: dynamodb.ITable;
  /** The ARN pattern of every task queue: one resource however many tasks there are. */
  readonly taskQueueArns: string;
  readonly bucket: s3.IBucket;
}

/**
 * Grants `grantee` exactly `access` on `resources`.
 *
 * @param grantee - the principal to grant to
 * @param access - what it does with the data
 * @param resources - the orchestrator's table, task queues and bucket
 * @returns the grant
 */
export function grantData(grantee: iam.IGrantable, access: DataAccess, resources: DataResources): iam.Grant {
  const { tableArn } = resources.table;
  const grants = [
    iam.Grant.addToPrincipal({ grantee, actions: [...access.table], resourceArns: [tableArn] }),
  ];
  if (access.indexes.length > 0) {
    const resourceArns = access.indexes.map((index) => `${tableArn}/index/${index}`);
    grants.push(iam.Grant.addToPrincipal({ grantee, actions: ["dynamodb:Query"], resourceArns }));
  }
  if (access.send) {
    grants.push(iam.Grant.addToPrincipal({ grantee, actions: ["sqs:SendMessage"], resourceArns: [resources.taskQueueArns] }));
  }
  if (access.payloads.length > 0) {
    const resourceArns = [resources.bucket.arnForObjects(`${payloadPrefix}*`)];
    grants.push(iam.Grant.addToPrincipal({ grantee, actions: [...access.payloads], resourceArns }));
  }
  return grants.reduce((all, grant) => all.combine(grant));
}
