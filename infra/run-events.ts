/**
 * Completion events in AWS: the bus the coordinator publishes them to (the account's
 * default bus unless one is given), the `events:PutEvents` grant on that bus alone, and
 * the variable that tells the coordinator its name. The events are `sdk/events/`'s.
 */
import * as events from "aws-cdk-lib/aws-events";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { Construct } from "constructs";
import { EnvironmentVariable } from "../sdk/aws/contract.ts";

/** Where the Orchestrator publishes completion events. */
export interface RunEventsProps {
  /**
   * The bus; custom events cost $1 per million on any bus, the default one included.
   * @default the account's default bus
   */
  readonly bus?: events.IEventBus;
}

/**
 * Gives `coordinator` a bus to publish completion events to and the right to, on that bus only.
 * @returns the bus
 */
export function runEventsBus(scope: Construct, coordinator: NodejsFunction, props: RunEventsProps | undefined): events.IEventBus {
  const bus = props?.bus ?? events.EventBus.fromEventBusName(scope, "RunEventsBus", "default");
  bus.grantPutEventsTo(coordinator);
  coordinator.addEnvironment(EnvironmentVariable.RunEventsBus, bus.eventBusName);
  return bus;
}
