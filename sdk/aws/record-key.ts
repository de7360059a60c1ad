/** Where the DynamoDB store keeps an execution's record. */
import { FAMILY_SEPARATOR } from "../runtime/system.ts";

/** The key of an execution's record: a root in its own partition, the rest in their run's. */
export function recordKey(id: string): { pk: string; sk: string } {
  const at = id.indexOf(FAMILY_SEPARATOR);
  return at > 0 ? { pk: `R#${id.slice(0, at)}`, sk: `X#${id}` } : { pk: `X#${id}`, sk: "X" };
}
