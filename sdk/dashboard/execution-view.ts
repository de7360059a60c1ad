/**
 * One execution: its arguments, its result or error with the stack, each attempt with its
 * timings, and links to its parent, upstreams, downstreams and children.
 */
import type { ErrorJson, ExecutionJson, FailedAttemptJson, RunJson } from "../http/views.ts";
import { formatMs, h, runLink } from "./dom.ts";
import { label, segments } from "./model.ts";
import { logsView, type LoadLogs } from "./logs-view.ts";

/** Links shown in a list before the rest are counted: a fan-out's root has 10,000 children. */
const linksShown = 20;

function links(run: RunJson, ids: readonly string[]): HTMLElement | string {
  if (ids.length === 0) return "none";
  const unique = [...new Set(ids)];
  const shown = new Set(unique.slice(0, linksShown));
  const byId = new Map(run.executions.filter((e) => shown.has(e.id)).map((e) => [e.id, e]));
  const rest = unique.length - shown.size;
  return h(
    "span",
    { class: "links" },
    ...[...shown].map((id) => h("a", { href: runLink(run.id, id), "data-link": id }, label(byId.get(id) ?? { task: id, args: undefined }))),
    rest > 0 ? h("span", { class: "more-links" }, `and ${rest.toLocaleString("en-US")} more`) : "",
  );
}

function json(value: unknown): HTMLElement {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2) ?? "undefined");
}

function time(run: RunJson, at: number | undefined): string {
  const start = Math.min(...run.executions.map((e) => e.createdAt));
  return at === undefined ? "—" : `${new Date(at).toISOString().slice(11, 23)}Z (+${formatMs(at - start)})`;
}

/** `TimeoutError [FLOE_TIMEOUT]: message`, marked when the kept message was cut. */
function errorText(error: ErrorJson & { readonly truncated?: boolean }): string {
  return `${error.name}${error.code === undefined ? "" : ` [${error.code}]`}: ${error.message}${error.truncated === true ? " (truncated)" : ""}`;
}

/** A failed attempt's error, its stack folded away (given only to the owner's own tools). */
function failureCell(failure: FailedAttemptJson | undefined): HTMLElement {
  if (failure === undefined) return h("td", {});
  const { stack } = failure.error;
  return h(
    "td",
    { class: "attempt-error" },
    errorText(failure.error),
    stack === undefined ? "" : h("details", {}, h("summary", {}, "stack"), h("pre", { class: "attempt-stack" }, stack)),
  );
}

/** The attempts table: when each was queued, started and ended, how, and why it failed. */
function attempts(e: ExecutionJson, now: number): HTMLElement {
  const body = h("tbody");
  const all = segments(e, now);
  const failures = new Map((e.failures ?? []).map((f) => [f.attempt, f]));
  // A failure is kept even where a compacted history folded its attempt away.
  const numbers = [...new Set([...all.map((x) => x.attempt), ...failures.keys()])].sort((a, b) => a - b);
  for (const attempt of numbers) {
    const mine = all.filter((x) => x.attempt === attempt);
    const failure = failures.get(attempt);
    // A folded stretch (a compacted history) mixes waiting and running: counted as neither.
    const waited = mine.filter((x) => x.kind !== "running" && x.kind !== "folded").reduce((t, x) => t + (x.to - x.from), 0);
    const ran = mine.filter((x) => x.kind === "running");
    const ranMs = ran.length > 0 || failure?.startedAt === undefined ? ran.reduce((t, x) => t + (x.to - x.from), 0) : failure.finishedAt - failure.startedAt;
    const outcome = ran.at(-1)?.outcome ?? (failure === undefined ? e.state : attempt === e.attempt ? e.state : "retried");
    body.append(
      h(
        "tr",
        { class: `attempt outcome-${outcome}`, "data-attempt": attempt },
        h("td", {}, String(attempt)),
        h("td", {}, formatMs(waited)),
        h("td", {}, formatMs(ranMs)),
        h("td", {}, outcome),
        failureCell(failure),
      ),
    );
  }
  const head = h("tr", {}, ...["attempt", "waited or queued", "ran", "outcome", "error"].map((name) => h("th", {}, name)));
  const earlier = e.earlierFailures ?? 0;
  return h(
    "div",
    {},
    h("table", { class: "attempts" }, h("thead", {}, head), body),
    earlier === 0 ? "" : h("p", { class: "empty earlier-failures" }, `${earlier} earlier failed attempt${earlier === 1 ? "" : "s"} not kept.`),
  );
}

