/**
 * A stack's data resources created on the emulators as its template describes them: each
 * DynamoDB table (keys, indexes, stream), S3 bucket and SQS queue (name, visibility
 * timeout, retention, redrive to its dead-letter queue). Returns what the template's `Ref`
 * and `Fn::GetAtt` of them resolve to, as CloudFormation would: a queue's `Ref` is its URL,
 * a table's `Fn::GetAtt … StreamArn` its stream. An HTTP API is not created (the API
 * function is invoked directly), but its endpoint resolves, to the URL that serves it
 * locally when one is given: the functions read it as `FLOE_API_URL`.
 */
import { createHash } from "node:crypto";
import { CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { resolveValue, resourcesOfType, text, type Resolver, type StackTemplate } from "./template.ts";

/** The account and region resources are made in. */
export const account = "000000000000";
export const region = "us-east-1";

/** The clients resources are created with. */
export interface ProvisionClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
}

/** Settings of {@link provision}. */
export interface ProvisionOptions {
  /**
   * What an HTTP API's endpoint (`Fn::GetAtt … ApiEndpoint`) resolves to.
   * @default the endpoint CloudFormation would give it, `https://<api id>.execute-api.<region>.amazonaws.com`
   */
  readonly apiUrl?: string;
}

/** What was created. */
export interface Provisioned {
  /** `Ref` as `Id`, `Fn::GetAtt` as `Id.Attribute`, and pseudo parameters. */
  readonly refs: Map<string, string>;
  /** Queue URLs by ARN, for the event source mappings. */
  readonly queueUrls: Map<string, string>;
  /** Resolves a reference to a resource by its path, or throws naming it. */
  readonly resolve: Resolver;
  /** Resolves the references in resource `path`'s properties, in its own stack's scope. */
  readonly resolverFor: (path: string) => Resolver;
}

/**
 * Creates the stack's tables, buckets and queues.
 * @param stack - the template
 * @param clients - clients of the emulators
 * @param visibilityTimeoutSeconds - a queue's visibility timeout instead of the template's, by queue name
 * @param options - the API's URL
 */
