export { startLocalCloud, startEmulators, type LocalCloud, type LocalCloudOptions, type Emulators, type Endpoints } from "./local-cloud.ts";
export type { PublishedEvent } from "./events-endpoint.ts";
export { startDynamoDbLocal, type DynamoDbLocal, type DynamoDbLocalOptions } from "./dynamodb-local.ts";
export { startBundledCloud, type BundledCloud, type BundledCloudOptions } from "./bundled-cloud.ts";
export type { InvocationFaults, FunctionSpec, LambdaFunction } from "./lambda-process.ts";
