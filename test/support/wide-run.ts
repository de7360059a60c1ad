/**
 * A wide run for the dashboard's browser test and bench: a workflow fanning out one small
 * task per row (`extract_row ×n`), and one that then stays running until released, so the
 * page keeps polling a run of that size.
 */
import { task, workflow } from "floe";

/** One small task per row: doubles its number. */
export const extractRow = task("extract_row", async (row: number) => row * 2);

/** Fans out `rows` extractions and sums their results. */
export const extractRows = workflow("extract_rows", async (rows: number) => {
  const all = Array.from({ length: rows }, (_, row) => extractRow.submit(row));
  let sum = 0;
  for (const one of all) sum += await one.result();
  return sum;
});

const held: (() => void)[] = [];

/** Lets every run of {@link extractRowsHeld} finish. */
export function releaseHeld(): void {
  for (const release of held.splice(0)) release();
}

/** Fans out `rows` extractions, then stays running until {@link releaseHeld}. */
export const extractRowsHeld = workflow("extract_rows_held", async (rows: number) => {
  const all = Array.from({ length: rows }, (_, row) => extractRow.submit(row));
  let sum = 0;
  for (const one of all) sum += await one.result();
  await new Promise<void>((resolve) => held.push(resolve));
  return sum;
});