export async function provision(
  stack: StackTemplate,
  clients: ProvisionClients,
  visibilityTimeoutSeconds: (queueName: string) => number | undefined = () => undefined,
  options: ProvisionOptions = {},
): Promise<Provisioned> {
  const refs = new Map<string, string>([
    ["AWS::Region", region],
    ["AWS::AccountId", account],
    ["AWS::Partition", "aws"],
    ["AWS::URLSuffix", "amazonaws.com"],
    ["AWS::StackName", stack.name],
    ["AWS::StackId", `arn:aws:cloudformation:${region}:${account}:stack/${stack.name}/local`],
  ]);
  const resolve: Resolver = (reference) => {
    const value = refs.get(reference);
    if (value === undefined) {
      throw new Error(`the bundled cloud cannot resolve ${reference}: it resolves references to the stack's tables, buckets, queues and functions`);
    }
    return value;
  };
  const resolverFor = (path: string) => stack.resolverFor(path, resolve);
  const physical = (path: string, given: unknown, max: number) => (typeof given === "string" ? given : physicalName(`${stack.name}-${path.replaceAll("/", "-")}`, max));

  for (const [id, table] of resourcesOfType(stack, "AWS::DynamoDB::Table")) {
    const p = table.Properties ?? {};
    const name = physical(id, p.TableName, 255);
    await clients.dynamodb.send(new CreateTableCommand(tableInput(name, p)));
    const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
    refs.set(id, name);
    refs.set(`${id}.Arn`, Table?.TableArn ?? `arn:aws:dynamodb:${region}:${account}:table/${name}`);
    if (Table?.LatestStreamArn !== undefined) refs.set(`${id}.StreamArn`, Table.LatestStreamArn);
  }
  for (const [id, bucket] of resourcesOfType(stack, "AWS::S3::Bucket")) {
    const name = physical(id, bucket.Properties?.BucketName, 63).toLowerCase();
    await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
    refs.set(id, name);
    refs.set(`${id}.Arn`, `arn:aws:s3:::${name}`);
    refs.set(`${id}.DomainName`, `${name}.s3.amazonaws.com`);
  }
  const queueUrls = new Map<string, string>();
  // Dead-letter queues first: a queue's redrive policy names its dead-letter queue's ARN.
  const queues = resourcesOfType(stack, "AWS::SQS::Queue").sort(([, a], [, b]) => Number(a.Properties?.RedrivePolicy !== undefined) - Number(b.Properties?.RedrivePolicy !== undefined));
  for (const [id, queue] of queues) {
    const p = queue.Properties ?? {};
    const name = physical(id, p.QueueName, 80);
    const attributes: Record<string, string> = {};
    const visibility = text(visibilityTimeoutSeconds(name)) ?? text(p.VisibilityTimeout);
    if (visibility !== undefined) attributes.VisibilityTimeout = visibility;
    const retention = text(p.MessageRetentionPeriod);
    if (retention !== undefined) attributes.MessageRetentionPeriod = retention;
    if (p.RedrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(resolveValue(p.RedrivePolicy, resolverFor(id)));
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const out = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    const arn = out.Attributes?.QueueArn ?? `arn:aws:sqs:${region}:${account}:${name}`;
    if (QueueUrl === undefined) throw new Error(`SQS returned no URL for queue ${name}`);
    refs.set(id, QueueUrl);
    refs.set(`${id}.Arn`, arn);
    refs.set(`${id}.QueueName`, name);
    refs.set(`${id}.QueueUrl`, QueueUrl);
    queueUrls.set(arn, QueueUrl);
  }
  for (const [id, fn] of resourcesOfType(stack, "AWS::Lambda::Function")) {
    const name = physical(id, fn.Properties?.FunctionName, 64);
    refs.set(id, name);
    refs.set(`${id}.Arn`, `arn:aws:lambda:${region}:${account}:function:${name}`);
  }
  for (const [id] of resourcesOfType(stack, "AWS::CloudFormation::Stack")) {
    refs.set(id, `arn:aws:cloudformation:${region}:${account}:stack/${physical(id, undefined, 128)}/local`);
  }
  for (const [id] of resourcesOfType(stack, "AWS::ApiGatewayV2::Api")) {
    // API Gateway's ids are 10 lowercase letters and digits.
    const apiId = createHash("sha256").update(`${stack.name}/${id}`).digest("base64url").replace(/[^a-z0-9]/g, "").slice(0, 10).padEnd(10, "0");
    refs.set(id, apiId);
    refs.set(`${id}.ApiId`, apiId);
    refs.set(`${id}.ApiEndpoint`, options.apiUrl ?? `https://${apiId}.execute-api.${region}.amazonaws.com`);
  }
  return { refs, queueUrls, resolve, resolverFor };
}

/**
 * A generated name cut to `max` characters: a nested stack's resources share a long path
 * prefix, so a cut name ends in a digest of the whole to stay unique.
 *
 * @param name - the stack's name and the resource's path
 * @param max - the service's limit on the name's length
 */
export function physicalName(name: string, max: number): string {
  if (name.length <= max) return name;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 8).toUpperCase();
  return `${name.slice(0, max - digest.length - 1)}-${digest}`;
}

/** The table as DynamoDB's `CreateTable` takes it, from its template properties. */
function tableInput(name: string, p: Record<string, unknown>): CreateTableCommandInput {
  const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
  const billing = (p.BillingMode as string | undefined) ?? "PROVISIONED";
  const throughput = billing === "PROVISIONED" ? { ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } } : {};
  const indexes = p.GlobalSecondaryIndexes as CreateTableCommandInput["GlobalSecondaryIndexes"];
  return {
    TableName: name,
    AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput["AttributeDefinitions"],
    KeySchema: p.KeySchema as CreateTableCommandInput["KeySchema"],
    BillingMode: billing as CreateTableCommandInput["BillingMode"],
    ...throughput,
    ...(indexes === undefined ? {} : { GlobalSecondaryIndexes: indexes.map((index) => ({ ...index, ...throughput })) }),
    ...(stream === undefined ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: stream.StreamViewType as "NEW_AND_OLD_IMAGES" } }),
  };
}
