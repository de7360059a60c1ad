/** Screenshots from the browser tests: kept in test-artifacts/, and the README's refreshed in docs/ with FLOE_UPDATE_DOCS=1. */
import { copyFile, mkdir } from "node:fs/promises";
import type { Page } from "playwright-core";

const artifacts = new URL("../../test-artifacts/", import.meta.url);

/** Screenshots the first element `selector` finds as `name`; with `forDocs`, the README's copy too. */
export async function screenshot(page: Page, selector: string, name: string, forDocs = false): Promise<void> {
  await mkdir(artifacts, { recursive: true });
  const path = new URL(name, artifacts);
  await page.locator(selector).first().screenshot({ path: path.pathname });
  if (forDocs && process.env.FLOE_UPDATE_DOCS === "1") await copyFile(path, new URL(`../../docs/${name}`, import.meta.url));
}
