/**
 * `npm run recover`: after an interrupted apply (a killed process, a lost runner), explains the
 * state lock it left and releases it only when told to, then adopts, with Terraform `import`
 * blocks in a reviewed plan, the resources that exist in the account but never reached the
 * state. Never deletes anything: a plan that deletes or replaces something is refused.
 */
import * as fs from "fs";
import * as path from "path";
import { EnvironmentConfig, projectRoot } from "../../config/environments";
import { ALLOW_LOCAL_ENDPOINT, ALLOW_LOCAL_ENDPOINT_FLAG, allowLocalEndpointProblem } from "../../config/local-endpoint-guard";
import { stateDirProblem } from "../shared/endpoint-records";
import { explainUnsupportedCall } from "../plan-review/apply";
import { reviewPlan, stackMarkdown, type StackReview } from "../plan-review/review";
import { select } from "../plan-review/select";
import { synthesize } from "../plan-review/synth";
import { runCli, walkFlags } from "../shared/cli";
import { namedStacks, UnknownStackError } from "../stacks/list";
import { LOCK_TIMEOUT_VARIABLE, lockTimeoutProblem, terraform, terraformOk } from "../terraform/run";
import { findAdoptions, importsFile, providerAccount, providerOf, sdkAccount, stackTagOf, type Finding } from "./adopt";
import { describeLock, readLock, s3Backend } from "./lock";

export const USAGE = `Usage: npm run recover -- --stack STACK [options]

Recovers a stack after an interrupted apply (a killed deploy, a lost CI runner), in two steps:
 1. the state lock: says who holds it, since when, for what, from which host (and whether a
    terraform process still runs in the stack's folder on this host); releases it only with
    --unlock and the lock's ID (terraform force-unlock). Make sure first that no terraform runs
    for the stack anywhere: releasing a live lock is the operator's responsibility.
 2. adoption: finds the resources of the stack that exist in the account but not in the state
    (the repository, log groups, roles, role policies, projects: named by the config) and plans
    their adoption with Terraform import blocks (recover-imports.tf.json in the stack's folder).
    The plan is reviewed like npm run plan's; one that deletes or replaces anything is refused.
    --apply applies exactly the reviewed plan. Nothing in the account is ever deleted.

  --stack STACK[,…]        the stacks to recover, <environment>-<region> (required, repeatable)
  --unlock LOCK-ID         release the stack's lock when its ID is this one (repeatable)
  --apply                  apply the reviewed adoption plan (else only print it and the command)
  --out DIR                where plans and reviews go (default: plans/recover)
  --allow-local-endpoint   recover real environments against the endpoint AWS_ENDPOINT_URL(_<SERVICE>)
                           sets, on purpose; refused without it, before anything runs
  --help                   this text
Environment: ALLOW_LOCAL_ENDPOINT, CONFIG_FILE, CDKTF_OUTDIR, AWS_ENDPOINT_URL, LOCK_TIMEOUT
(default 5m), LOCAL_AWS_STATE_DIR. ENVIRONMENTS is not read: the stacks name their environments.

Local environments are recovered where they were deployed: AWS_ENDPOINT_URL, else the local AWS
kept running by \`npm start -- --keep-running\` (\`npm run status\`); real ones with the default
AWS credentials. Exit codes: 0 done (or nothing to do), 1 a lock kept or a plan refused, 2 usage.`;

/** What `npm run recover` was asked. */
export interface RecoverFlags {
  readonly stacks: string[];
  readonly unlock: string[];
  readonly apply: boolean;
  readonly out: string;
  readonly allowLocalEndpoint: boolean;
}

