/**
 * The HTTP API of DESIGN section 4 on API Gateway: every route authorised (IAM by
 * default, or a JWT authorizer that also requires the route's scope), served by the API
 * function, with JSON access logs and throttling on its one stage; but for the callback
 * route of external executions, whose token in the path is its secret, which has no
 * authoriser and a throttle of its own.
 */
import type { RemovalPolicy } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer, HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** What a route does: start a workflow, read executions and runs, cancel, complete an external execution, or re-run a run. */
export type RouteAccess = "start" | "read" | "cancel" | "complete" | "rerun";

/** The routes of DESIGN section 4, as API Gateway route keys, each with what it does. */
export const apiRoutes = [
  { method: apigwv2.HttpMethod.POST, path: "/workflows/{name}/executions", access: "start" },
  { method: apigwv2.HttpMethod.GET, path: "/workflows", access: "read" },
  { method: apigwv2.HttpMethod.GET, path: "/executions/{id}", access: "read" },
  { method: apigwv2.HttpMethod.GET, path: "/executions/{id}/result", access: "read" },
  { method: apigwv2.HttpMethod.GET, path: "/executions/{id}/logs", access: "read" },
  { method: apigwv2.HttpMethod.POST, path: "/executions/{id}/cancel", access: "cancel" },
  { method: apigwv2.HttpMethod.POST, path: "/executions/{id}/complete", access: "complete" },
  { method: apigwv2.HttpMethod.POST, path: "/executions/{id}/rerun", access: "rerun" },
  { method: apigwv2.HttpMethod.POST, path: "/workflows/{name}/cancel", access: "cancel" },
  { method: apigwv2.HttpMethod.GET, path: "/runs", access: "read" },
  { method: apigwv2.HttpMethod.GET, path: "/runs/{id}", access: "read" },
] as const satisfies readonly { method: apigwv2.HttpMethod; path: string; access: RouteAccess }[];

/**
 * The route an external execution's callback URL calls: no AWS credentials, no token of the
 * issuer; the single-use token in the path is the secret (checked by the API function).
 */
export const callbackRoute = { method: apigwv2.HttpMethod.POST, path: "/callbacks/{token}" } as const;

/**
 * The scopes a JWT must carry, by what the route does, unless `jwtScopes` says otherwise.
 * With Cognito, they are the scopes of a resource server `floe`.
 */
export const defaultJwtScopes: Readonly<Record<RouteAccess, readonly string[]>> = {
  start: ["floe/start"],
  read: ["floe/read"],
  cancel: ["floe/cancel"],
  complete: ["floe/complete"],
  rerun: ["floe/rerun"],
};

/** The props of an {@link OrchestratorApi}. */
export interface OrchestratorApiProps {
  readonly handler: lambda.IFunction;
  /** @default IAM authorisation */
  readonly jwtIssuer?: string;
  /** @default none */
  readonly jwtAudience?: readonly string[];
  /**
   * With `jwtIssuer`, the scopes a token must carry (any one of them) for each kind of route.
   * @default {@link defaultJwtScopes}
   */
  readonly jwtScopes?: Readonly<Record<RouteAccess, readonly string[]>>;
  readonly rateLimitPerSecond: number;
  readonly burstLimit: number;
  /** The callback route's own steady rate, per second: it is open to anyone with the URL. */
  readonly callbackRateLimitPerSecond: number;
  /** The callback route's own burst. */
  readonly callbackBurstLimit: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The HTTP API in front of the API function. */
export class OrchestratorApi extends Construct {
  /** The HTTP API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** Its one stage, `$default`. */
  public readonly stage: apigwv2.HttpStage;
  /** Where the stage writes its access logs. */
  public readonly accessLogGroup: logs.LogGroup;
  /** Whether callers sign their requests with SigV4 (the default) rather than present a JWT. */
  public readonly iamAuthorized: boolean;
  /** With a JWT authorizer, the scopes each kind of route requires (a token needs one of them); with IAM, undefined. */
  public readonly jwtScopes: Readonly<Record<RouteAccess, readonly string[]>> | undefined;
  /** `POST /callbacks/{token}`: no authoriser, throttled on its own. */
  public readonly callbackRoute: apigwv2.HttpRoute;

  /**
   * @param scope - the parent
   * @param id - the construct id
   * @param props - the function, the authorisation, the limits
   */
  constructor(scope: Construct, id: string, props: OrchestratorApiProps) {
    super(scope, id);
    this.iamAuthorized = props.jwtIssuer === undefined;
    this.jwtScopes = this.iamAuthorized ? undefined : (props.jwtScopes ?? defaultJwtScopes);
    const authorizer =
      props.jwtIssuer === undefined
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer("Jwt", props.jwtIssuer, { jwtAudience: [...(props.jwtAudience ?? [])] });
    this.httpApi = new apigwv2.HttpApi(this, "HttpApi", {
      description: "floe: start, read, cancel and complete workflow executions",
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
    });
    this.accessLogGroup = new logs.LogGroup(this, "AccessLogs", { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.stage = this.httpApi.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimitPerSecond, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            requestTime: "$context.requestTime",
            sourceIp: "$context.identity.sourceIp",
            caller: "$context.identity.userArn",
            routeKey: "$context.routeKey",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latencyMs: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
          }),
        ),
      },
    });
    const integration = new HttpLambdaIntegration("Handler", props.handler);
    for (const route of apiRoutes) {
      // Without scopes, any token the issuer signed for the audience could call every route.
      const authorizationScopes = this.jwtScopes === undefined ? undefined : [...this.jwtScopes[route.access]];
      this.httpApi.addRoutes({ path: route.path, methods: [route.method], integration, authorizationScopes });
    }
    [this.callbackRoute] = this.httpApi.addRoutes({
      path: callbackRoute.path,
      methods: [callbackRoute.method],
      integration,
      authorizer: new apigwv2.HttpNoneAuthorizer(),
    }) as [apigwv2.HttpRoute];
    // Open to anyone with a URL, so a flood of forged tokens is held to its own limits and
    // leaves the stage's to the signed routes.
    const stage = this.stage.node.defaultChild as apigwv2.CfnStage;
    // A map by route key, untyped in CDK: written with CloudFormation's own property names.
    stage.routeSettings = {
      [`${callbackRoute.method} ${callbackRoute.path}`]: {
        ThrottlingRateLimit: props.callbackRateLimitPerSecond,
        ThrottlingBurstLimit: props.callbackBurstLimit,
      },
    };
    // A stage's settings may name only a route that exists.
    stage.node.addDependency(this.callbackRoute);
  }

  /** The URL of the API's `$default` stage. */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
