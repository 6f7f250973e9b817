import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { IAMClient, ListRolesCommand } from "@aws-sdk/client-iam";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { IMPORTS_FILE } from "../../../scripts/recovery/recover";
import { requireBuiltApp, ROOT, tempDir } from "../../support/app";
import { KillProxy, startKillProxy } from "../../support/kill-proxy";
import { writeSingleAccountConfig } from "../../support/environments";

/**
 * Recovery from an interrupted apply, end to end against one local AWS that outlives every command (as a local AWS
 * kept running by `npm start -- --keep-running` does): `npm run deploy` killed with SIGKILL in
 * the middle of its apply, then `npm run recover` (explains the lock, keeps it without --unlock,
 * releases it with the lock's ID, adopts what the killed apply created), then a deploy and a plan.
 */
jest.setTimeout(600_000);

const STACK = "local-eu-central-1";
const REGION = "eu-central-1";
const REPOSITORY = "codebuild-sample/dckr-push-ecr";
const PROJECTS = ["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"];
let aws: LocalAws;
/** Every command and read goes through it; it kills the first deploy at the exact point. */
let proxy: KillProxy;
let dir: string;
let config: string;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a compiled command in its own process group (so SIGKILL reaches terraform and its provider too). */
function launch(script: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; done: Promise<Run> } {
  requireBuiltApp();
  const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", `${script}.js`), ...args], {
    cwd: ROOT,
    detached: true,
    env: {
      ...process.env,
      CONFIG_FILE: config,
      ENVIRONMENTS: "local",
      CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
      AWS_ENDPOINT_URL: proxy.endpoint,
      LOCAL_AWS_STATE_DIR: path.join(dir, "kept"),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, output: () => stdout + stderr, done };
}

const run = (script: string, args: string[], env: Record<string, string> = {}) => launch(script, args, env).done;
const deploy = (env: Record<string, string> = {}) => run("plan-review/plan", ["--apply", "--out", path.join(dir, "plans")], env);
const recover = (args: string[]) => run("recovery/recover", ["--stack", STACK, "--out", path.join(dir, "recover"), ...args]);

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
  aws = await startLocalAws();
  proxy = await startKillProxy(aws.endpoint);
  dir = tempDir("recover");
  config = writeSingleAccountConfig(dir, [REGION]);
});

afterAll(async () => {
  await proxy?.close();
  await aws?.stop();
});

