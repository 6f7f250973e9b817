/**
 * `npm run destroy -- --orphan <stack>`: the destruction of an orphaned state (a stack the config
 * no longer has, or a state its stack's moved backend left behind; `npm run -s stacks -- --orphans`),
 * reviewed like every destroy. The config cannot synthesize it any more, so the stack is rebuilt
 * from its state record: its backend block and the provider configuration it was applied with,
 * and no resources, so that `terraform plan -destroy` plans the deletion of everything its state
 * holds. Without `--confirm <stack>` only the plan and its review are written.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { endpointEnv } from "../shared/aws-clients";
import { walkFlags } from "../shared/cli";
import { findOrphanRecords } from "../stacks/orphans";
import { terraformEnv } from "../terraform/env";
import { TerraformSession } from "../terraform/session";
import { stackMarkdown, reviewPlan } from "./review";
import { deployedCommit, recordAppliedState, type StateRecord } from "./state-record";
import { select } from "./select";

export const ORPHAN_USAGE = `Usage: npm run destroy -- --orphan STACK [--confirm STACK] [--out DIR]

Plans the destruction of an orphaned state (npm run -s stacks -- --orphans lists them: a stack
the config no longer has, or a state its stack's moved backend left behind), from its state
record (its backend and the provider configuration it was applied with), in the state buckets
of ENVIRONMENTS. Writes the plan and its review (DIR/<stack>.md, <stack>.review.json) and prints
the review; applies it only when --confirm names the same stack. Then its record says destroyed.

  --orphan STACK    the orphaned stack (required)
  --confirm STACK   destroy it (the same name again)
  --out DIR         where the plan and review go (default: plans/orphans)
  --help            this text`;

/** What `--orphan` was asked. */
export interface OrphanFlags {
  readonly orphan: string;
  readonly confirm?: string;
  readonly out: string;
}

/** Parses `npm run destroy -- --orphan …` (the arguments after `--destroy`); throws one line per problem. */
export function parseOrphanFlags(argv: readonly string[]): OrphanFlags | "help" {
  const problems: string[] = [];
  let orphan: string | undefined;
  let confirm: string | undefined;
  let out = path.join("plans", "orphans");
  const walked = walkFlags(argv, problems, (a, value) => {
    if (a === "--orphan") orphan = value();
    else if (a === "--confirm") confirm = value();
    else if (a === "--out") out = value() ?? out;
    else if (a.startsWith("-")) problems.push(`unknown flag ${JSON.stringify(a)} with --orphan (known: --orphan, --confirm, --out, --help)`);
    else problems.push(`unexpected argument ${JSON.stringify(a)} (name the orphan with --orphan STACK)`);
  });
  if (walked === "help") return "help";
  if (orphan !== undefined && !/^[a-z][a-z0-9-]*$/.test(orphan)) problems.push(`--orphan ${JSON.stringify(orphan)} must be a stack name <environment>-<region>`);
  if (orphan !== undefined && confirm !== undefined && confirm !== orphan) problems.push(`--confirm ${JSON.stringify(confirm)} must name the orphan being destroyed (${orphan})`);
  if (orphan === undefined && !problems.length) problems.push("--orphan STACK is required");
  if (problems.length) throw new Error(problems.join("\n"));
  return { orphan: orphan!, confirm, out };
}

/** The Terraform JSON of an orphan: its backend, its providers, no resources. */
export function orphanTerraformJson(record: StateRecord): object {
  if (!record.providers) {
    throw new Error(
      `${record.stack}: its state record holds no provider configuration (written by an earlier version), so its destruction cannot be planned from it: ` +
        "bring the stack back into the config and run npm run destroy -- --stack, or delete its resources by hand",
    );
  }
  return { terraform: { required_providers: record.providers.required_providers, backend: { s3: record.backend } }, provider: record.providers.provider };
}

/** Runs `--orphan`; returns the exit code. */
export async function destroyOrphan(flags: OrphanFlags, env: NodeJS.ProcessEnv = process.env, log = (s: string) => process.stdout.write(s)): Promise<number> {
  const root = projectRoot();
  const selected = select(env, log, {
    allowLocalEndpoint: false,
    command: "destroy -- --orphan",
    doing: "looking for orphans",
    noneNote: "the local environments' states are in their local AWS: start it with npm start -- --keep-running, or set AWS_ENDPOINT_URL",
  });
  const warn = (l: string) => void process.stderr.write(`warning: ${l}\n`);
  const all = await findOrphanRecords(selected.selection.environments, selected.selection.organization, selected.endpoint, env, warn);
  const matching = all.filter((o) => o.orphan.name === flags.orphan);
  if (matching.length !== 1) {
    const known = all.map((o) => o.orphan.name).join(", ") || "none";
    throw new Error(
      matching.length === 0
        ? `--orphan ${flags.orphan}: no orphaned state of that stack in the state buckets of ENVIRONMENTS=${selected.selection.environments.map((e) => e.name).join(",")} (orphans: ${known})`
        : `--orphan ${flags.orphan}: ${matching.length} orphaned states of that stack (${matching.map((o) => o.orphan.backend.key).join(", ")}): destroy them one by one by hand`,
    );
  }
  const { record } = matching[0].found;
  const dir = path.join(root, ".tmp", "orphans", record.stack);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "cdk.tf.json"), `${JSON.stringify(orphanTerraformJson(record), null, 2)}\n`);
  for (const [name, text] of Object.entries(record.providers?.files ?? {})) {
    if (name.includes("/") || name.includes("..")) throw new Error(`${record.stack}: its record names the provider file ${JSON.stringify(name)}, which is not a plain file name`);
    fs.writeFileSync(path.join(dir, name), text);
  }
  const region = String(record.backend.region);
  const tfBase = terraformEnv(path.join(root, ".tmp", "terraform"), env);
  const stack = { name: record.stack, dir, tfEnv: record.local && selected.endpoint ? { ...tfBase, ...endpointEnv(selected.endpoint, region) } : tfBase };
  const out = path.resolve(root, flags.out);
  fs.mkdirSync(out, { recursive: true });
  const session = new TerraformSession(log);
  await session.init(stack);
  const planFile = path.join(out, `${record.stack}.tfplan`);
  const { json } = await session.plan(stack, ["-destroy"], planFile);
  const review = reviewPlan(record.stack, JSON.parse(json), {});
  const markdown = [`# Destroy review of the orphaned stack ${record.stack}`, "", `Its state \`s3://${matching[0].orphan.backend.bucket}/${matching[0].orphan.backend.key}\` (${matching[0].orphan.reason === "removed" ? "not in the config" : `its stack's backend moved to ${matching[0].orphan.movedTo}`}).`, "", stackMarkdown(review)].join("\n");
  fs.writeFileSync(path.join(out, `${record.stack}.md`), `${markdown}\n`);
  fs.writeFileSync(path.join(out, `${record.stack}.review.json`), `${JSON.stringify(review, null, 2)}\n`);
  log(`${markdown}\n\nthe plan and its review are in ${path.relative(root, out) || "."}/\n`);
  if (flags.confirm !== record.stack) {
    log(`nothing destroyed: destroy exactly this plan with npm run destroy -- --orphan ${record.stack} --confirm ${record.stack}\n`);
    return 0;
  }
  await session.apply(stack, planFile);
  await recordAppliedState({ name: record.stack, dir, tfEnv: stack.tfEnv, local: record.local }, "destroy", deployedCommit(env, root), env);
  log(`destroyed the orphaned stack ${record.stack}; its state record now says so\n`);
  return 0;
}
