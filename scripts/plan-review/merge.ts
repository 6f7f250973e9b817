/**
 * `npm run -s merge-reviews`: the last job of the GitHub Actions fan-out. Each matrix job plans
 * one stack (`npm run plan -- --stack <name>`) and uploads `<stack>.review.json`; this reads them
 * all and writes the one `summary.md` / `summary.json` with the renderer, the guard and the size
 * limit of `npm run plan` (review.ts), so a review merged from 90 jobs reads like one run's.
 * A stack whose job wrote no review (its plan failed, the job was cancelled) is not a pass: with
 * `--expect` (the stack list the jobs were started from) it is listed and blocks.
 */
import * as fs from "fs";
import * as path from "path";
import { runCli, walkFlags } from "../shared/cli";
import { projectRoot } from "../../config/environments";
import { readAllowances, type AllowancesFile } from "./allowances";
import { BINDING_SUFFIX } from "./binding";
import { deployedCommit } from "./state-record";
import { contextLine } from "./summary-markdown";
import { boundedList, guard, runContext, summaryJson, summaryMarkdown, SUMMARY_MAX_CHARS, type GuardDecision, type LocalEndpointPlan, type RunContext, type StackReview } from "./review";
import { matrixOutputs, writeGithubOutputs, MATRIX_USAGE } from "./ci-matrix";
import { parsePlanFlags } from "./flags";
import { orphansFromFile, orphansSection, pendingReviews, pendingSection } from "./merge-records";

export const USAGE = `Usage: npm run -s merge-reviews -- <dir or file>... --out DIR [options]

Reads the per-stack reviews (<stack>.review.json, written by npm run plan -- --stack <name>) in
the folders given (searched recursively, e.g. the downloaded artifacts of a matrix) or the files
given, and writes DIR/summary.md and DIR/summary.json with the renderer, the destructive-change
guard and the comment size limit of npm run plan. Exits 1 when the guard blocks (as npm run plan
does) or a stack of --expect has no review.

  --out DIR                      where summary.md and summary.json go (required; each stack's
                                 files beside its review are copied there too: <stack>.md,
                                 .review.json, .tfplan, .binding.json, .txt, so DIR is
                                 what npm run deploy -- --plans DIR applies); the summary is
                                 also appended to the file GITHUB_STEP_SUMMARY names
  --expect FILE                  the stacks that were planned: a JSON array of stack names, or the
                                 output of npm run -s stacks -- --json; a stack without a review
                                 blocks (its plan failed), a review of a stack not listed is an
                                 error. An empty list writes a "no stack changes" review.
  --allow-destroy STACK:ADDRESS  as for npm run plan (repeatable, or ALLOW_DESTROY)
  --allow-empty-state STACK      as for npm run plan (repeatable, or ALLOW_EMPTY_STATE)
  --allowances FILE              the reviewed allowances file (default: ALLOWANCES_FILE, else
                                 deploy-allowances.json at the project root when it exists):
                                 { "allowDestroy": ["<stack>:<address>"], "allowEmptyState":
                                 ["<stack>"], "reason": "why" }; shown in the comment, recorded in
                                 summary.json for npm run deploy -- --plans; an entry that matches
                                 nothing is shown as stale and does not block
  --orphans FILE                 the orphaned stacks (npm run -s stacks -- --orphans --json):
                                 named under "Orphaned stacks" in summary.md and the drift report
  --drift-summary                also write the drift of every stack as Markdown to the file
                                 GITHUB_STEP_SUMMARY names (else to stdout); then the exit code
                                 says whether anything drifted, a change is pending (not
                                 deployed), a stack is orphaned or a review is missing (1), not
                                 what the guard decided
  --help                         this text

${MATRIX_USAGE}`;

/** What `merge-reviews` was asked. */
export interface MergeFlags {
  readonly mode: "merge";
  readonly inputs: string[];
  readonly out: string;
  readonly expect?: string;
  readonly allowDestroy: string[];
  readonly allowEmptyState: string[];
  readonly driftSummary: boolean;
  /** The reviewed allowances file (`--allowances FILE`, else ALLOWANCES_FILE, else deploy-allowances.json at the project root), read and checked. */
  readonly allowancesFile?: AllowancesFile;
  /** The orphaned stacks' file (`npm run -s stacks -- --orphans --json`). */
  readonly orphans?: string;
}

