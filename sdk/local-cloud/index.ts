export { startLocalCloud, startEmulators, type LocalCloud, type LocalCloudOptions, type Emulators, type Endpoints } from "./local-cloud.ts";
export { startDynamoDbLocal, type DynamoDbLocal, type DynamoDbLocalOptions } from "./dynamodb-local.ts";
