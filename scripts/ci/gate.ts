/**
 * `npm run -s ci-gate`: the verdict of the workflow's `gate` job, the one required check. GitHub
 * counts a skipped job as passing, so a failed `stacks` job (which skips everything after it)
 * would let a pull request merge unplanned; the gate runs always and passes only when every job
 * it needs succeeded, or was skipped for a reason the event makes normal:
 *
 * - `plan-<i>`: skipped when its chunk of the plan matrix is empty;
 * - `review`: never skipped (it runs after the plans on every event, and says "no stack changes");
 * - `deploy-wave-<i>`: skipped on pull requests and the nightly run, and on pushes and manual
 *   runs when its wave is empty.
 *
 * Everything else (failed, cancelled, skipped otherwise, the stacks job included) fails the gate,
 * with one line per job, and writes the comment that replaces the sticky pull-request comment.
 */
import * as fs from "fs";
import { runCli, walkFlags } from "../shared/cli";

export const USAGE = `Usage: npm run -s ci-gate -- [--comment FILE]

Reads the results of the jobs the gate needs from NEEDS (the workflow's toJSON(needs)) and the
event from GITHUB_EVENT_NAME; prints one line per job that breaks the rule, writes the verdict to
GITHUB_STEP_SUMMARY, and exits 1 when any does. With --comment, writes the pull-request comment
that says why to FILE (only when the gate fails).`;

/** One job as `toJSON(needs)` shows it. */
export interface NeededJob {
  readonly result: "success" | "failure" | "cancelled" | "skipped" | string;
  readonly outputs?: Readonly<Record<string, string>>;
}

/** The gate's decision: the jobs that break the rule, one line each. */
export interface GateVerdict {
  readonly ok: boolean;
  readonly problems: readonly string[];
}

const DEPLOY_EVENTS = ["push", "workflow_dispatch"];

/** Why `job` may be skipped in this run, or undefined when it may not. */
function normalSkip(job: string, event: string, stacks: NeededJob | undefined): string | undefined {
  const chunk = /^plan-(\d+)$/.exec(job);
  if (chunk) return stacks?.outputs?.[`plan${chunk[1]}`] === "[]" ? "its plan matrix is empty" : undefined;
  const wave = /^deploy-wave-(\d+)$/.exec(job);
  if (wave) {
    if (!DEPLOY_EVENTS.includes(event)) return `${event} runs deploy nothing`;
    return stacks?.outputs?.[`wave${wave[1]}`] === "[]" ? "its wave is empty" : undefined;
  }
  return undefined;
}

/** The verdict for the jobs of `needs` on `event`. */
export function gateVerdict(event: string, needs: Readonly<Record<string, NeededJob>>): GateVerdict {
  const problems: string[] = [];
  if (needs.stacks === undefined) problems.push("the gate does not need the stacks job: add it to the gate's needs");
  for (const [job, { result }] of Object.entries(needs)) {
    if (result === "success") continue;
    if (result === "skipped" && needs.stacks?.result === "success" && normalSkip(job, event, needs.stacks) !== undefined) continue;
    const why = job === "stacks" && needs.stacks?.outputs?.reason ? `: ${needs.stacks.outputs.reason}` : "";
    problems.push(`${job} ${result === "skipped" ? "was skipped" : result === "cancelled" ? "was cancelled" : "failed"}${why}`);
  }
  return { ok: problems.length === 0, problems };
}

/** The comment that replaces the sticky pull-request comment when the gate fails. */
export function gateComment(verdict: GateVerdict, runUrl: string | undefined): string {
  return [
    "## Terraform plan: not reviewed",
    "",
    "The required check `gate` failed, so this pull request has no plan review to rely on (an earlier review of it no longer stands):",
    "",
    ...verdict.problems.map((p) => `- ${p}`),
    "",
    runUrl ? `Details: [the run](${runUrl}).` : "Details: the workflow run's jobs.",
  ].join("\n");
}

function parseArgs(argv: readonly string[]): { comment?: string } | "help" {
  const problems: string[] = [];
  let comment: string | undefined;
  const help = walkFlags(argv, problems, (flag, value) => {
    if (flag === "--comment") comment = value();
    else problems.push(`unknown argument ${JSON.stringify(flag)} (options: --comment FILE, --help)`);
  });
  if (help) return help;
  if (problems.length) throw new Error(problems.join("\n"));
  return comment === undefined ? {} : { comment };
}

/** NEEDS parsed, or one line saying what is wrong with it. */
export function parseNeeds(text: string | undefined): Record<string, NeededJob> {
  if (text === undefined || text.trim() === "") throw new Error("NEEDS is not set: pass the gate's ${{ toJSON(needs) }}");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`NEEDS is not JSON (${(e as Error).message.split("\n")[0]}): pass the gate's \${{ toJSON(needs) }}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v) || Object.values(v).some((j) => typeof (j as NeededJob)?.result !== "string")) {
    throw new Error("NEEDS must be an object of job -> { result, outputs } (the gate's ${{ toJSON(needs) }})");
  }
  return v as Record<string, NeededJob>;
}

async function main(args: { comment?: string }): Promise<number> {
  const env = process.env;
  const event = env.GITHUB_EVENT_NAME;
  if (!event) throw new Error("GITHUB_EVENT_NAME is not set: the gate runs in a GitHub Actions job");
  const verdict = gateVerdict(event, parseNeeds(env.NEEDS));
  const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
  const summary = verdict.ok ? "gate: every job succeeded or was skipped as this event expects" : `gate: failed\n\n${verdict.problems.map((p) => `- ${p}`).join("\n")}`;
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${summary}\n`);
  if (verdict.ok) {
    process.stdout.write("gate: passed\n");
    return 0;
  }
  for (const p of verdict.problems) process.stderr.write(`error: gate: ${p}\n`);
  if (args.comment) fs.writeFileSync(args.comment, `${gateComment(verdict, runUrl)}\n`);
  return 1;
}

if (require.main === module) {
  runCli({ parse: () => parseArgs(process.argv.slice(2)), usage: USAGE, run: main });
}
