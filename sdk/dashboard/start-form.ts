/**
 * The form that starts a workflow with JSON arguments. Arguments that are not a JSON array
 * are refused in the form, before any request; an API's refusal (a 400 naming the bad
 * argument) is shown as it answered.
 */
import { h } from "./dom.ts";

/** Starts `workflow` with `args`; resolves to the run's id, rejects with the API's message. */
export type StartWorkflow = (workflow: string, args: unknown[]) => Promise<string>;

/**
 * Reads the arguments typed in the form.
 * @returns the arguments, or the sentence that says what is wrong and how to write them
 */
export function parseArgs(text: string): { args: unknown[] } | { error: string } {
  if (text.trim() === "") return { args: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `the arguments are not JSON (${(error as Error).message}): write them as a JSON array, such as ["u1", 2]` };
  }
  if (!Array.isArray(value)) return { error: `the arguments must be a JSON array of the workflow's arguments, such as ["u1", 2]; got ${typeof value === "object" && value !== null ? "an object" : JSON.stringify(value)}` };
  return { args: value as unknown[] };
}

/**
 * Draws the form.
 * @param workflows - the registered workflows' names
 * @param start - sends the request
 * @param started - called with the new run's id
 */
export function startForm(workflows: readonly string[], start: StartWorkflow, started: (runId: string) => void): HTMLFormElement {
  const select = h("select", { name: "start-workflow", "aria-label": "workflow to start", required: true }, ...workflows.map((w) => h("option", { value: w }, w)));
  const args = h("textarea", { name: "start-args", "aria-label": "arguments as a JSON array", rows: 1, spellcheck: false, placeholder: '["u1", 2]' });
  const message = h("span", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit" }, "start");
  const form = h("form", { class: "start-form" }, h("span", { class: "form-title" }, "Start"), select, args, button, message);
  if (workflows.length === 0) {
    button.disabled = true;
    message.textContent = "No workflow is registered with this API.";
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const parsed = parseArgs(args.value);
    if ("error" in parsed) {
      message.textContent = parsed.error;
      args.setAttribute("aria-invalid", "true");
      return;
    }
    args.removeAttribute("aria-invalid");
    message.textContent = "";
    button.disabled = true;
    start(select.value, parsed.args).then(started, (error: unknown) => {
      message.textContent = (error as Error).message;
      button.disabled = false;
    });
  });
  return form;
}
