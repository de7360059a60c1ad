import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { waitCycleScenarios } from "../wait-cycle-scenarios.ts";

// A fresh table per scenario, on the real emulator: no SDK call is mocked.
waitCycleScenarios("DynamoDB Local", useDynamoDbLocal());