/** What `merge-reviews --matrix` was asked. */
export interface MatrixFlags {
  readonly mode: "matrix";
  readonly stacks: string;
  readonly waves: number;
  readonly classes?: string;
  readonly allowDestroy: string[];
  readonly allowEmptyState: string[];
}

const REVIEW_SUFFIX = ".review.json";

/** Parses the arguments; throws one line per problem. */
export function parseMergeFlags(argv: string[], env: NodeJS.ProcessEnv = {}): MergeFlags | MatrixFlags | "help" {
  const problems: string[] = [];
  const inputs: string[] = [];
  const guardArgs: string[] = [];
  let out: string | undefined;
  let expect: string | undefined;
  let matrix: string | undefined;
  let waves: number | undefined;
  let classes: string | undefined;
  let driftSummary = false;
  let allowancesFile: string | undefined;
  let orphans: string | undefined;
  const walked = walkFlags(argv, problems, (a, value) => {
    if (a === "--out") out = value();
    else if (a === "--expect") expect = value();
    else if (a === "--drift-summary") driftSummary = true;
    else if (a === "--allowances") allowancesFile = value();
    else if (a === "--orphans") orphans = value();
    else if (a === "--matrix") matrix = value();
    else if (a === "--classes") classes = value() ?? "";
    else if (a === "--waves") {
      const v = value();
      if (v !== undefined && !/^[1-9]\d*$/.test(v)) problems.push(`--waves ${JSON.stringify(v)} must be a positive whole number (the deploy-wave-N jobs of the workflow)`);
      else if (v !== undefined) waves = Number(v);
    } else if (a === "--allow-destroy" || a === "--allow-empty-state") {
      const v = value();
      if (v !== undefined) guardArgs.push(a, v);
    } else if (a.startsWith("--")) {
      problems.push(`unknown flag ${JSON.stringify(a)} (known: --out, --expect, --allow-destroy, --allow-empty-state, --allowances, --orphans, --drift-summary, --matrix, --waves, --classes, --help)`);
    } else inputs.push(a);
  });
  if (walked === "help") return "help";
  // The allowances are read exactly as npm run plan reads them (flags, ALLOW_DESTROY, ALLOW_EMPTY_STATE).
  let allowances = { allowDestroy: [] as string[], allowEmptyState: [] as string[] };
  try {
    const parsed = parsePlanFlags(guardArgs, { ALLOW_DESTROY: env.ALLOW_DESTROY, ALLOW_EMPTY_STATE: env.ALLOW_EMPTY_STATE });
    if (parsed !== "help") allowances = { allowDestroy: parsed.allowDestroy, allowEmptyState: parsed.allowEmptyState };
  } catch (e) {
    problems.push(...(e as Error).message.split("\n"));
  }
  if (matrix !== undefined || waves !== undefined || classes !== undefined) {
    if (matrix === undefined) problems.push("--waves and --classes go with --matrix FILE");
    if (waves === undefined) problems.push("--matrix needs --waves N (how many deploy-wave-N jobs the workflow has)");
    if (inputs.length || out !== undefined || expect !== undefined || driftSummary || allowancesFile !== undefined) problems.push("--matrix takes only --waves, --classes and the allowances (it reads no reviews)");
    if (problems.length) throw new Error(problems.join("\n"));
    return { mode: "matrix", stacks: matrix!, waves: waves!, classes: classes || undefined, ...allowances };
  }
  if (out === undefined) problems.push("--out DIR is required (where summary.md and summary.json go)");
  let read: AllowancesFile | undefined;
  try {
    read = readAllowances(projectRoot(), env, allowancesFile);
  } catch (e) {
    problems.push(...(e as Error).message.split("\n"));
  }
  if (!inputs.length && expect === undefined) problems.push("name the folders or files of the reviews (<stack>.review.json), or --expect FILE");
  if (problems.length) throw new Error(problems.join("\n"));
  return { mode: "merge", inputs, out: out!, expect, driftSummary, ...(orphans !== undefined ? { orphans } : {}), ...allowances, ...(read ? { allowancesFile: read } : {}) };
}

/** A review file found, and its stack. */
export interface ReviewFile {
  readonly file: string;
  readonly review: StackReview;
}

const STACK_NAME = /^[a-z][a-z0-9-]*$/;
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;

