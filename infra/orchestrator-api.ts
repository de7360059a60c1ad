/**
 * The HTTP API of DESIGN section 4 on API Gateway: every route authorised (IAM by
 * default, or a JWT authorizer that also requires the route's scope), served by the API
 * function, with JSON access logs and throttling on its one stage.
 */
import type { RemovalPolicy } from "aws-cdk-lib";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer, HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** What a route does: start a workflow, read executions and runs, or cancel. */
export type RouteAccess = "start" | "read" | "cancel";

/** The routes of DESIGN section 4, as API Gateway route keys, each with what it does. */
export const apiRoutes = [
  { method: apigwv2.HttpMethod.POST, path: "/workflows/{name}/executions", access: "start" },
  { method: apigwv2.HttpMethod.GET, path: "/executions/{id}", access: "read" },
  { method: apigwv2.HttpMethod.GET, path: "/executions/{id}/result", access: "read" },
  { method: apigwv2.HttpMethod.POST, path: "/executions/{id}/cancel", access: "cancel" },
  { method: apigwv2.HttpMethod.GET, path: "/runs", access: "read" },
  { method: apigwv2.HttpMethod.GET, path: "/runs/{id}", access: "read" },
] as const satisfies readonly { method: apigwv2.HttpMethod; path: string; access: RouteAccess }[];

/**
 * The scopes a JWT must carry, by what the route does, unless `jwtScopes` says otherwise.
 * With Cognito, they are the scopes of a resource server `floe`.
 */
export const defaultJwtScopes: Readonly<Record<RouteAccess, readonly string[]>> = {
  start: ["floe/start"],
  read: ["floe/read"],
  cancel: ["floe/cancel"],
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
      description: "floe: start, read and cancel workflow executions",
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
  }

  /** The URL of the API's `$default` stage. */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
