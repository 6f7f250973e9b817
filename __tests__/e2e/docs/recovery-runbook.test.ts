import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { IAMClient, ListRolesCommand } from "@aws-sdk/client-iam";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { clientConfig, localAwsEnv } from "../../../scripts/local-aws/clients";
import { IMPORTS_FILE } from "../../../scripts/recovery/recover";
import { requireTerraform, terraformEnv } from "../../../scripts/terraform/env";
import { ROOT } from "../../support/app";
import { KillProxy, startKillProxy } from "../../support/kill-proxy";
import { singleAccountLocal } from "../../support/environments";
import { scratchCopy } from "../../support/scratch";
import { commandsOf } from "./extract";

/**
 * docs/recovery.md's runbook, followed step by step, and with it `npm run recover` end to end:
 * every fenced block of the document is run, in order, as written, with its <placeholders> filled
 * in from what the steps before printed, in a scratch copy of the project against a local AWS of
 * its own that outlives every command (as one kept running by `npm start -- --keep-running`),
 * after the fault each section is about was really caused: a deploy killed with SIGKILL mid-apply
 * (a stale lock and resources the state does not hold), then a state overwritten by an empty one.
 * Between the runbook's steps, what a user could get wrong is tried too: the wrong lock ID, and a
 * deploy without recovering first. One fault serves both, so the deploy is killed only once.
 */
jest.setTimeout(600_000);
const DOC = "docs/recovery.md";
const STACK = "local-eu-central-1";
const TABLE = "tf-locks";
const REGION = "eu-central-1";
const REPOSITORY = "codebuild-sample/dckr-push-ecr";
const PROJECTS = ["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"];

/** The runbook's blocks, in order. */
const blocks = commandsOf(DOC, fs.readFileSync(path.join(ROOT, DOC), "utf8")).filter((c) => c.kind === "block").map((c) => c.text);

let aws: LocalAws;
/** Every command and read goes through it; it kills the first deploy at the exact point. */
let proxy: KillProxy;
let dir: string;
let env: NodeJS.ProcessEnv;
let bucket: string;
let key: string;

