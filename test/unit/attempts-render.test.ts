/** How the `floe` command shows failed attempts and empty listings (`sdk/cli/render.ts`, `commands/`). */
import { describe, expect, it } from "vitest";
import type { ExecutionJson, RunJson } from "../../sdk/http/views.ts";
import { noRuns } from "../../sdk/cli/commands/inspect.ts";
import { retriedAttempts, tree } from "../../sdk/cli/render.ts";

const timeout = { name: "TimeoutError", code: "FLOE_TIMEOUT", message: '"gateway" ran past its timeoutMs of 30000 ms' };
const gateway = { name: "Error", message: "503 from gateway", stack: "Error: 503 from gateway\n    at handler (index.mjs:1:1)" };

function execution(fields: Partial<ExecutionJson>): ExecutionJson {
  return { id: "e", runId: "r", task: "gateway", state: "completed", attempt: 3, createdAt: 0, finishedAt: 40_000, history: [], args: ["/x"], ...fields };
}

describe("failed attempts in the floe command", () => {
  it("shows each retried attempt under its execution in the tree, how long it ran and why it failed", () => {
    const child = execution({
      id: "c", parentId: "r",
      failures: [
        { attempt: 1, startedAt: 1_000, finishedAt: 31_000, error: timeout },
        { attempt: 2, startedAt: 31_500, finishedAt: 31_620, error: { ...gateway, truncated: true } },
      ],
    });
    const run: RunJson = { id: "r", executions: [execution({ id: "r", task: "flaky", attempt: 1 }), child], edges: [] };
    const text = tree(run, undefined, 40_000);
    expect(text).toContain('↻ attempt 1 failed after 30.00 s: TimeoutError [FLOE_TIMEOUT]: "gateway" ran past its timeoutMs of 30000 ms');
    expect(text).toContain("↻ attempt 2 failed after 120 ms: Error: 503 from gateway (truncated)");
    expect(text).not.toContain("✗");
  });

  it("leaves a failed execution's last attempt to its error line, and counts the attempts no longer kept", () => {
    const failed = execution({
      state: "failed", attempt: 7, earlierFailures: 2, error: gateway,
      failures: [3, 4, 5, 6, 7].map((attempt) => ({ attempt, startedAt: attempt * 100, finishedAt: attempt * 100 + 5, error: gateway })),
    });
    expect(retriedAttempts(failed).map((l) => l.text)).toEqual([
      "2 earlier failed attempts not kept",
      ...[3, 4, 5, 6].map((n) => `attempt ${n} failed after 5 ms: Error: 503 from gateway`),
    ]);
    const text = tree({ id: "e", executions: [failed], edges: [] }, undefined, 1_000);
    expect(text.match(/✗ Error: 503 from gateway/g)).toHaveLength(1);
    expect(text).not.toContain("attempt 7 failed");
  });

  it("says what an empty listing means: no runs at all, or none the filters let through", () => {
    expect(noRuns({})).toBe("No runs yet");
    expect(noRuns({ state: "failed", workflow: "w" })).toBe("No failed runs of workflow w");
    expect(noRuns({ workflow: "w" })).toBe("No runs of workflow w");
    expect(noRuns({ state: "failed" })).toBe("No failed runs");
    expect(noRuns({ state: "failed", cursor: "abc" })).toBe("No more failed runs");
  });
});
