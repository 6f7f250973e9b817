import { ConfigError } from "../../config/environments";
import { select } from "../plan-review/select";
import { runCli } from "../shared/cli";
import { keptServers } from "../shared/endpoint-records";
import { changedSince } from "./changed";
import { listStacks, selectStacks, type StackInfo } from "./list";
import { findOrphans, orphanLine } from "./orphans";
import { pendingLine, pendingStacks } from "./pending";

export const USAGE = `Usage: npm run -s stacks [-- options]

Lists every stack (one per environment and region) of the selected environments, in apply
order: wave 0 first. A consumer's stacks come before the stacks of the owner it pulls from (the
owner's repository policy names the consumer's pull roles, which must exist first).

  --json                    a JSON array of { name, environment, accountId, region, dir, local,
                            wave } on stdout (dir: the synthesized folder, relative to the
                            project root); without it, a table
  --changed-since GIT_REF   only the stacks whose synthesized Terraform JSON differs from the
                            synth of GIT_REF (synthesized in a temporary worktree; a stack the
                            ref lacks counts as changed); progress on stderr
  --pending                 only the stacks not deployed as this checkout synthesizes them:
                            no state record beside the state, a record whose digest differs
                            from this synth, or a destroyed one; one line per stack on stderr
                            says why and since which deployed commit
  --orphans                 instead of the stacks: the states in the selected environments'
                            state buckets that still hold resources no stack of the config
                            manages (a removed stack or environment, a moved backend); with
                            --json a JSON array of { name, backend: { bucket, key, region },
                            resources, reason, movedTo?, commit, at, local }
  --help                    this text
Environment: ENVIRONMENTS (comma-separated names, or all; default: every local environment),
CONFIG_FILE (default config/environments.json), CDKTF_OUTDIR (default cdktf.out). --pending and
--orphans read the state records beside the states (<state key>.record.json) with the default
AWS credentials, local environments at AWS_ENDPOINT_URL or the local AWS kept running; a record
or bucket that cannot be read is one warning line.`;

interface Args {
  readonly json: boolean;
  readonly changedSince?: string;
  readonly pending?: boolean;
  readonly orphans?: boolean;
}

export function parseArgs(argv: readonly string[]): Args | "help" {
  let json = false;
  let changed: string | undefined;
  let pending = false;
  let orphans = false;
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return "help";
    if (a === "--json") json = true;
    else if (a === "--pending") pending = true;
    else if (a === "--orphans") orphans = true;
    else if (a === "--changed-since" || a.startsWith("--changed-since=")) {
      const value = a === "--changed-since" ? argv[++i] : a.slice("--changed-since=".length);
      if (value === undefined || value === "" || (a === "--changed-since" && value.startsWith("--"))) {
        problems.push(`--changed-since needs a git ref, e.g. --changed-since origin/main${value?.startsWith("--") ? ` (got the flag ${value})` : ""}`);
        if (value?.startsWith("--")) i--;
      } else if (changed !== undefined) {
        problems.push(`--changed-since is given twice (${JSON.stringify(changed)} and ${JSON.stringify(value)}): give one git ref`);
      } else changed = value;
    } else problems.push(`unknown argument ${JSON.stringify(a)} (options: --json, --changed-since GIT_REF, --pending, --orphans, --help)`);
  }
  const modes = [changed !== undefined && "--changed-since", pending && "--pending", orphans && "--orphans"].filter(Boolean);
  if (modes.length > 1) problems.push(`${modes.join(" and ")} do not go together: give one`);
  if (problems.length) throw new Error(problems.join("\n"));
  return { json, changedSince: changed, pending, orphans };
}

/** The stacks as a table, one line each. */
export function stackTable(stacks: readonly StackInfo[]): string {
  const rows = [["WAVE", "STACK", "ENVIRONMENT", "ACCOUNT", "REGION", "LOCAL", "DIR"], ...stacks.map((s) => [String(s.wave), s.name, s.environment, s.accountId, s.region, s.local ? "yes" : "no", s.dir])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")).join("\n");
}

const stderrLine = (l: string) => void process.stderr.write(`${l}\n`);

async function main(args: Args): Promise<number> {
  let stacks: StackInfo[];
  try {
    if (args.orphans) return await orphansMain(args.json);
    if (args.pending) {
      const pending = await pendingStacks(process.env, (l) => stderrLine(`warning: ${l}`), (s) => process.stderr.write(s));
      for (const p of pending) stderrLine(pendingLine(p));
      stacks = pending.map((p) => p.stack);
    } else if (args.changedSince === undefined) stacks = listStacks();
    else {
      const result = await changedSince(args.changedSince, { progress: (l) => process.stderr.write(`${l}\n`) });
      if (result.everyStackBecause) process.stderr.write(`warning: ${result.everyStackBecause}\n`);
      for (const name of result.gone) {
        process.stderr.write(`note: stack ${name} is in the synth of ${JSON.stringify(args.changedSince)} but no longer in the working tree's: not listed (its resources stay deployed until it is destroyed)\n`);
      }
      stacks = result.stacks;
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.problems) process.stderr.write(`error: ${line}\n`);
    return 1;
  }
  if (args.json) process.stdout.write(`${JSON.stringify(stacks, null, 2)}\n`);
  else if (stacks.length === 0) process.stdout.write(args.pending ? "no stack pending: every stack is deployed as synthesized\n" : args.changedSince === undefined ? "no stacks\n" : `no stack changed since ${args.changedSince}\n`);
  else process.stdout.write(`${stackTable(stacks)}\n`);
  return 0;
}

/** `--orphans`: the orphaned states of the selected environments' state buckets. */
async function orphansMain(json: boolean): Promise<number> {
  // Local environments keep their states in a running local AWS: with none running there is no
  // local state, so none is orphaned (real environments are still searched).
  const env = { ...process.env };
  const localOnly = selectStacks({ env }).environments.every((e) => e.local);
  if (localOnly && env.AWS_ENDPOINT_URL === undefined && !keptServers(env).some((k) => k.running)) {
    stderrLine("warning: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none): the local environments hold no state, so none is orphaned");
    process.stdout.write(json ? "[]\n" : "no orphaned stacks\n");
    return 0;
  }
  const selected = select(process.env, (s) => process.stderr.write(s), {
    allowLocalEndpoint: true,
    command: "stacks -- --orphans",
    doing: "looking for orphans",
    noneNote: "the local environments' states are in their local AWS: start it with npm start -- --keep-running, or set AWS_ENDPOINT_URL",
  });
  const orphans = await findOrphans(selected.selection.environments, selected.selection.organization, selected.endpoint, process.env, (l) => stderrLine(`warning: ${l}`));
  if (json) process.stdout.write(`${JSON.stringify(orphans, null, 2)}\n`);
  else process.stdout.write(orphans.length ? `${orphans.map(orphanLine).join("\n")}\n` : "no orphaned stacks\n");
  return 0;
}

if (require.main === module) {
  runCli({ parse: () => parseArgs(process.argv.slice(2)), usage: USAGE, run: main });
}