const STACK = /^[a-z][a-z0-9-]*-[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** Parses the flags; throws one line per problem. */
export function parseRecoverFlags(argv: string[], env: NodeJS.ProcessEnv = {}): RecoverFlags | "help" {
  const problems: string[] = [];
  const lockProblem = lockTimeoutProblem(env[LOCK_TIMEOUT_VARIABLE]);
  if (lockProblem) problems.push(lockProblem);
  const dirProblem = stateDirProblem(env);
  if (dirProblem) problems.push(dirProblem);
  const allowProblem = allowLocalEndpointProblem(env[ALLOW_LOCAL_ENDPOINT]);
  if (allowProblem) problems.push(allowProblem);
  const stacks: string[] = [];
  const unlock: string[] = [];
  let apply = false;
  let out = path.join("plans", "recover");
  let allowLocalEndpoint = env[ALLOW_LOCAL_ENDPOINT] === "1";
  const walked = walkFlags(argv, problems, (a, value) => {
    if (a === "--apply") apply = true;
    else if (a === ALLOW_LOCAL_ENDPOINT_FLAG) allowLocalEndpoint = true;
    else if (a === "--stack") {
      for (const s of (value() ?? "").split(/[\s,]+/).filter(Boolean)) {
        if (STACK.test(s)) stacks.push(s);
        else problems.push(`--stack ${JSON.stringify(s)} must be a stack name, <environment>-<region>, e.g. local-eu-central-1`);
      }
    } else if (a === "--unlock") {
      const v = value();
      if (v !== undefined) unlock.push(v);
    } else if (a === "--out") out = value() ?? out;
    else problems.push(`unknown flag ${JSON.stringify(a)} (known: --stack, --unlock, --apply, --out, ${ALLOW_LOCAL_ENDPOINT_FLAG}, --help)`);
  });
  if (walked === "help") return "help";
  if (!stacks.length && !problems.some((p) => p.startsWith("--stack"))) problems.push("--stack is required: name the stack(s) to recover, e.g. --stack local-eu-central-1");
  if (problems.length) throw new Error(problems.join("\n"));
  return { stacks: [...new Set(stacks)], unlock, apply, out, allowLocalEndpoint };
}

/** A stack of the config. */
export interface ConfigStack {
  readonly env: EnvironmentConfig;
  readonly region: string;
  readonly name: string;
}

/** The stacks the names pick from the organization; throws naming the valid ones when a name is not one. */
export function selectStacks(names: readonly string[], organization: readonly EnvironmentConfig[], file: string): ConfigStack[] {
  return namedStacks(names, organization, file).map((s) => ({ env: s.environment, region: s.region, name: s.name }));
}

/** The command line that repeats this run with other flags. */
export function recoverCommand(stack: string, extra: string[]): string {
  return ["npm run recover --", "--stack", stack, ...extra].join(" ");
}

/** Names of the resources the state holds, by address, from `terraform show -json`. */
export function stateNames(shown: any): Map<string, string> {
  const names = new Map<string, string>();
  for (const r of shown?.values?.root_module?.resources ?? []) {
    if (r.mode === "managed" && typeof r.values?.name === "string") names.set(r.address, r.values.name);
  }
  return names;
}

/** The imports a plan makes, from `terraform show -json <plan>`: address, ID and what follows. */
export function plannedImports(plan: any): { address: string; id: string; then: string }[] {
  return (plan.resource_changes ?? [])
    .filter((rc: any) => rc.change?.importing)
    .map((rc: any) => ({ address: rc.address, id: rc.change.importing.id, then: (rc.change.actions ?? []).join("/") === "no-op" ? "no change" : (rc.change.actions ?? []).join(", ") }));
}

/** What recover does about a finding, for the review's table. */
export function findingText(f: Finding): string {
  switch (f.status) {
    case "adopt":
      return "yes: adopt";
    case "absent":
      return "no: the apply creates it";
    case "not-adoptable":
      return `not adoptable: ${f.reason}`;
    case "orphan":
      return `another role, ${f.name}, has its name prefix and Stack tag but is in no state (an earlier attempt's): left as it is, delete it by hand once unused`;
  }
}

/** One line per finding, for the terminal. */
export function findingLine(f: Finding): string {
  switch (f.status) {
    case "adopt":
      return `adopt   ${f.address} (import ID ${f.id})`;
    case "absent":
      return `absent  ${f.address} (not in the account: the apply creates it)`;
    case "not-adoptable":
      return `skip    ${f.address}: ${f.reason}`;
    case "orphan":
      return `orphan  ${f.name}: a role with the name prefix and Stack tag of ${f.address}, in no state; left as it is (recover never deletes), delete it by hand once unused`;
  }
}

/** Markdown for a recovery review: the findings, the imports, then the plan review. */
export function recoveryMarkdown(review: StackReview, findings: readonly Finding[], imports: ReturnType<typeof plannedImports>): string {
  const lines = [`# Recovery of ${review.stack}`, "", "Missing from the state:", "", "| resource | found in the account | import ID |", "|---|---|---|"];
  for (const f of findings) {
    lines.push(`| \`${f.address}\` | ${findingText(f)} | ${f.status === "adopt" ? `\`${f.id}\`` : ""} |`);
  }
  lines.push("", "Imports in the plan:", "", "| resource | import ID | then |", "|---|---|---|", ...imports.map((i) => `| \`${i.address}\` | \`${i.id}\` | ${i.then} |`), "");
  lines.push(stackMarkdown(review));
  return lines.join("\n");
}

