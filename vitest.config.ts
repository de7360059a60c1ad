import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "floe/local-cloud": fileURLToPath(new URL("./sdk/local-cloud/index.ts", import.meta.url)),
      floe: fileURLToPath(new URL("./sdk/index.ts", import.meta.url)),
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    // On Node 20 the AWS SDK warns, once per process, that its versions published from
    // January 2027 will need Node 22. The lockfile holds versions that run on Node 20, and
    // the warning, repeated by every test worker and command the tests start, buries the
    // output worth reading.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