/** Why `v` is not a StackReview as review.ts writes it, or undefined. */
export function reviewProblem(v: any): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "not a JSON object";
  if (typeof v.stack !== "string" || !STACK_NAME.test(v.stack)) return "no stack name (\"stack\")";
  if (v.counts === null || typeof v.counts !== "object" || !["add", "change", "destroy", "replace"].every((k) => isCount(v.counts[k]))) return "\"counts\" must hold add, change, destroy and replace";
  for (const k of ["changes", "risks", "drift", "suppressions", "destructive"]) if (!Array.isArray(v[k])) return `"${k}" must be an array`;
  if (!v.destructive.every((d: unknown) => typeof d === "string" && d.startsWith(`${v.stack}:`))) return `"destructive" must list <stack>:<address> of stack ${v.stack}`;
  if (!v.risks.every((r: any) => r && typeof r.kind === "string" && typeof r.message === "string")) return "\"risks\" must hold objects with kind and message";
  if (!v.changes.every((c: any) => c && typeof c.address === "string" && typeof c.action === "string")) return "\"changes\" must hold objects with address and action";
  return undefined;
}

/** Every `*.review.json` under the inputs (folders searched recursively), sorted; throws for an input that does not exist. */
export function findReviewFiles(inputs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(REVIEW_SUFFIX)) found.push(p);
    }
  };
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new Error(`${input} does not exist (a folder of <stack>.review.json files, or one such file)`);
    if (fs.statSync(input).isDirectory()) walk(input);
    else if (input.endsWith(REVIEW_SUFFIX)) found.push(input);
    else throw new Error(`${input} is not a <stack>.review.json file`);
  }
  return [...new Set(found)].sort();
}

/** Reads and checks the review files: one line for a corrupt file, or a stack reviewed twice. */
export function readReviews(files: readonly string[]): ReviewFile[] {
  const out: ReviewFile[] = [];
  for (const file of files) {
    let v: any;
    try {
      v = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(`${file} is not valid JSON (${(e as Error).message.split("\n")[0]}): the review of a matrix job is damaged, re-run that job`);
    }
    const problem = reviewProblem(v);
    if (problem) throw new Error(`${file} is not a stack review: ${problem}`);
    const named = path.basename(file).slice(0, -REVIEW_SUFFIX.length);
    if (named !== v.stack) throw new Error(`${file} holds the review of stack ${v.stack}, not ${named}`);
    const twice = out.find((r) => r.review.stack === v.stack);
    if (twice) throw new Error(`stack ${v.stack} is reviewed twice: ${twice.file} and ${file} (one review per stack)`);
    out.push({ file, review: v as StackReview });
  }
  return out;
}

/** The stack names of an `--expect` file: a JSON array of names or of `{ name }` (the stacks list). */
export function readExpected(file: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`--expect ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `not valid JSON (${(e as Error).message.split("\n")[0]})`}`);
  }
  if (!Array.isArray(v)) throw new Error(`--expect ${file} must hold a JSON array of stack names or of { "name": … } (npm run -s stacks -- --json)`);
  const names = v.map((s: any) => (typeof s === "string" ? s : s?.name));
  const bad = names.findIndex((n) => typeof n !== "string" || !STACK_NAME.test(n));
  if (bad >= 0) throw new Error(`--expect ${file}: entry ${bad} is not a stack name nor an object with one (${JSON.stringify(v[bad])})`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`--expect ${file} lists stack ${dup} twice`);
  return names;
}

/** The local-endpoint notice of the matrix jobs' own summaries (summary.json beside a review), merged. */
function localEndpointOf(files: readonly ReviewFile[]): LocalEndpointPlan | undefined {
  let merged: LocalEndpointPlan | undefined;
  for (const f of files) {
    const summary = path.join(path.dirname(f.file), "summary.json");
    if (!fs.existsSync(summary)) continue;
    let le: any;
    try {
      le = JSON.parse(fs.readFileSync(summary, "utf8"))?.localEndpoint;
    } catch {
      continue;
    }
    if (!le || !Array.isArray(le.environments) || !Array.isArray(le.stacks)) continue;
    merged = {
      environments: [...new Set([...(merged?.environments ?? []), ...le.environments])].sort(),
      variables: { ...(le.variables ?? {}), ...(merged?.variables ?? {}) },
      stacks: [...new Set([...(merged?.stacks ?? []), ...le.stacks.filter((s: string) => s === f.review.stack)])],
    };
  }
  return merged;
}

