/** Condition expressions of the DynamoDB store, from the engine's expectations. */
import type { Expectation } from "../engine/ports.ts";

/**
 * The condition expression for `expect`, adding its names and values to the maps given;
 * empty when nothing is expected.
 */
export function conditionOf(expect: Expectation, names: Record<string, string>, values: Record<string, unknown>): string {
  const parts: string[] = [];
  const equal = (attribute: string, value: unknown) => {
    names[`#e_${attribute}`] = attribute;
    values[`:e_${attribute}`] = value;
    parts.push(`#e_${attribute} = :e_${attribute}`);
  };
  if (typeof expect.state === "string") equal("state", expect.state);
  else if (expect.state !== undefined) {
    names["#e_state"] = "state";
    const options = expect.state.map((state, i) => {
      values[`:e_state${i}`] = state;
      return `:e_state${i}`;
    });
    parts.push(`#e_state IN (${options.join(", ")})`);
  }
  if (expect.attempt !== undefined) equal("attempt", expect.attempt);
  if (expect.heldSince !== undefined) {
    Object.assign(names, { "#e_held": "held", "#e_since": "since" });
    values[":e_heldSince"] = expect.heldSince;
    parts.push("#e_held.#e_since = :e_heldSince");
  }
  if (expect.generation !== undefined) equal("generation", expect.generation);
  if (expect.guarded !== undefined) equal("guarded", expect.guarded);
  if (expect.pending !== undefined) equal("pending", expect.pending);
  if (expect.startedBefore !== undefined) {
    names["#e_startedAt"] = "startedAt";
    values[":e_startedBefore"] = expect.startedBefore;
    parts.push("#e_startedAt <= :e_startedBefore");
  }
  if (expect.dueBy !== undefined) {
    names["#e_notBefore"] = "notBefore";
    values[":e_dueBy"] = expect.dueBy;
    parts.push("(attribute_not_exists(#e_notBefore) OR #e_notBefore <= :e_dueBy)");
  }
  return parts.join(" AND ");
}

/** Whether a request failed on its condition (and only on that). */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === "ConditionalCheckFailedException";
}
