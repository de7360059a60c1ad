/**
 * A Lambda function running one of floe's handlers: bundled locally with esbuild, Node.js
 * 22 on arm64, with its own log group and a role that may write only to that log group
 * (no managed policy: the role gets exactly what the construct grants it).
 */
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { bundlingOptions, entryFor, lockFileIn, type Handler } from "./bundling.ts";

/** The props of a {@link FloeFunction}. */
export interface FloeFunctionProps {
  readonly handler: Handler;
  readonly tasksModule: string;
  readonly projectRoot: string;
  readonly description: string;
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  /** @default none reserved */
  readonly reservedConcurrency?: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** @default a name CloudFormation generates */
  readonly logGroupName?: string;
  /**
   * Lambda's JSON log format, whose application log level (unset: Lambda's default) filters
   * the JSON lines a task writes by their `level`.
   * @default Lambda's text format
   */
  readonly jsonLogs?: { readonly applicationLogLevel?: lambda.ApplicationLogLevel };
}

/** One floe handler as a Lambda function, with its log group and role. */
export class FloeFunction extends Construct {
  /** The function. */
  public readonly function: NodejsFunction;
  /** Where the function logs. */
  public readonly logGroup: logs.LogGroup;
  /** The function's role: it may write its logs and nothing else until granted. */
  public readonly role: iam.Role;

  /**
   * @param scope - the parent
   * @param id - the construct id
   * @param props - which handler and how to run it
   */
  constructor(scope: Construct, id: string, props: FloeFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, "LogGroup", { retention: props.logRetention, removalPolicy: props.removalPolicy, logGroupName: props.logGroupName });
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description}: writes its own log group; data access granted by floe's Orchestrator`,
    });
    this.logGroup.grantWrite(this.role);
    this.function = new NodejsFunction(this, "Function", {
      entry: entryFor(props.handler, props.tasksModule, props.projectRoot),
      handler: "handler",
      projectRoot: props.projectRoot,
      depsLockFilePath: lockFileIn(props.projectRoot),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySizeMb,
      timeout: Duration.seconds(props.timeoutSeconds),
      reservedConcurrentExecutions: props.reservedConcurrency,
      // Stack traces point into the TypeScript sources, through the bundle's source map.
      environment: { NODE_OPTIONS: "--enable-source-maps", ...props.environment },
      logGroup: this.logGroup,
      ...(props.jsonLogs === undefined ? {} : { loggingFormat: lambda.LoggingFormat.JSON, applicationLogLevelV2: props.jsonLogs.applicationLogLevel }),
      role: this.role,
      bundling: bundlingOptions,
    });
  }
}