/** Why an adoption plan is refused (it deletes or replaces something), or undefined. */
export function refusal(review: StackReview): string | undefined {
  const going = review.changes.filter((c) => c.action === "delete" || c.action === "replace");
  if (!going.length) return undefined;
  return (
    `refused: the plan ${going.map((c) => `${c.action === "delete" ? "deletes" : "replaces"} ${c.address}`).join(", ")}; recover never deletes anything. ` +
    "Nothing was applied: compare the config with what the account holds, then adopt by hand"
  );
}

/** The file of import blocks written into the stack's folder. */
export const IMPORTS_FILE = "recover-imports.tf.json";

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Recovers the stacks; returns the exit code. */
export async function runRecover(flags: RecoverFlags, env: NodeJS.ProcessEnv = process.env, log = (s: string) => process.stdout.write(s)): Promise<number> {
  const root = projectRoot();
  let selected: ReturnType<typeof select>;
  try {
    selected = select(env, log, {
      stacks: flags.stacks,
      byName: true,
      allowLocalEndpoint: flags.allowLocalEndpoint,
      command: "recover",
      doing: "recovering",
      noneNote: "a local AWS started for a run is gone with it, and so is everything deployed into it",
    });
  } catch (e) {
    // A stack name that is not one of the config is a usage error, as a bad flag is.
    if (!(e instanceof UnknownStackError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return 2;
  }
  const { endpoint } = selected;
  const out = path.resolve(root, flags.out);
  const stacks = await synthesize(root, selected, env, { records: "none" });
  fs.mkdirSync(out, { recursive: true });

  let code = 0;
  for (const s of stacks) {
    const { dir, tfEnv } = s;
    const local = s.environment.local === true;
    const sdkEndpoint = local ? endpoint : env.AWS_ENDPOINT_URL;
    const progress = { label: s.name, log };
    const synthesized = readJson(path.join(dir, "cdk.tf.json"));
    const importsPath = path.join(dir, IMPORTS_FILE);
    fs.rmSync(importsPath, { force: true });
    log(`\n${s.name}: step 1, the state lock\n`);
    await terraformOk(["init", "-input=false", "-no-color", "-reconfigure"], dir, tfEnv, { progress });
    const backend = s3Backend(synthesized, s.name);
    const lock = await readLock(backend, sdkEndpoint);
    if (lock) {
      for (const line of describeLock(s.name, lock, dir)) log(`${line}\n`);
      if (flags.unlock.includes(lock.info.ID)) {
        await terraformOk(["force-unlock", "-force", lock.info.ID], dir, tfEnv);
        log(`${s.name}: released the lock ${lock.info.ID} (terraform force-unlock, as --unlock asked)\n`);
      } else {
        if (flags.unlock.length) log(`${s.name}: --unlock ${flags.unlock.join(", ")} is not this lock's ID (${lock.info.ID}): the lock is kept\n`);
        log(
          `${s.name}: the lock is kept. If no terraform runs for this stack anywhere (that is for you to make sure: ` +
            `releasing a live lock lets two runs write the state at once), release it with:\n  ${recoverCommand(s.name, ["--unlock", lock.info.ID])}\n`,
        );
        code = 1;
        continue;
      }
    } else {
      log(`${s.name}: the state is not locked${flags.unlock.length ? ` (nothing to release for --unlock ${flags.unlock.join(", ")})` : ""}\n`);
    }

    log(`\n${s.name}: step 2, resources in the account but not in the state\n`);
    // A stack whose first apply was interrupted before its state was written has none yet.
    const listed = await terraform(["state", "list"], dir, tfEnv);
    if (listed.code !== 0 && !/No state file was found/.test(listed.stderr)) throw new Error(`terraform state list failed for ${s.name}:\n${listed.stderr.trim()}`);
    const inState = new Set(listed.code === 0 ? listed.stdout.split("\n").map((l) => l.trim()).filter(Boolean) : []);
    const shownState = JSON.parse((await terraformOk(["show", "-json", "-no-color"], dir, tfEnv)).stdout || "{}");
    const provider = providerOf(synthesized, {});
    const account = sdkAccount(await providerAccount(provider, sdkEndpoint));
    const findings = await findAdoptions(synthesized, inState, stateNames(shownState), account, stackTagOf(provider));
    log(`  ${inState.size} resources in the state, ${findings.filter((f) => f.status !== "orphan").length} of the config missing from it\n`);
    for (const f of findings) log(`  ${findingLine(f)}\n`);
    const adopt = findings.filter((f) => f.status === "adopt");
    if (!adopt.length) {
      log(`${s.name}: nothing to adopt${findings.some((f) => f.status === "absent") ? " (npm run deploy creates what is absent)" : ""}\n`);
      continue;
    }

    const planFile = path.join(out, `${s.name}.tfplan`);
    try {
      fs.writeFileSync(importsPath, `${JSON.stringify(importsFile(findings), null, 2)}\n`);
      const plan = await terraform(["plan", "-input=false", "-no-color", "-detailed-exitcode", `-out=${planFile}`], dir, tfEnv, { progress });
      if (plan.code === 1) throw new Error(`terraform plan failed for ${s.name}:\n${plan.stderr.trim()}`);
      fs.writeFileSync(path.join(out, `${s.name}.txt`), plan.stdout);
      const shown = JSON.parse((await terraformOk(["show", "-json", planFile], dir, tfEnv)).stdout);
      fs.writeFileSync(path.join(out, `${s.name}.json`), JSON.stringify(shown));
      const review = reviewPlan(s.name, shown, synthesized);
      const imports = plannedImports(shown);
      const markdown = recoveryMarkdown(review, findings, imports);
      fs.writeFileSync(path.join(out, `${s.name}.md`), `${markdown}\n`);
      log(`\n${markdown}\nthe plan and its review are in ${path.relative(root, out) || "."}/\n`);
      const refused = refusal(review);
      if (refused) {
        log(`${s.name}: ${refused}\n`);
        code = 1;
        continue;
      }
      if (!flags.apply) {
        log(`${s.name}: nothing applied. Apply this adoption with:\n  ${recoverCommand(s.name, ["--apply"])}\n`);
        continue;
      }
      log(`${s.name}: applying the reviewed adoption plan\n`);
      try {
        await terraformOk(["apply", "-input=false", "-no-color", planFile], dir, tfEnv, { progress });
      } catch (e) {
        throw local ? explainUnsupportedCall(e) : e;
      }
      log(`${s.name}: adopted ${imports.length} resource${imports.length === 1 ? "" : "s"} into the state; npm run deploy (or plan) now works on this stack\n`);
    } finally {
      fs.rmSync(importsPath, { force: true });
    }
  }
  return code;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  runCli<RecoverFlags>({
    parse: () => parseRecoverFlags(argv, process.env),
    usage: USAGE,
    run: (flags) => runRecover(flags),
  });
}
