/**
 * The construct shares one file with the handlers' side, the contract: synth loads no
 * handler, store or adapter code, and so not the AWS SDK.
 */
import { buildSync } from "esbuild";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("infra's imports", () => {
  it("reach the handlers' side only through sdk/aws/contract.ts, and load no AWS SDK", () => {
    const { metafile } = buildSync({
      entryPoints: [fileURLToPath(new URL("../../infra/index.ts", import.meta.url))],
      absWorkingDir: fileURLToPath(new URL("../..", import.meta.url)),
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((path) => !path.startsWith("infra/"))).toEqual(["sdk/aws/contract.ts"]);
    const packages = Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    expect(packages.filter((path) => path.startsWith("@aws-sdk/"))).toEqual([]);
  });
});
