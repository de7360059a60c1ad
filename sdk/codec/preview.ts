/**
 * A short, readable rendering of decoded arguments, for labels such as `load_user("u1")`.
 * The API's views are JSON, where `undefined` inside an array can only be `null`: the
 * preview is made from the decoded values, so it tells them apart (and shows a BigInt as
 * `12n`).
 */

/**
 * The arguments as a call would show them (`1, undefined, "x"`), or `undefined` when one of
 * them is not a short plain value (an object, an array, a date).
 */
export function previewArgs(args: unknown): string | undefined {
  if (!Array.isArray(args)) return undefined;
  const parts: string[] = [];
  for (const arg of args as unknown[]) {
    const part = previewValue(arg);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return parts.join(", ");
}

function previewValue(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    default:
      return value === null ? "null" : undefined;
  }
}