describe("npm run recover after a deploy killed mid-apply", () => {
  let lockId: string;
  let rolesBeforeRecover: string[];

  test("a deploy killed with SIGKILL once its apply has created the repository leaves a lock and resources the state does not hold", async () => {
    const d = launch("plan-review/plan", ["--apply", "--out", path.join(dir, "plans")]);
    // Killed (its whole process group: the planner, terraform, the provider) the moment the local
    // AWS has created the repository, before the provider hears of it.
    proxy.arm("CreateRepository", d.child.pid!);
    const r = await d.done;
    expect(await proxy.fired()).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    // Killed before the apply finished: it never printed the outputs.
    expect(r.stdout).not.toContain("terraform apply done");
    expect(r.stdout).not.toContain("\nOutputs\n");
    expect(await repositories()).toEqual([REPOSITORY]);
    // Both projects name the repository: neither was created.
    expect(await projects()).toEqual([]);
  });

  test("recover explains the lock and keeps it without --unlock, with the command that releases it", async () => {
    const r = await recover([]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: "" });
    expect(r.stdout).toContain(`${STACK}: the state is locked`);
    expect(r.stdout).toMatch(/operation: OperationTypeApply/);
    expect(r.stdout).toMatch(/who: +\S+@\S+ \(user \S+ on host \S+, this host\)/);
    expect(r.stdout).toMatch(/created: +\S+ \(\d+ (s|min) ago\)/);
    expect(r.stdout).toContain(`held in:   s3://codebuild-docker-tfstate-local/local/${REGION}/terraform.tfstate.tflock`);
    expect(r.stdout).toContain("no terraform process runs in this stack's folder on this host");
    lockId = /lock ID: +(\S+)/.exec(r.stdout)![1];
    expect(r.stdout).toContain(`the lock is kept. If no terraform runs for this stack anywhere`);
    expect(r.stdout).toContain(`  npm run recover -- --stack ${STACK} --unlock ${lockId}\n`);
    expect(r.stdout).not.toContain("step 2");
  });

  test("recover --unlock with another ID keeps the lock", async () => {
    const r = await recover(["--unlock", "00000000-0000-0000-0000-000000000000"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`--unlock 00000000-0000-0000-0000-000000000000 is not this lock's ID (${lockId}): the lock is kept`);
  });

  test("recover --unlock <ID> releases it and shows the adoption plan, applying nothing without --apply", async () => {
    const r = await recover(["--unlock", lockId]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`${STACK}: released the lock ${lockId} (terraform force-unlock, as --unlock asked)`);
    expect(r.stdout).toContain(`adopt   aws_ecr_repository.Repository_22E53BBD (import ID ${REPOSITORY})`);
    expect(r.stdout).toContain(`| \`aws_ecr_repository.Repository_22E53BBD\` | \`${REPOSITORY}\` | no change |`);
    expect(r.stdout).toMatch(/\*\*\d+ to add, \d+ to change, 0 to destroy, 0 to replace\*\*/);
    expect(r.stdout).toContain(`${STACK}: nothing applied. Apply this adoption with:\n  npm run recover -- --stack ${STACK} --apply\n`);
    expect(fs.existsSync(path.join(dir, "cdktf.out", "stacks", STACK, IMPORTS_FILE))).toBe(false);
    expect(fs.existsSync(path.join(dir, "recover", `${STACK}.md`))).toBe(true);
  });

  test("without recover, a deploy fails: what the killed apply created already exists", async () => {
    // The killed run's first plan found an empty state, so the review has no state-empty risk: the
    // apply fails on what exists, and the error says how to adopt it.
    const r = await deploy({ LOCK_TIMEOUT: "0s" });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("state-empty");
    expect(r.stderr).toMatch(/RepositoryAlreadyExistsException|ResourceAlreadyExistsException/);
    expect(r.stderr).toContain(`${STACK}: a resource of this stack already exists outside its state (an interrupted apply creates resources it never records): adopt what exists with npm run recover -- --stack ${STACK}`);
    expect(await repositories()).toEqual([REPOSITORY]);
  });

  test("recover --apply adopts them with import blocks and creates what is missing, deleting nothing", async () => {
    rolesBeforeRecover = await roles();
    const r = await recover(["--apply"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`${STACK}: the state is not locked`);
    expect(r.stdout).toContain(`adopt   aws_ecr_repository.Repository_22E53BBD (import ID ${REPOSITORY})`);
    expect(r.stdout).toMatch(/0 to destroy, 0 to replace/);
    expect(r.stdout).toMatch(new RegExp(`${STACK}: adopted \\d+ resources? into the state`));
    // The retried deploy above created service roles (named by a prefix) again: the killed apply's stay, reported.
    expect(r.stdout).toMatch(/orphan {2}cb-codebuild-sample-dckr-\S+: a role with the name prefix and Stack tag of aws_iam_role\./);
    expect(await roles()).toEqual(rolesBeforeRecover);
    expect(fs.existsSync(path.join(dir, "cdktf.out", "stacks", STACK, IMPORTS_FILE))).toBe(false);
  });

  test("then a deploy succeeds, a plan shows no changes, and nothing is duplicated", async () => {
    const d = await deploy();
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: "" });
    expect(d.stdout).toContain("\nOutputs\n");
    const p = await run("plan-review/plan", ["--out", path.join(dir, "replan")]);
    expect({ code: p.code, stderr: p.stderr }).toEqual({ code: 0, stderr: "" });
    expect(p.stdout).toContain(`| ${STACK} | 0 | 0 | 0 | 0 |`);
    expect(p.stdout).toContain("No changes.");
    expect(await repositories()).toEqual([REPOSITORY]);
    expect(await projects()).toEqual(PROJECTS);
    expect(await logGroups()).toEqual(PROJECTS.map((p) => `/aws/codebuild/${p}`).sort());
    expect(await roles()).toEqual(rolesBeforeRecover);
  });
});
