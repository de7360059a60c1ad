/**
 * The example app (`npx cdk synth`, `npx cdk deploy`): one stack deploying the tasks of
 * `examples/` with floe's Orchestrator, checked by cdk-nag's AwsSolutions and Serverless packs.
 */
import { App, CfnOutput, Stack, Validations, type StackProps } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { Construct } from "constructs";
import { fileURLToPath } from "node:url";
import { Orchestrator } from "./orchestrator.ts";

/** The stack of the example app. */
export class FloeExamplesStack extends Stack {
  /** The orchestrator running the examples. */
  public readonly orchestrator: Orchestrator;

  /**
   * @param scope - the app
   * @param id - the stack id
   * @param props - the stack's props
   */
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.orchestrator = new Orchestrator(this, "Floe", {
      tasksModule: fileURLToPath(new URL("./example-tasks.ts", import.meta.url)),
      taskOverrides: { stop_at_floor: { timeoutSeconds: 30, maxConcurrency: 3 } },
    });
    new CfnOutput(this, "ApiUrl", { value: this.orchestrator.api.url, description: "floe's HTTP API (SigV4-signed requests)" });
  }
}

/**
 * Builds the example app.
 * @returns the app, its stack added, the nag packs applied
 */
export function exampleApp(): App {
  const app = new App();
  new FloeExamplesStack(app, "FloeExamples");
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) exampleApp().synth();
