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
  },
});