/** Runs a shell script in the scratch copy; returns its exit code and output (stdout + stderr). */
function sh(script: string, extra: NodeJS.ProcessEnv = {}): { code: number; output: string } {
  const r = spawnSync("bash", ["-c", `set -eo pipefail\n${script}`], { cwd: dir, env: { ...env, ...extra }, encoding: "utf8", timeout: 600_000, killSignal: "SIGKILL" });
  return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

/** Fills a block's placeholders; each must have a value. */
function fill(block: string, values: Record<string, string>): string {
  const out = block.replace(/<([a-z-]+)>/g, (m, name: string) => {
    if (!(name in values)) throw new Error(`${DOC}: no value for ${m} in: ${block}`);
    return values[name];
  });
  return out;
}

let next = 0;
/**
 * Runs the runbook's next block (it must start with `start`), filled in; returns what it printed.
 * @param code the exit code the runbook says it has
 */
function step(start: string, values: Record<string, string> = {}, code = 0): string {
  const block = blocks[next++];
  expect(block?.startsWith(start) ? start : block).toBe(start);
  const r = sh(fill(block, { stack: STACK, bucket, key, table: TABLE, ...values }));
  if (r.code !== code) throw new Error(`${block}\nexited ${r.code}, not ${code}:\n${r.output}`);
  return r.output;
}

/** The stack's terraform, as the commands run it (for causing faults, not part of the runbook). */
function terraform(args: string[]): string {
  const tfEnv = { ...terraformEnv(path.join(dir, ".tmp", "terraform"), env), ...localAwsEnv(proxy.endpoint, "eu-central-1") };
  const r = spawnSync("terraform", args, { cwd: path.join(dir, "cdktf.out", "stacks", STACK), env: tfEnv, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const target = () => clientConfig({ region: REGION, endpoint: proxy.endpoint });
async function repositories(): Promise<string[]> {
  return ((await new ECRClient(target()).send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName!);
}
async function projects(): Promise<string[]> {
  return ((await new CodeBuildClient(target()).send(new ListProjectsCommand({}))).projects ?? []).sort();
}
async function logGroups(): Promise<string[]> {
  return ((await new CloudWatchLogsClient(target()).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/aws/codebuild/" }))).logGroups ?? []).map((g) => g.logGroupName!).sort();
}
async function roles(): Promise<string[]> {
  return ((await new IAMClient(target()).send(new ListRolesCommand({}))).Roles ?? []).map((r) => r.RoleName!).filter((n) => n.startsWith("cb-")).sort();
}

beforeAll(async () => {
  requireTerraform();
  aws = await startLocalAws();
  proxy = await startKillProxy(aws.endpoint);
  dir = scratchCopy("runbook");
  // One owner stack, with a lock table, so the runbook's digest step is needed and followed.
  const local = { ...singleAccountLocal(), regions: ["eu-central-1"] };
  local.state = { ...local.state, dynamodbTable: TABLE };
  fs.writeFileSync(path.join(dir, "runbook-environments.json"), JSON.stringify({ environments: { local } }, null, 2));
  bucket = local.state.bucket;
  key = `local/eu-central-1/terraform.tfstate`;
  env = {
    ...process.env,
    ...localAwsEnv(proxy.endpoint, "eu-central-1"),
    CONFIG_FILE: "runbook-environments.json",
    ENVIRONMENTS: "local",
    CHECKPOINT_DISABLE: "1",
    npm_config_update_notifier: "false",
  };
  delete env.CDKTF_OUTDIR;
  delete env.TF_CLI_CONFIG_FILE;
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await aws?.stop();
});

test("the runbook's blocks are the ones this test follows", () => {
  expect(blocks.map((b) => b.split(" ").slice(0, 3).join(" "))).toEqual([
    "npm run recover",
    "npm run recover",
    "npm run recover",
    "npm run deploy",
    "aws s3api list-object-versions",
    "aws s3api get-object",
    "aws s3api copy-object",
    "aws dynamodb delete-item",
    "npm run plan",
  ]);
});

describe("a stale lock and an interrupted apply", () => {
  let lockId: string;
  let rolesBeforeRecover: string[];

  test("a deploy killed with SIGKILL once its apply has created the repository leaves a lock and resources the state does not hold", async () => {
    // The fault: npm run deploy killed (its whole process group: the planner, terraform, the
    // provider) the moment the local AWS has created the repository, before the provider hears of it.
    const child = spawn("bash", ["-c", "exec npm run -s deploy"], { cwd: dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("close", (_code, signal) => resolve(signal)));
    proxy.arm("CreateRepository", child.pid!);
    const signal = await exited;
    if (!(await proxy.fired())) throw new Error(`the deploy was not killed mid-apply:\n${output}`);
    expect(signal).toBe("SIGKILL");
    // Killed before the apply finished: it never printed the outputs.
    expect(output).not.toContain("terraform apply done");
    expect(output).not.toContain("\nOutputs\n");
    expect(await repositories()).toEqual([REPOSITORY]);
    // Both projects name the repository: neither was created.
    expect(await projects()).toEqual([]);
  });

  test("recover explains the lock and keeps it without --unlock, with the command that releases it", () => {
    const explained = step("npm run recover -- --stack <stack>", {}, 1);
    expect(explained).toContain(`${STACK}: the state is locked`);
    expect(explained).toContain("operation: OperationTypeApply");
    expect(explained).toMatch(/who: +\S+@\S+ \(user \S+ on host \S+, this host\)/);
    expect(explained).toMatch(/created: +\S+ \(\d+ (s|min) ago\)/);
    expect(explained).toContain("held in:   ");
    expect(explained).toContain(TABLE);
    expect(explained).toContain("no terraform process runs in this stack's folder on this host");
    expect(explained).toContain(`${STACK}: the lock is kept.`);
    lockId = /lock ID:\s+(\S+)/.exec(explained)![1];
    expect(explained).toContain(`  npm run recover -- --stack ${STACK} --unlock ${lockId}\n`);
    expect(explained).not.toContain("step 2");
  });

  test("recover --unlock with another ID keeps the lock", () => {
    const r = sh(`npm run -s recover -- --stack ${STACK} --unlock 00000000-0000-0000-0000-000000000000`);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`--unlock 00000000-0000-0000-0000-000000000000 is not this lock's ID (${lockId}): the lock is kept`);
  });

  test("recover --unlock <ID> releases it and shows the adoption plan, applying nothing without --apply", () => {
    const unlocked = step("npm run recover -- --stack <stack> --unlock <lock-id>", { "lock-id": lockId });
    expect(unlocked).toContain(`${STACK}: released the lock ${lockId} (terraform force-unlock, as --unlock asked)`);
    expect(unlocked).toContain(`adopt   aws_ecr_repository.Repository_22E53BBD (import ID ${REPOSITORY})`);
    expect(unlocked).toContain(`| \`aws_ecr_repository.Repository_22E53BBD\` | \`${REPOSITORY}\` | no change |`);
    expect(unlocked).toMatch(/\*\*\d+ to add, \d+ to change, 0 to destroy, 0 to replace\*\*/);
    expect(unlocked).toContain(`${STACK}: nothing applied. Apply this adoption with:\n  npm run recover -- --stack ${STACK} --apply\n`);
    expect(fs.existsSync(path.join(dir, "cdktf.out", "stacks", STACK, IMPORTS_FILE))).toBe(false);
  });

  test("without recover, a deploy fails: what the killed apply created already exists, and the error says how to adopt it", async () => {
    // The killed run's first plan found an empty state, so the review has no state-empty risk: the
    // apply fails on what exists.
    const r = sh("npm run -s deploy", { LOCK_TIMEOUT: "0s" });
    expect(r.code).toBe(1);
    expect(r.output).not.toContain("state-empty");
    expect(r.output).toMatch(/RepositoryAlreadyExistsException|ResourceAlreadyExistsException/);
    expect(r.output).toContain(
      `${STACK}: a resource of this stack already exists outside its state (an interrupted apply creates resources it never records): adopt what exists with npm run recover -- --stack ${STACK}`,
    );
    expect(await repositories()).toEqual([REPOSITORY]);
  });

  test("recover --apply adopts them with import blocks and creates what is missing, deleting nothing", async () => {
    rolesBeforeRecover = await roles();
    const adopted = step("npm run recover -- --stack <stack> --apply");
    expect(adopted).toContain(`${STACK}: the state is not locked`);
    expect(adopted).toContain(`adopt   aws_ecr_repository.Repository_22E53BBD (import ID ${REPOSITORY})`);
    expect(adopted).toMatch(/0 to destroy, 0 to replace/);
    expect(adopted).toMatch(new RegExp(`${STACK}: adopted \\d+ resources? into the state`));
    // The failed deploy above created service roles (named by a prefix) again: the killed apply's stay, reported.
    expect(adopted).toMatch(/orphan {2}cb-codebuild-sample-dckr-\S+: a role with the name prefix and Stack tag of aws_iam_role\./);
    expect(await roles()).toEqual(rolesBeforeRecover);
    expect(fs.existsSync(path.join(dir, "cdktf.out", "stacks", STACK, IMPORTS_FILE))).toBe(false);
  });

  test("then a deploy succeeds, a plan shows no changes, and nothing is duplicated", async () => {
    const deployed = step("npm run deploy");
    expect(deployed).toMatch(/\| local-eu-central-1 \| 123456789012 \| 0 \| 0 \| 0 \| 0 \|/);
    expect(deployed).toContain("\nOutputs\n");
    expect(sh("aws ecr describe-repositories --query 'length(repositories)' --output text").output.trim()).toBe("1");
    const replanned = sh("npm run -s plan");
    expect(replanned.code).toBe(0);
    expect(replanned.output).toContain(`| ${STACK} | 123456789012 | 0 | 0 | 0 | 0 |`);
    expect(replanned.output).toContain("No changes.");
    expect(await repositories()).toEqual([REPOSITORY]);
    expect(await projects()).toEqual(PROJECTS);
    expect(await logGroups()).toEqual(PROJECTS.map((p) => `/aws/codebuild/${p}`).sort());
    expect(await roles()).toEqual(rolesBeforeRecover);
  });
});

describe("a corrupted or overwritten state", () => {
  test("is restored from the bucket's versions as the runbook says", () => {
    // The fault: the state is overwritten by an empty one (a `state push` gone wrong).
    const good = JSON.parse(terraform(["state", "pull"]));
    expect(good.resources.length).toBeGreaterThan(5);
    const empty = path.join(dir, "empty.tfstate");
    fs.writeFileSync(empty, JSON.stringify({ ...good, serial: good.serial + 1, resources: [], outputs: {} }));
    terraform(["state", "push", "-force", empty]);
    const broken = sh("npm run -s plan");
    expect(broken.output).toMatch(/state-empty|to add/);
    expect(broken.output).not.toContain("No changes.");

    const versions = step("aws s3api list-object-versions")
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    expect(versions.length).toBeGreaterThan(1);
    expect(versions[0][3]).toBe("True");
    // The newest version before the fault: the first that is not the latest.
    const before = versions.find((v) => v[3] === "False")!;
    const shown = step("aws s3api get-object", { "version-id": before[1] });
    expect(shown).toContain(`serial ${good.serial} resources ${good.resources.length}`);
    step("aws s3api copy-object", { "version-id": before[1] });
    // Why the next step is there: the lock table still holds the bad state's digest.
    const refused = sh("npm run -s plan");
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("does not have the expected content");
    step("aws dynamodb delete-item");
    const replanned = step("npm run plan");
    expect(replanned).toContain("No changes.");
    expect(JSON.parse(terraform(["state", "pull"])).resources.length).toBe(good.resources.length);
  });
});