/** The line a merged review opens with when stacks that were to be planned have no review. */
export function missingNote(missing: readonly string[]): string {
  return (
    `:no_entry: **Blocked: no review** for ${boundedList(missing)}: ${missing.length > 1 ? "their plan jobs" : "its plan job"} ` +
    "failed or did not run (see the job's log; re-run the failed jobs). A stack without a review is not a pass."
  );
}

/** The review of a change that touches no stack. */
export const NO_CHANGES =
  "# Terraform plan review\n\nNo stack changes: the synthesized Terraform of every stack of `ENVIRONMENTS` is the same as at the base of this pull request, so nothing was planned.";

/** {@link NO_CHANGES} with the commit and the run's links under its title, when known. */
export function noChanges(context?: RunContext): string {
  const line = contextLine(context);
  if (!line.length) return NO_CHANGES;
  const [title, blank, ...rest] = NO_CHANGES.split("\n");
  return [title, blank, ...line, ...rest].join("\n");
}

/** What a merge produced. */
export interface Merged {
  readonly markdown: string;
  readonly json: object;
  readonly reviews: StackReview[];
  readonly decision: GuardDecision;
  readonly missing: string[];
}

/**
 * Merges the reviews: the guard over all of them, the summary of `npm run plan` (a stack of
 * `expected` without a review blocks, said at the top), the stacks in `expected`'s order, else by name.
 */
