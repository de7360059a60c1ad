// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layering of sdk/engine/ARCHITECTURE.md ("Layers") as import rules of one folder:
 * each pattern's message is the rule it enforces.
 * @param {string} folder
 * @param {{ regex: string, message: string }[]} patterns
 */
const layer = (folder, ...patterns) => ({ files: [`${folder}/**/*.ts`], rules: { "no-restricted-imports": ["error", { patterns }] } });

export default tseslint.config(
  { ignores: ["node_modules/", "cdk.out/", "dist/", "coverage/", "scratch/", "test-artifacts/", "test/fixtures/", ".bench/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["*.js", "sdk/cli/*.mjs", "sdk/embedded/*.mjs", ".ci/*.mjs"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A write launched without await is frozen or lost when a Lambda returns.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  layer(
    "sdk/engine",
    {
      regex: "^node:|^(fs|path|os|crypto|child_process|http|https|net|async_hooks|worker_threads)(/|$)",
      message: "sdk/engine/ is pure: it imports no node: module and does no I/O; what it needs comes through a port (sdk/engine/ports.ts).",
    },
    {
      regex: "^@aws-sdk/|^@smithy/|(^|/)(aws|embedded|local-cloud)/|^#",
      message: "sdk/engine/ imports no adapter and no AWS SDK: adapters implement its ports (sdk/engine/ports.ts) and are given to it.",
    },
    {
      regex: "(^|/)(runtime|api|define|cli|http)/|(^|/)index\\.ts$|^floe(/|$)",
      message: "sdk/engine/ imports no runtime code: the runtime (sdk/runtime/) drives the engine, never the reverse.",
    },
  ),
  layer(
    "functions",
    {
      regex: "(^|/)sdk/embedded/|^#engines$|(^|/)sdk/(api/|index\\.ts$)|^floe$",
      message: "functions/ never import the embedded engine, nor the public API that may choose it: a Lambda runs tasks on the orchestrator.",
    },
    {
      regex: "(^|/)sdk/(cli|local-cloud)/|^floe/local-cloud$",
      message: "functions/ never import the CLI or the local cloud: they run in Lambda, and the local cloud runs them.",
    },
  ),
  layer("sdk/aws", {
    regex: "(^|/)(embedded|local-cloud)/|^#engines$",
    message: "Adapters never import each other: sdk/aws/ imports nothing of sdk/embedded/ (or the local cloud, which hosts it).",
  }),
  layer("sdk/embedded", {
    regex: "(^|/)aws/|^@aws-sdk/",
    message: "Adapters never import each other: sdk/embedded/ imports nothing of sdk/aws/ and no AWS SDK.",
  }),
  layer("infra", {
    regex: "(^|/)functions/|(^|/)sdk/(?!aws/contract\\.ts$)",
    message: "infra/ refers to the handlers by path and imports of their side only sdk/aws/contract.ts, so synth loads no handler code.",
  }),
  { files: ["*.js"], ...tseslint.configs.disableTypeChecked },
  // The command's entry point, loader hooks and the package build are plain JavaScript outside the TS project.
  { files: ["sdk/cli/*.mjs", "sdk/embedded/*.mjs", ".ci/*.mjs"], ...tseslint.configs.disableTypeChecked, languageOptions: { globals: { process: "readonly", URL: "readonly" } } },
);
