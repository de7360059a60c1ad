/**
 * zod's functional build, which bundles tree-shake down to the schemas floe uses; import it
 * as a namespace (`import * as z`), which esbuild can shake, unlike zod's `z` object. Unlike
 * the classic API it registers no locale, and floe's messages quote zod's English ones
 * ("Invalid input: expected string, received undefined"); an application that chose a
 * locale of its own keeps it.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

if (config().localeError === undefined) config(en());

export * from "zod/mini";
