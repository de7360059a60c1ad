/**
 * The cursor of a run view (`RunJson.cursor`): the time the view was read, which a later
 * `GET /runs/{id}?since=<cursor>` asks the changes after. Opaque to clients; no Node
 * imports, as the dashboard's bundle may read this module.
 */

const CURSOR = /^r1\.([0-9a-z]{1,11})$/;

/**
 * The cursor of a view read at `readAt`.
 * @param readAt - when the read began, epoch milliseconds, on the reader's clock
 */
export function sinceCursor(readAt: number): string {
  return `r1.${Math.max(0, Math.floor(readAt)).toString(36)}`;
}

/**
 * The read time a cursor of {@link sinceCursor} holds, or `undefined` for anything else.
 * @param cursor - as a client sent it
 */
export function cursorTime(cursor: string): number | undefined {
  const digits = CURSOR.exec(cursor)?.[1];
  const at = digits === undefined ? Number.NaN : Number.parseInt(digits, 36);
  return Number.isSafeInteger(at) ? at : undefined;
}

/** What a bad `since` is told: the value received and the fix. */
export function badSince(cursor: string): string {
  const shown = JSON.stringify(cursor.length > 60 ? `${cursor.slice(0, 60)}…` : cursor);
  return `since ${shown} is not a cursor this API gave out; pass the cursor of the previous answer of GET /runs/{id} as it came, or leave since out to read the whole run`;
}
