/**
 * Imported by `pool-worker.mjs` to learn whether its thread loads TypeScript already. It
 * must stay a `.ts` file in the package too: the build copies it beside its `.js`.
 */
export const probe = true as boolean;
