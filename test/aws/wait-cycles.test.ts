import { useDynamoDbLocal } from "../support/dynamodb-local.ts";
import { withScenarioIds } from "../support/scenario-ids.ts";
import { waitCycleScenarios } from "../wait-cycle-scenarios.ts";

// A fresh table per scenario, on the real emulator: no SDK call is mocked.
const stores = useDynamoDbLocal();
waitCycleScenarios("DynamoDB Local", async () => withScenarioIds(await stores()));
