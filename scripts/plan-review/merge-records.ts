/**
 * What the state records add to a merged review (merge.ts): the orphaned stacks of
 * `npm run -s stacks -- --orphans --json`, and, for the nightly report, since which deployed
 * commit each stack's changes are pending.
 */
import * as fs from "fs";
import { findOrphans, orphansMarkdown, parseOrphans, type Orphan } from "../stacks/orphans";
import type { StackReview } from "./review";
import type { Selected } from "./select";

/** The most orphans a review lists (the comment has a size limit). */
const ORPHAN_ROWS = 50;

/** Reads an `--orphans` file; throws one line when it is missing or not one. */
export function orphansFromFile(file: string): Orphan[] {
  if (!fs.existsSync(file)) throw new Error(`--orphans ${file}: no such file (write it with npm run -s stacks -- --orphans --json > ${file})`);
  return parseOrphans(fs.readFileSync(file, "utf8"), `--orphans ${file}`);
}

/** The "Orphaned stacks" section (at most {@link ORPHAN_ROWS} rows), or "" when there is none. */
export function orphansSection(orphans: readonly Orphan[]): string {
  const shown = orphansMarkdown(orphans.slice(0, ORPHAN_ROWS));
  return orphans.length > ORPHAN_ROWS ? `${shown}\n| … | and ${orphans.length - ORPHAN_ROWS} more | | | |` : shown;
}

/** The reviews whose plan changes more than it changes back after drift: changes of the code not deployed. */
export function pendingReviews(reviews: readonly StackReview[]): StackReview[] {
  return reviews.filter((r) => {
    const corrected = new Set((r.drift ?? []).filter((d) => d.corrected).map((d) => d.address));
    return r.changes.some((c) => !corrected.has(c.address));
  });
}

/** The nightly report's verdict on pending changes: each stack the code would change, since which deployed commit; "" when none. */
export function pendingSection(reviews: readonly StackReview[]): string {
  const pending = pendingReviews(reviews);
  if (!pending.length) return "";
  const since = (r: StackReview) =>
    r.deployed ? `deployed from ${r.deployed.commit ? `\`${r.deployed.commit.slice(0, 12)}\`` : "an unknown commit"} at ${r.deployed.at}` : "no deploy recorded";
  return [
    `:no_entry: **Pending changes not deployed** in ${pending.length} stack${pending.length === 1 ? "" : "s"}: the code differs from what is applied (a deploy that failed, was cancelled or never ran); deploy them (a push to main deploys every pending stack):`,
    "",
    ...pending.slice(0, 200).map((r) => `- \`${r.stack}\`: ${r.counts.add} add, ${r.counts.change} change, ${r.counts.destroy} destroy, ${r.counts.replace} replace; ${since(r)}`),
    ...(pending.length > 200 ? [`- … and ${pending.length - 200} more`] : []),
  ].join("\n");
}

/** The "Orphaned stacks" section of `npm run plan`'s summary: the orphans in the selected environments' state buckets ("" when none, or for a rehearsal of real environments on a local endpoint). */
export async function orphansOfRun(selected: Selected, env: NodeJS.ProcessEnv): Promise<string> {
  const envs = selected.selection.environments.filter((e) => !selected.onLocalEndpoint?.environments.includes(e.name));
  const orphans = await findOrphans(envs, selected.selection.organization, selected.endpoint, env, (l) => void process.stderr.write(`warning: ${l}\n`));
  return orphansSection(orphans);
}
