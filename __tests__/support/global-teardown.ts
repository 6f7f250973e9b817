import { leftBehind, removeTempRoot, type TempBase } from "./temp-root";

/** Removes the run's temp folder, then fails the run if it left anything in a temp folder. */
export default function globalTeardown(): void {
  removeTempRoot();
  const base = (globalThis as { tempBase?: TempBase }).tempBase;
  const left = base ? leftBehind(base) : [];
  if (left.length) {
    throw new Error(`the test run left ${left.length} entr${left.length === 1 ? "y" : "ies"} in its temp folder (a test or a process it started writes outside the run's TMPDIR, or outlives the run):\n${left.join("\n")}`);
  }
}
