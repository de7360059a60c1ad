import { engineScenarios } from "../engine-scenarios.ts";
import { useDynamoDbLocal } from "../support/dynamodb-local.ts";

// A fresh table per scenario, on the real emulator: no SDK call is mocked.
engineScenarios("DynamoDB Local", useDynamoDbLocal());