export function mergeReviews(
  files: readonly ReviewFile[],
  expected: readonly string[] | undefined,
  allowDestroy: string[],
  allowEmptyState: string[],
  maxChars = SUMMARY_MAX_CHARS,
  extra: { readonly allowances?: AllowancesFile; readonly context?: RunContext } = {},
): Merged {
  if (expected) {
    const stray = files.filter((f) => !expected.includes(f.review.stack));
    if (stray.length) throw new Error(`${stray.map((f) => `${f.file} reviews stack ${f.review.stack}`).join("; ")}, which --expect does not list (a review of another run?)`);
  }
  const order = (s: string) => (expected ? expected.indexOf(s) : 0);
  const reviews = files.map((f) => f.review).sort((a, b) => order(a.stack) - order(b.stack) || (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
  const missing = (expected ?? []).filter((s) => !reviews.some((r) => r.stack === s));
  const decision0 = guard(reviews, allowDestroy, allowEmptyState, extra.allowances);
  const decision: GuardDecision = { ...decision0, ok: decision0.ok && missing.length === 0 };
  const localEndpoint = localEndpointOf(files);
  const recorded = { flags: { allowDestroy, allowEmptyState }, file: extra.allowances ?? null };
  const json = { ...summaryJson(reviews, decision, localEndpoint, recorded), missing };
  if (expected && expected.length === 0) return { markdown: noChanges(extra.context), json, reviews, decision, missing };
  const options = { context: extra.context, allowances: extra.allowances };
  if (!missing.length) return { markdown: summaryMarkdown(reviews, decision, localEndpoint, { maxChars, ...options }), json, reviews, decision, missing };
  // The note goes right under the title, and counts against the same limit.
  const note = missingNote(missing);
  const body = summaryMarkdown(reviews, decision, localEndpoint, { maxChars: maxChars - note.length - 2, ...options }).split("\n");
  return { markdown: [...body.slice(0, 2), note, "", ...body.slice(2)].join("\n"), json, reviews, decision, missing };
}

/** The most drifted resources the drift summary lists (a job summary holds at most 1 MiB). */
const DRIFT_ROWS = 500;

/** Markdown for the nightly job summary: what drifted in which stack, missing reviews (pending changes: merge-records.ts). */
export function driftMarkdown(reviews: readonly StackReview[], missing: readonly string[]): string {
  const drifted = reviews.flatMap((r) => (r.drift ?? []).map((d) => ({ stack: r.stack, ...d })));
  const lines = ["# Drift report", ""];
  if (missing.length) lines.push(missingNote(missing), "");
  if (!drifted.length) {
    lines.push(`:white_check_mark: No drift in ${reviews.length} stack${reviews.length === 1 ? "" : "s"}: nothing was changed outside Terraform.`, "");
  } else {
    const stacks = new Set(drifted.map((d) => d.stack)).size;
    lines.push(
      `:warning: **${drifted.length} resource${drifted.length === 1 ? "" : "s"} changed outside Terraform** in ${stacks} of ${reviews.length} stacks (attribute names only, never values):`,
      "",
      "| stack | resource | outside Terraform | attributes | the plan |",
      "|---|---|---|---|---|",
      ...drifted
        .slice(0, DRIFT_ROWS)
        .map((d) => `| ${d.stack} | \`${d.address}\` | ${d.action === "delete" ? "deleted" : "changed"} | ${d.attributes.join(", ")} | ${d.corrected ? (d.action === "delete" ? "creates it again" : "changes it back") : "keeps the change"} |`),
      ...(drifted.length > DRIFT_ROWS ? [`| … | and ${drifted.length - DRIFT_ROWS} more | | | |`] : []),
      "",
    );
  }
  lines.push("Each stack's review is in the `plans` artifact of this run.");
  return lines.join("\n");
}

/** Runs a merge; returns the exit code. */
export function runMerge(flags: MergeFlags, env: NodeJS.ProcessEnv = process.env, log = (s: string) => process.stdout.write(s)): number {
  const expected = flags.expect === undefined ? undefined : readExpected(flags.expect);
  const files = readReviews(findReviewFiles(flags.inputs));
  if (!files.length && !expected) throw new Error(`no <stack>.review.json in ${flags.inputs.join(", ")}`);
  const root = projectRoot();
  // The records' verdicts (merge-records.ts): orphaned stacks, and since when a change is pending.
  const orphans = flags.orphans === undefined ? [] : orphansFromFile(flags.orphans);
  const orphanText = orphansSection(orphans);
  // The orphans' section (itself bounded) comes out of the comment's size limit.
  const maxChars = SUMMARY_MAX_CHARS - (orphanText ? orphanText.length + 2 : 0);
  const merged = mergeReviews(files, expected, flags.allowDestroy, flags.allowEmptyState, maxChars, { allowances: flags.allowancesFile, context: runContext(env, deployedCommit(env, root)) });
  const markdown = orphanText ? `${merged.markdown}\n\n${orphanText}` : merged.markdown;
  fs.mkdirSync(flags.out, { recursive: true });
  for (const f of files) {
    // The saved plan and its binding go with the review (the plan's JSON, which holds values, stays behind).
    for (const suffix of [".review.json", ".md", ".tfplan", BINDING_SUFFIX, ".txt"]) {
      const from = path.join(path.dirname(f.file), `${f.review.stack}${suffix}`);
      const to = path.join(flags.out, path.basename(from));
      if (fs.existsSync(from) && path.resolve(from) !== path.resolve(to)) fs.copyFileSync(from, to);
    }
  }
  fs.writeFileSync(path.join(flags.out, "summary.md"), `${markdown}\n`);
  fs.writeFileSync(path.join(flags.out, "summary.json"), `${JSON.stringify(merged.json, null, 2)}\n`);
  if (flags.driftSummary) {
    const pending = pendingSection(merged.reviews);
    const drift = `${driftMarkdown(merged.reviews, merged.missing)}\n${pending ? `\n${pending}\n` : ""}${orphanText ? `\n${orphanText}\n` : ""}`;
    if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, drift);
    else log(drift);
    const drifted = merged.reviews.some((r) => (r.drift ?? []).length > 0);
    const stale = pendingReviews(merged.reviews).map((r) => r.stack);
    log(`merged ${merged.reviews.length} reviews into ${flags.out}/summary.md${drifted ? "; drift found" : ""}${stale.length ? `; pending changes in ${stale.join(", ")}` : ""}${orphans.length ? `; orphaned: ${orphans.map((o) => o.name).join(", ")}` : ""}${merged.missing.length ? `; no review for ${merged.missing.join(", ")}` : ""}\n`);
    return drifted || stale.length || orphans.length || merged.missing.length ? 1 : 0;
  }
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${markdown}\n`);
  log(`${markdown}\n\nmerged ${merged.reviews.length} reviews into ${flags.out}/summary.md and summary.json\n`);
  return merged.decision.ok ? 0 : 1;
}

if (require.main === module) {
  runCli<MergeFlags | MatrixFlags>({
    parse: () => parseMergeFlags(process.argv.slice(2), process.env),
    usage: USAGE,
    run: async (flags) => {
      if (flags.mode === "merge") return runMerge(flags);
      writeGithubOutputs(matrixOutputs(flags), process.env);
      return 0;
    },
  });
}