/** The API's `why` of an unfinished execution, with how long it has been so. */
function whyLine(why: NonNullable<ExecutionJson["why"]>, now: number): string {
  return why.since === undefined || now < why.since ? why.text : `${why.text} (${formatMs(now - why.since)})`;
}

/** The panel of one execution of `run`; with `loadLogs`, its Logs section too. */
export function executionView(run: RunJson, e: ExecutionJson, now: number, loadLogs?: LoadLogs): HTMLElement {
  const upstreams = run.edges.filter((edge) => edge.downstreamId === e.id).map((edge) => edge.upstreamId);
  const downstreams = run.edges.filter((edge) => edge.upstreamId === e.id).map((edge) => edge.downstreamId);
  const children = run.executions.filter((x) => x.parentId === e.id).sort((a, b) => a.createdAt - b.createdAt).map((x) => x.id);
  const facts: [string, Node | string][] = [
    ["id", h("code", {}, e.id)],
    ["state", h("span", { class: `badge state-${e.state}` }, e.state)],
    ...(e.why === undefined ? [] : [["why", h("span", { class: "why" }, whyLine(e.why, now))] as [string, Node]]),
    ["attempts", String(e.attempt)],
    ["created", time(run, e.createdAt)],
    ["queued", time(run, e.queuedAt)],
    ["started", time(run, e.startedAt)],
    ...(e.wakeAt === undefined ? [] : [["wakes", `${new Date(e.wakeAt).toISOString()} (in ${formatMs(Math.max(0, e.wakeAt - now))})`] as [string, string]]),
    ["finished", time(run, e.finishedAt)],
    ["took", formatMs((e.finishedAt ?? now) - e.createdAt)],
    ["parent", e.parentId === undefined ? "none (the run's root)" : links(run, [e.parentId])],
    ["upstreams", links(run, upstreams)],
    ["downstreams", links(run, downstreams)],
    ["children", links(run, children)],
  ];
  if (e.forward !== undefined) facts.push(["result from", links(run, [e.forward])]);
  // The source of a cached result is most often in another run: shown by id.
  if (e.cachedFrom !== undefined) facts.push(["cached from", h("span", {}, h("code", {}, e.cachedFrom), " (reused its result; did not run)")]);
  if (e.debounced === true) facts.push(["debounced", "a later call of its window took its place; it did not run"]);
  if (e.external !== undefined) facts.splice(2, 0, ["kind", `external: completed from outside; times out ${new Date(e.external.timeoutAt).toISOString()}`]);
  const panel = h(
    "section",
    { class: "execution", "data-execution-id": e.id },
    h("h2", {}, label(e)),
    h("dl", {}, ...facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    h("h3", {}, "Attempts"),
    attempts(e, now),
    h("h3", {}, "Arguments"),
    // JSON shows an undefined argument as null: the API's preview shows it as written.
    e.argsText === undefined ? json(e.args) : h("pre", { class: "json" }, `[${e.argsText}]`),
  );
  if (e.error !== undefined) {
    const { name, code, message, stack } = e.error;
    panel.append(
      h("h3", {}, "Error"),
      h("p", { class: "error" }, `${name}${code === undefined ? "" : ` [${code}]`}: ${message}`),
      stack === undefined ? "" : h("pre", { class: "stack" }, stack),
    );
  } else if (e.state === "completed") {
    panel.append(h("h3", {}, "Result"), e.forward === undefined ? json(e.result) : h("p", {}, "forwarded: the result of ", links(run, [e.forward])));
  }
  if (loadLogs !== undefined && e.external === undefined) panel.append(logsView(e.id, loadLogs));
  return panel;
}
