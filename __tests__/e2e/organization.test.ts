import { applyWaves } from "../../stacks/topology";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { CodeBuildClient, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import {
  DescribeRegistryCommand,
  ECRClient,
  GetRegistryPolicyCommand,
  GetRegistryScanningConfigurationCommand,
  GetRepositoryPolicyCommand,
  PutRegistryScanningConfigurationCommand,
  SetRepositoryPolicyCommand,
} from "@aws-sdk/client-ecr";
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { LOCAL_CREDENTIALS } from "../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../scripts/local-aws/server";
import {
  localStacks,
  localTerraformEnv,
  organizationOf,
  selectLocalEnvironments,
  verifyTopology,
  type AccountReport,
  type LocalDeployOptions,
  type LocalStack,
} from "../../scripts/local-aws/deploy";
import { terraformTrimmed } from "../support/trimmed-terraform";
import { requireTerraform, terraformEnv } from "../../scripts/terraform/env";
import type { EnvironmentConfig } from "../../config/environments";
import { requireBuiltApp, ROOT, tempDir } from "../support/app";
import { containerEnv, ensureBuilderImage, IMAGE_BUILD_TOOLS, podman, requireTools } from "../support/containers";
import { pullInstructions } from "../../scripts/local-aws/first-builds";
import { runScript, start, withoutNodeWarnings, type Run } from "../support/e2e-run";
import { peak, terraformCalls, writeTerraformWrapper } from "../support/terraform-calls";
import { shippedConfig, shippedLocalStacks } from "../support/environments";

/**
 * The shipped local organization (config/environments.json: the owner in 123456789012 and its
 * consumers staging 210987654321 and prod 345678901234, three moto accounts) deployed once, by
 * `npm start` as a user runs it with AWS_ENDPOINT_URL set (a fresh embedded local AWS this file
 * starts), in waves, consumers first, with real Terraform; what `npm start` prints is checked. Everything the topology promises is then read back in
 * each account with this file's own SDK calls (a session assumed in that account), independently
 * of `verifyTopology`, which is itself shown to pass on the deployed organization and to name a
 * difference once reality is changed out of band. Then every stack re-plans empty, and
 * `npm run plan` of a config that adds a consumer shows the IAM change on both sides.
 *
 * The deploy runs with `--parallelism 2` and a `terraform` first on PATH that records every
 * terraform process (support/terraform-calls.ts): at no moment do more than 2 run, 2 do run at
 * once, and the consumers' wave is over before the owner's starts. The planner's selection and
 * failure handling are then tried on the deployed organization.
 */
jest.setTimeout(300_000);

const TAG = "organization";
const OWNER = "123456789012";
const STAGING = "210987654321";
const PROD = "345678901234";
const QA = "456789012345";
const REPOSITORY = "codebuild-sample/dckr-push-ecr";
const CONFIG_FILE = path.join(ROOT, "config", "environments.json");
/**
 * The shipped organization. Only the environments' names come from it (they are free to change);
 * accounts, regions, ARNs and everything read back are literals here.
 */
const ORGANIZATION = organizationOf({ root: ROOT, configFile: CONFIG_FILE });
/** The name of the one environment of the shipped config in `account`. */
function nameOf(account: string): string {
  const found = ORGANIZATION.filter((e) => e.accountId === account);
  if (found.length !== 1) throw new Error(`${CONFIG_FILE} should declare exactly one environment in account ${account}, found ${found.map((e) => e.name).join(", ") || "none"}`);
  return found[0].name;
}
const OWNER_NAME = nameOf(OWNER);
const QA_NAME = "local-qa";
const REPOSITORY_ARNS = [`arn:aws:ecr:eu-central-1:${OWNER}:repository/${REPOSITORY}`, `arn:aws:ecr:us-east-1:${OWNER}:repository/${REPOSITORY}`];
/** The consumers' pull roles: fixed names derived from the owner's name (README, "Accounts"). */
const ECS_EXECUTION_ROLE = `ecr-pull-${OWNER_NAME}-ecs-execution`;
const WORKLOAD_ROLE = `ecr-pull-${OWNER_NAME}-workload`;
const PULL_ROLE_NAMES = [ECS_EXECUTION_ROLE, WORKLOAD_ROLE];
const pullRoleArns = (account: string) => PULL_ROLE_NAMES.map((n) => `arn:aws:iam::${account}:role/${n}`);
const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
/** What each pull role's trust policy names, by role. */
const PULL_ROLE_TRUST: Record<string, { services: string[]; actions: string[] }> = {
  [ECS_EXECUTION_ROLE]: { services: ["ecs-tasks.amazonaws.com"], actions: ["sts:AssumeRole"] },
  [WORKLOAD_ROLE]: { services: ["ec2.amazonaws.com", "pods.eks.amazonaws.com"], actions: ["sts:AssumeRole", "sts:TagSession"] },
};
/** The accounts as the shipped config declares them: a consumer's deploy role, or moto's own account. */
const ACCOUNTS = {
  [OWNER]: undefined,
  [STAGING]: `arn:aws:iam::${STAGING}:role/deployer`,
  [PROD]: `arn:aws:iam::${PROD}:role/deployer`,
} as const;
type Account = keyof typeof ACCOUNTS;

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

let aws: LocalAws | undefined;
let workDir: string | undefined;
let opts: LocalDeployOptions;
let envs: EnvironmentConfig[];
let organization: EnvironmentConfig[];
let waves: LocalStack[][];
/** The wrapper's folder (first on PATH for the runs that count terraform processes). */
let wrapperDir: string;
/** What verifyTopology reports before anything is deployed. */
let beforeDeploy: string[] = [];
/** What `npm start` did. */
let deploy: Run;
const sessions: Partial<Record<string, Credentials>> = {};
const timings: [string, number][] = [];
const started = Date.now();

/** One progress line on stderr, so a long run is never silent. */
function progress(message: string): void {
  process.stderr.write(`[${TAG} +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

/** Runs one phase with a progress line before and after, and keeps its time for the summary. */
async function phase<T>(label: string, run: () => Promise<T> | T): Promise<T> {
  const t = Date.now();
  progress(`${label} …`);
  const result = await run();
  const seconds = (Date.now() - t) / 1000;
  timings.push([label, seconds]);
  progress(`${label}: done in ${seconds.toFixed(1)} s`);
  return result;
}

/** SDK client settings for calls made in `account` and `region`. */
function inAccount(account: Account, region: string): { region: string; endpoint: string; credentials: Credentials } {
  const credentials = sessions[account];
  if (credentials === undefined) throw new Error(`no session in account ${account}: the set-up did not get that far`);
  return { region, endpoint: aws!.endpoint, credentials };
}

/** An IAM policy document as the IAM API returns it (URL-encoded JSON). */
const iamDocument = (text: string | undefined) => JSON.parse(decodeURIComponent(text ?? ""));
const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
const sorted = (v: readonly string[]) => [...v].sort();
const problemsOf = (reports: AccountReport[]) => reports.flatMap((r) => r.problems.map((p) => `${r.environment} (${r.accountId}): ${p}`));

/** The lines of a plan that say what would change. */
function planChanges(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((l) => /^\s*(# \S+ (will|must) be|[~+-] |-\/\+ |Plan: )/.test(l))
    .map((l) => l.trim());
}

beforeAll(async () => {
  requireBuiltApp();
  // With the project's CLI config, so Terraform does not warn about a missing ~/.terraformrc.
  requireTerraform(terraformEnv(path.join(ROOT, ".tmp", "terraform")));
  workDir = tempDir("organization-e2e");
  // The repository's cdktf.out is never touched: the synth goes to a temporary folder.
  const outdir = path.join(workDir, "cdktf.out");

  // The builds' docker (podman) on the tests' container storage, where the Go builder base is made once.
  requireTools(["podman", "docker-registry", "aws", ...IMAGE_BUILD_TOOLS]);
  await phase("the Go builder base (build-image.sh --builder-only: made once, then reused)", () => ensureBuilderImage());
  aws = await phase("start the local AWS (moto_server)", () => startLocalAws({ env: { ...process.env, ...containerEnv() } }));
  progress(`local AWS server pid ${aws.pid} on ${aws.endpoint}`);
  opts = { endpoint: aws.endpoint, root: ROOT, outdir, configFile: CONFIG_FILE };
  envs = selectLocalEnvironments(opts);
  organization = organizationOf(opts);
  const stacks = localStacks(envs, outdir);
  waves = applyWaves(stacks, organization);

  // A session in each account, as each provider gets one: moto's own account with the test
  // credentials, a consumer's by assuming its deploy role (which need not exist in moto).
  const sts = new STSClient({ region: "eu-central-1", endpoint: aws.endpoint, credentials: { ...LOCAL_CREDENTIALS } });
  for (const [account, roleArn] of Object.entries(ACCOUNTS)) {
    if (roleArn === undefined) {
      sessions[account] = { ...LOCAL_CREDENTIALS };
      continue;
    }
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "organization-e2e" }))).Credentials!;
    sessions[account] = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  }

  beforeDeploy = problemsOf(await verifyTopology(aws.endpoint, envs, organization));
  // The one deploy of the organization: `npm start` with AWS_ENDPOINT_URL (it starts nothing),
  // every terraform process it runs recorded by the wrapper.
  wrapperDir = path.join(workDir, "bin");
  writeTerraformWrapper(wrapperDir);
  deploy = await phase(`npm start: deploy ${stacks.length} stacks of ${envs.map((e) => e.name).join(", ")} to AWS_ENDPOINT_URL`, () =>
    start(["--parallelism", "2"], {
      AWS_ENDPOINT_URL: aws!.endpoint,
      CDKTF_OUTDIR: outdir,
      ENVIRONMENTS: undefined,
      CONFIG_FILE: undefined,
      PARALLELISM: undefined,
      PATH: `${wrapperDir}${path.delimiter}${process.env.PATH}`,
      TERRAFORM_CALLS: path.join(path.dirname(outdir), "start-calls.log"),
      ...containerEnv(),
    }),
  );
  // With the local AWS's request log: a failure seen rarely ("Project already exists" on this
  // fresh server) needs to show what the server answered before it.
  if (deploy.code !== 0) throw new Error(`npm start failed (exit ${deploy.code}):\n${deploy.stderr}\n${deploy.stdout}\nthe end of moto's log:\n${aws!.logTail()}`);
}, 1_200_000);

afterAll(async () => {
  await aws?.stop();
  // The images the first builds tagged in the tests' shared storage.
  const tags = [...(deploy?.stdout ?? "").matchAll(/^ {4}image {6}(\S+)$/gm)].map((m) => m[1]);
  if (tags.length) podman(["rmi", "--ignore", ...tags]);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  if (timings.length) {
    const total = (Date.now() - started) / 1000;
    process.stderr.write(`[${TAG}] timings\n${timings.map(([l, s]) => `  ${s.toFixed(1).padStart(6)} s  ${l}`).join("\n")}\n  ${total.toFixed(1).padStart(6)} s  whole file\n`);
  }
});

describe("npm start with AWS_ENDPOINT_URL set, on the shipped config", () => {
  test("deploys to that endpoint and starts nothing", () => {
    expect({ code: deploy.code, stderr: withoutNodeWarnings(deploy.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(deploy.stdout).toContain(`using the local AWS at AWS_ENDPOINT_URL=${aws!.endpoint} (nothing started)`);
    expect(deploy.stdout).not.toContain("server pid");
    expect(deploy.stdout).not.toContain("keeps running");
  });

  test("deploys the local organization in waves (consumers, then the owner), prints outputs, the read-back per account and timings", () => {
    // GIVEN the shipped config: the owner `local` (moto's default account) and the environments that pull from it
    const shipped = shippedConfig().environments;
    const consumers = Object.keys(shipped).filter((n) => shipped[n].local === true && shipped[n].pullFrom === "local");
    const consumerStacks = consumers.flatMap((n) => (shipped[n].regions as string[]).map((r) => `${n}-${r}`));
    const stdout = deploy.stdout;

    // THEN
    expect(consumers).toHaveLength(2);
    expect(stdout).toContain("▸ synthesize, plan and deploy 5 stacks of 3 environments in 3 accounts (npm run deploy) …");
    // Consumers first (the owner's repository policy names their pull roles), then the owner.
    const consumerWave = `\nwave 1/2: ${consumerStacks.join(", ")}\n`;
    const ownerWave = "\nwave 2/2: local-eu-central-1, local-us-east-1\n";
    expect(consumerStacks).toHaveLength(3);
    expect(stdout).toContain(consumerWave);
    expect(stdout).toContain(ownerWave);
    expect(stdout.indexOf(consumerWave)).toBeLessThan(stdout.indexOf(ownerWave));
    expect(stdout).toContain("repository_url = 123456789012.dkr.ecr.eu-central-1.amazonaws.com/codebuild-sample/dckr-push-ecr");
    expect(stdout).toContain("repository_url = 123456789012.dkr.ecr.us-east-1.amazonaws.com/codebuild-sample/dckr-push-ecr");
    expect(stdout).toMatch(/CodeBuild codebuild-sample-dckr-push-ecr: aws\/codebuild\/amazonlinux2-x86_64-standard:5.0, privileged true, role arn:aws:iam::123456789012:role\//);
    expect(stdout).toContain("ECR codebuild-sample/dckr-push-ecr: tags IMMUTABLE, scan on push true, encryption KMS");
    // What each account holds, read back in that account.
    const accounts = stdout.slice(stdout.indexOf("\nAccounts (what each holds, read back in that account)\n"), stdout.indexOf("\nTimings\n"));
    expect(accounts).not.toBe("");
    for (const name of ["local", ...consumers]) expect(accounts).toContain(`\n  ${shipped[name].accountId} ${name}\n`);
    expect(accounts).toContain("eu-central-1: codebuild-sample/dckr-push-ecr (builds: ");
    expect(accounts).toContain("us-east-1: codebuild-sample/dckr-push-ecr (replica, no projects); repository policy names 4 pull role(s)");
    expect(accounts).toContain(
      "eu-central-1: replicates codebuild-sample/dckr-push-ecr to 123456789012/us-east-1, 345678901234/eu-central-1, 345678901234/us-east-1",
    );
    for (const name of consumers) {
      for (const kind of ["ecs-execution", "workload"]) {
        expect(accounts).toContain(
          `pull role arn:aws:iam::${shipped[name].accountId}:role/ecr-pull-local-${kind} may pull ` +
            "arn:aws:ecr:eu-central-1:123456789012:repository/codebuild-sample/dckr-push-ecr, arn:aws:ecr:us-east-1:123456789012:repository/codebuild-sample/dckr-push-ecr",
        );
      }
    }
    expect(accounts.match(/registry policy lets 123456789012 replicate into this account/g)).toHaveLength(2);
    for (const region of ["eu-central-1", "us-east-1"]) {
      expect(accounts).toContain(`${region}: registry scanning ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]`);
    }
    expect(stdout).toMatch(/Timings\n[\s\S]*s {2}total/);
    expect(fs.readdirSync(path.join(opts.outdir, "stacks")).sort()).toEqual([...shippedLocalStacks()].sort());
  });
});

describe("npm start --parallelism 2 on the organization's five stacks", () => {
  const calls = () => terraformCalls(path.join(workDir!, "start-calls.log"));
  const all = () => waves.flat().map((s) => s.name).sort();

  test("plans: at most 2 terraform processes at once, and 2 plans at once reached; a line per stack when it starts and ends; <stack>.review.json", () => {
    const procs = calls();
    expect(procs.filter((p) => p.command === "plan").map((p) => p.stack).sort()).toEqual(all());
    expect(peak(procs)).toBe(2);
    expect(peak(procs.filter((p) => p.command === "plan"))).toBe(2);
    expect(deploy.stdout).toContain("planning 5 stacks, at most 2 at once (--parallelism 2)\n");
    const plans = path.join(workDir!, "plans");
    for (const s of all()) {
      expect(deploy.stdout).toMatch(new RegExp(`^\\[[1-5]/5\\] ${s}: planning\\n`, "m"));
      expect(deploy.stdout).toMatch(new RegExp(`^\\[[1-5]/5\\] ${s}: planned \\(\\d+\\.\\d s\\)\\n`, "m"));
      const review = JSON.parse(fs.readFileSync(path.join(plans, `${s}.review.json`), "utf8"));
      expect(Object.keys(review).sort()).toEqual(["account", "changes", "counts", "destructive", "drift", "risks", "stack", "suppressions"]);
      expect(review.stack).toBe(s);
    }
    // Each per-stack file is the review the summary holds.
    const summary = JSON.parse(fs.readFileSync(path.join(plans, "summary.json"), "utf8"));
    for (const s of summary.stacks) expect(JSON.parse(fs.readFileSync(path.join(plans, `${s.stack}.review.json`), "utf8"))).toEqual(s);
  });

  test("applies: the consumers' wave is over, its state records written, before the owner's first apply; at most 2 at once, and 2 at once reached", () => {
    const procs = calls();
    const applies = procs.filter((p) => p.command === "apply");
    expect(applies.map((p) => p.stack).sort()).toEqual(all());
    expect(peak(applies)).toBe(2);
    const [consumers, owners] = waves.map((w) => w.map((s) => s.name));
    const ownersStart = Math.min(...applies.filter((p) => owners.includes(p.stack)).map((p) => p.start));
    const consumersEnd = Math.max(...procs.filter((p) => consumers.includes(p.stack) && (p.command === "apply" || p.command === "state")).map((p) => p.end));
    expect(ownersStart).toBeGreaterThanOrEqual(consumersEnd);
    expect(deploy.stdout).toContain("applying 5 stacks, at most 2 at once (--parallelism 2), wave by wave\n");
    expect(deploy.stdout).toMatch(new RegExp(`^\\[5/5\\] (${owners.join("|")}): applied \\(\\d+\\.\\d s\\)\\n`, "m"));
  });
});

describe("the shipped organization, deployed to a fresh local AWS", () => {
  test("selects the three local environments: the owner in moto's account, and two consumers that pull from it", () => {
    expect(envs.map((e) => ({ account: e.accountId, regions: e.regions, local: e.local, owns: e.build?.repositoryName, pullFrom: e.pullFrom }))).toEqual([
      { account: OWNER, regions: ["eu-central-1", "us-east-1"], local: true, owns: REPOSITORY, pullFrom: undefined },
      { account: STAGING, regions: ["eu-central-1"], local: true, owns: undefined, pullFrom: OWNER_NAME },
      { account: PROD, regions: ["eu-central-1", "us-east-1"], local: true, owns: undefined, pullFrom: OWNER_NAME },
    ]);
  });

  test("deploys the five stacks in two waves: the consumers before the owner", () => {
    const [owner, staging, prod] = [OWNER, STAGING, PROD].map(nameOf);
    expect(waves.map((w) => w.map((s) => s.name))).toEqual([
      [`${staging}-eu-central-1`, `${prod}-eu-central-1`, `${prod}-us-east-1`],
      [`${owner}-eu-central-1`, `${owner}-us-east-1`],
    ]);
  });

  test("each session the read-backs use acts in its own account", async () => {
    for (const account of Object.keys(ACCOUNTS) as Account[]) {
      const me = await new STSClient(inAccount(account, "eu-central-1")).send(new GetCallerIdentityCommand({}));
      expect(me.Account).toBe(account);
    }
  });
});

describe("read back in each account, independently of verifyTopology", () => {
  test.each(["eu-central-1", "us-east-1"])(
    "the owner's repository policy in %s names exactly the four pull roles of staging and prod, and no :root",
    async (region) => {
      const got = await new ECRClient(inAccount(OWNER, region)).send(new GetRepositoryPolicyCommand({ repositoryName: REPOSITORY }));
      expect(got.registryId).toBe(OWNER);
      const statements = JSON.parse(got.policyText ?? "{}").Statement as any[];
      const principals = statements.flatMap((s) => asList(s.Principal?.AWS ?? s.Principal));
      expect(sorted(principals)).toEqual(sorted([...pullRoleArns(STAGING), ...pullRoleArns(PROD)]));
      expect(principals.filter((p) => p.endsWith(":root") || p === "*")).toEqual([]);
      const pull = statements.find((s) => s.Sid === "CrossAccountEcrPull");
      expect(sorted(asList(pull?.Action))).toEqual(PULL_ACTIONS);
      expect(pull?.Effect).toBe("Allow");
    },
  );

  describe.each([
    [nameOf(STAGING), STAGING],
    [nameOf(PROD), PROD],
  ] as const)("consumer %s (%s)", (_name, account) => {
    test.each(PULL_ROLE_NAMES)("has role %s, whose only inline policy ecr-pull allows pull on exactly the owner's two repository ARNs", async (roleName) => {
      const iam = new IAMClient(inAccount(account, "eu-central-1"));
      const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
      expect(role.Arn).toBe(`arn:aws:iam::${account}:role/${roleName}`);
      expect((await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames).toEqual(["ecr-pull"]);
      const statements = iamDocument((await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "ecr-pull" }))).PolicyDocument).Statement as any[];
      const pull = statements.find((s) => s.Sid === "EcrPull");
      expect({ actions: sorted(asList(pull?.Action)), resources: sorted(asList(pull?.Resource)) }).toEqual({ actions: PULL_ACTIONS, resources: REPOSITORY_ARNS });
      // Nothing else on any other resource: the only "*" is the authorization token.
      for (const s of statements.filter((st) => st.Sid !== "EcrPull")) {
        expect({ sid: s.Sid, actions: asList(s.Action), resources: asList(s.Resource) }).toEqual({ sid: s.Sid, actions: ["ecr:GetAuthorizationToken"], resources: ["*"] });
      }
    });

    test.each(PULL_ROLE_NAMES)("role %s trusts only its workload services, with aws:SourceAccount = the consumer's account", async (roleName) => {
      const role = (await new IAMClient(inAccount(account, "eu-central-1")).send(new GetRoleCommand({ RoleName: roleName }))).Role!;
      const statements = iamDocument(role.AssumeRolePolicyDocument).Statement as any[];
      const want = PULL_ROLE_TRUST[roleName];
      expect(
        statements.map((s) => ({
          effect: s.Effect,
          services: sorted(asList(s.Principal?.Service)),
          actions: sorted(asList(s.Action)),
          sourceAccount: asList(s.Condition?.StringEquals?.["aws:SourceAccount"]),
        })),
      ).toEqual([{ effect: "Allow", services: want.services, actions: want.actions, sourceAccount: [account] }]);
    });
  });

  test("the pull roles are not in the owner's account", async () => {
    const iam = new IAMClient(inAccount(OWNER, "eu-central-1"));
    for (const roleName of PULL_ROLE_NAMES) {
      await expect(iam.send(new GetRoleCommand({ RoleName: roleName }))).rejects.toMatchObject({ name: "NoSuchEntityException" });
    }
  });

  test("the owner's eu-central-1 replicates with one rule, filtered to the repository, to its us-east-1 and to both regions of prod", async () => {
    const registry = await new ECRClient(inAccount(OWNER, "eu-central-1")).send(new DescribeRegistryCommand({}));
    expect(registry.registryId).toBe(OWNER);
    const rules = registry.replicationConfiguration?.rules ?? [];
    expect(rules).toHaveLength(1);
    expect(sorted((rules[0].destinations ?? []).map((d) => `${d.registryId}/${d.region}`))).toEqual(
      sorted([`${OWNER}/us-east-1`, `${PROD}/eu-central-1`, `${PROD}/us-east-1`]),
    );
    expect(rules[0].repositoryFilters).toEqual([{ filter: REPOSITORY, filterType: "PREFIX_MATCH" }]);
  });

  test("the owner's us-east-1 (the replica) replicates nowhere", async () => {
    const registry = await new ECRClient(inAccount(OWNER, "us-east-1")).send(new DescribeRegistryCommand({}));
    expect(registry.replicationConfiguration?.rules ?? []).toEqual([]);
  });

  test.each(["eu-central-1", "us-east-1"])("prod's registry policy in %s lets the owner's account create the repository and replicate into it", async (region) => {
    const got = await new ECRClient(inAccount(PROD, region)).send(new GetRegistryPolicyCommand({}));
    expect(got.registryId).toBe(PROD);
    const statements = JSON.parse(got.policyText ?? "{}").Statement as any[];
    expect(
      statements.map((s) => ({ effect: s.Effect, principals: asList(s.Principal?.AWS), actions: sorted(asList(s.Action)), resources: asList(s.Resource) })),
    ).toEqual([
      {
        effect: "Allow",
        principals: [`arn:aws:iam::${OWNER}:root`],
        actions: ["ecr:CreateRepository", "ecr:ReplicateImage"],
        resources: [`arn:aws:ecr:${region}:${PROD}:repository/${REPOSITORY}`],
      },
    ]);
  });

  test("staging, which receives no replica, has no registry policy", async () => {
    await expect(new ECRClient(inAccount(STAGING, "eu-central-1")).send(new GetRegistryPolicyCommand({}))).rejects.toMatchObject({
      name: "RegistryPolicyNotFoundException",
    });
  });

  test.each(["eu-central-1", "us-east-1"])("the owner's registry in %s scans as the config says: ENHANCED, continuously for codebuild-sample/*, on push for the rest", async (region) => {
    const got = await new ECRClient(inAccount(OWNER, region)).send(new GetRegistryScanningConfigurationCommand({}));
    expect(got.registryId).toBe(OWNER);
    expect(got.scanningConfiguration?.scanType).toBe("ENHANCED");
    expect(sorted((got.scanningConfiguration?.rules ?? []).map((r) => `${r.scanFrequency} ${(r.repositoryFilters ?? []).map((f) => `${f.filter}/${f.filterType}`).join(",")}`))).toEqual([
      "CONTINUOUS_SCAN codebuild-sample/*/WILDCARD",
      "SCAN_ON_PUSH */WILDCARD",
    ]);
  });

  test("the consumers, which set no registryScanning, keep the registry's default: BASIC without rules", async () => {
    for (const [account, region] of [
      [STAGING, "eu-central-1"],
      [PROD, "eu-central-1"],
      [PROD, "us-east-1"],
    ] as const) {
      const got = await new ECRClient(inAccount(account, region)).send(new GetRegistryScanningConfigurationCommand({}));
      expect({ account, region, scanType: got.scanningConfiguration?.scanType, rules: got.scanningConfiguration?.rules ?? [] }).toEqual({ account, region, scanType: "BASIC", rules: [] });
    }
  });

  test("CodeBuild projects exist only in the owner's eu-central-1: none in its replica region or in any consumer account", async () => {
    const listed: Record<string, string[]> = {};
    for (const [account, region] of [
      [OWNER, "eu-central-1"],
      [OWNER, "us-east-1"],
      [STAGING, "eu-central-1"],
      [PROD, "eu-central-1"],
      [PROD, "us-east-1"],
    ] as const) {
      const got = await new CodeBuildClient(inAccount(account, region)).send(new ListProjectsCommand({}));
      listed[`${account}/${region}`] = sorted(got.projects ?? []);
    }
    expect(listed).toEqual({
      [`${OWNER}/eu-central-1`]: ["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"],
      [`${OWNER}/us-east-1`]: [],
      [`${STAGING}/eu-central-1`]: [],
      [`${PROD}/eu-central-1`]: [],
      [`${PROD}/us-east-1`]: [],
    });
  });
});

describe("verifyTopology", () => {
  test("on an empty local AWS, names every missing piece instead of failing with an SDK error", () => {
    expect(beforeDeploy).toEqual([
      "local (123456789012): eu-central-1: the repository codebuild-sample/dckr-push-ecr does not exist",
      "local (123456789012): us-east-1: the repository codebuild-sample/dckr-push-ecr does not exist",
      "local (123456789012): eu-central-1: the registry scanning configuration is BASIC, no rules, expected ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]",
      "local (123456789012): us-east-1: the registry scanning configuration is BASIC, no rules, expected ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]",
      "local-staging (210987654321): pull role ecr-pull-local-ecs-execution or its ecr-pull policy does not exist",
      "local-staging (210987654321): pull role ecr-pull-local-workload or its ecr-pull policy does not exist",
      "local-prod (345678901234): pull role ecr-pull-local-ecs-execution or its ecr-pull policy does not exist",
      "local-prod (345678901234): pull role ecr-pull-local-workload or its ecr-pull policy does not exist",
      "local-prod (345678901234): eu-central-1: no registry policy lets 123456789012 replicate into this account",
      "local-prod (345678901234): us-east-1: no registry policy lets 123456789012 replicate into this account",
    ]);
  });

  test("finds no problem in the deployed organization", async () => {
    const reports = await verifyTopology(aws!.endpoint, envs, organization);
    expect(reports.map((r) => r.accountId)).toEqual([OWNER, STAGING, PROD]);
    expect(problemsOf(reports)).toEqual([]);
  });

  test("names the difference when a pull role is removed from the owner's repository policy out of band", async () => {
    // GIVEN the eu-central-1 repository policy without staging's workload role
    const ecr = new ECRClient(inAccount(OWNER, "eu-central-1"));
    const original = (await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: REPOSITORY }))).policyText!;
    const removed = `arn:aws:iam::${STAGING}:role/${WORKLOAD_ROLE}`;
    const policy = JSON.parse(original);
    for (const s of policy.Statement) {
      if (s.Principal?.AWS !== undefined) s.Principal.AWS = asList(s.Principal.AWS).filter((p) => p !== removed);
    }
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: REPOSITORY, policyText: JSON.stringify(policy) }));
    try {
      // WHEN
      const problems = problemsOf(await verifyTopology(aws!.endpoint, envs, organization));
      // THEN exactly that region of the owner is reported, and the report names what is missing
      expect(problems).toHaveLength(1);
      const [, names, expected] = new RegExp(`^${OWNER_NAME} \\(${OWNER}\\): eu-central-1: the repository policy names \\[(.*)\\], expected \\[(.*)\\]$`).exec(problems[0]) ?? [];
      expect({ problem: problems[0], names: sorted(names?.split(", ") ?? []), expected: sorted(expected?.split(", ") ?? []) }).toEqual({
        problem: problems[0],
        names: sorted([...pullRoleArns(STAGING), ...pullRoleArns(PROD)].filter((p) => p !== removed)),
        expected: sorted([...pullRoleArns(STAGING), ...pullRoleArns(PROD)]),
      });
    } finally {
      await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: REPOSITORY, policyText: original }));
    }
    expect(problemsOf(await verifyTopology(aws!.endpoint, envs, organization))).toEqual([]);
  });

  test("names the difference when a consumer's pull role is narrowed to one region out of band", async () => {
    // GIVEN prod's ECS execution role may pull only the eu-central-1 repository
    const iam = new IAMClient(inAccount(PROD, "eu-central-1"));
    const roleName = ECS_EXECUTION_ROLE;
    const original = (await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "ecr-pull" }))).PolicyDocument!;
    const policy = iamDocument(original);
    for (const s of policy.Statement) if (s.Sid === "EcrPull") s.Resource = [REPOSITORY_ARNS[0]];
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: "ecr-pull", PolicyDocument: JSON.stringify(policy) }));
    try {
      // WHEN / THEN
      expect(problemsOf(await verifyTopology(aws!.endpoint, envs, organization))).toEqual([
        `${nameOf(PROD)} (${PROD}): pull role ${roleName} may pull [${REPOSITORY_ARNS[0]}], expected [${REPOSITORY_ARNS.join(", ")}]`,
      ]);
    } finally {
      await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: "ecr-pull", PolicyDocument: decodeURIComponent(original) }));
    }
    expect(problemsOf(await verifyTopology(aws!.endpoint, envs, organization))).toEqual([]);
  });

  test("names the difference when the owner's registry scanning is lowered out of band", async () => {
    // GIVEN the owner's us-east-1 registry scanning lowered to BASIC scan-on-push for every repository
    const ecr = new ECRClient(inAccount(OWNER, "us-east-1"));
    const original = (await ecr.send(new GetRegistryScanningConfigurationCommand({}))).scanningConfiguration!;
    await ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: "BASIC", rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] }] }));
    try {
      // WHEN / THEN exactly that region of the owner is reported, with what was read and what the config says
      expect(problemsOf(await verifyTopology(aws!.endpoint, envs, organization))).toEqual([
        `${OWNER_NAME} (${OWNER}): us-east-1: the registry scanning configuration is BASIC: SCAN_ON_PUSH [*], expected ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]`,
      ]);
    } finally {
      await ecr.send(new PutRegistryScanningConfigurationCommand({ scanType: original.scanType, rules: original.rules }));
    }
    expect(problemsOf(await verifyTopology(aws!.endpoint, envs, organization))).toEqual([]);
  });
});

describe("a re-plan of every stack", () => {
  test("finds no changes in any of the five (terraform plan -detailed-exitcode exits 0)", async () => {
    const stacks = waves.flat();
    const results = await phase("re-plan every stack", () =>
      Promise.all(
        stacks.map(async (s) => {
          // Through a provider that serves only the stack's types, as the planner plans (support/trimmed-terraform.ts).
          const plan = await terraformTrimmed(["plan", "-detailed-exitcode", "-input=false", "-no-color"], s.dir, localTerraformEnv(opts, s.region));
          return { stack: s.name, code: plan.code, changes: plan.code === 0 ? [] : planChanges(plan.stdout), stderr: plan.stderr.trim(), noChanges: plan.stdout.includes("No changes.") };
        }),
      ),
    );
    expect(results).toEqual(stacks.map((s) => ({ stack: s.name, code: 0, changes: [], stderr: "", noChanges: true })));
  });
});

/** `npm run plan` (the built planner) of `environments` of `configFile` against the deployed organization, its plans in `out`. */
function planDeployed(configFile: string, environments: string, out: string, outdir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("AWS_ENDPOINT_URL") || k === "ALLOW_DESTROY" || k === "ALLOW_LOCAL_ENDPOINT" || k === "TRIM_SCHEMA" || k === "SHARE_PROVIDER") delete env[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", "plan-review", "plan.js"), "--out", out], {
      cwd: ROOT,
      env: { ...env, AWS_ENDPOINT_URL: aws!.endpoint, CONFIG_FILE: configFile, ENVIRONMENTS: environments, CDKTF_OUTDIR: path.join(workDir!, outdir) },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe(`npm run plan of a topology change: a new consumer ${QA_NAME} (${QA})`, () => {
  const QA_STACK = `${QA_NAME}-eu-central-1`;
  const OWNER_STACKS = [`${OWNER_NAME}-eu-central-1`, `${OWNER_NAME}-us-east-1`];
  let run: { code: number; stdout: string; stderr: string };
  let out: string;

  beforeAll(async () => {
    // GIVEN the shipped config plus qa, a consumer in its own account
    const config = JSON.parse(fs.readFileSync(CONFIG_FILE, "utf8"));
    const staging = config.environments[nameOf(STAGING)];
    config.environments[QA_NAME] = {
      description: "A new consumer of the local organization (added by the e2e test)",
      local: true,
      accountId: QA,
      regions: ["eu-central-1"],
      assumeRoleArn: `arn:aws:iam::${QA}:role/deployer`,
      state: staging.state,
      tags: staging.tags,
      pullFrom: OWNER_NAME,
    };
    const configFile = path.join(workDir!, "environments-with-qa.json");
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    out = path.join(workDir!, "plans");
    // WHEN it is planned against the deployed organization (its endpoint and its state)
    run = await phase(`npm run plan (${OWNER_NAME}, ${QA_NAME}) against the deployed state`, () => planDeployed(configFile, `${OWNER_NAME},${QA_NAME}`, out, "plan-cdktf.out"));
  }, 600_000);

  const summary = () => JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  const review = (stack: string) => summary().stacks.find((s: any) => s.stack === stack);

  test("passes the guard (nothing is deleted or replaced) and plans only the owner's two stacks and qa's", () => {
    expect({ code: run.code, stderr: run.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?trace-warnings[^\n]*\n/, "") }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).not.toContain("started a local AWS");
    const s = summary();
    expect({ ok: s.ok, blocked: s.blocked, localEndpoint: s.localEndpoint }).toEqual({ ok: true, blocked: [], localEndpoint: null });
    expect(s.stacks.map((r: any) => r.stack)).toEqual([...OWNER_STACKS, QA_STACK]);
  });

  test("qa's stack creates its two pull roles and their inline policies, each flagged as an IAM change", () => {
    const r = review(QA_STACK);
    expect(r.counts).toEqual({ add: 4, change: 0, destroy: 0, replace: 0 });
    expect(sorted(r.changes.map((c: any) => `${c.action} ${c.type}`))).toEqual([
      "create aws_iam_role",
      "create aws_iam_role",
      "create aws_iam_role_policy",
      "create aws_iam_role_policy",
    ]);
    expect(sorted(r.risks.map((k: any) => k.kind))).toEqual(["iam-change", "iam-change", "iam-change", "iam-change"]);
    // The roles it creates are the fixed-name pull roles in qa's account.
    const plan = JSON.parse(fs.readFileSync(path.join(out, `${QA_STACK}.json`), "utf8"));
    const roles = plan.resource_changes.filter((c: any) => c.type === "aws_iam_role").map((c: any) => c.change.after.name);
    expect(sorted(roles)).toEqual(PULL_ROLE_NAMES);
  });

  test.each(OWNER_STACKS)("the owner's %s updates only its repository policy, which then also names qa's pull roles", (stack) => {
    const r = review(stack);
    expect(r.counts).toEqual({ add: 0, change: 1, destroy: 0, replace: 0 });
    expect(r.changes.map((c: any) => `${c.action} ${c.type}`)).toEqual(["update aws_ecr_repository_policy"]);
    expect(r.risks.map((k: any) => [k.kind, k.message])).toEqual([["iam-change", `IAM change of policy on aws_ecr_repository_policy ${r.changes[0].address}`]]);
    const plan = JSON.parse(fs.readFileSync(path.join(out, `${stack}.json`), "utf8"));
    const change = plan.resource_changes.find((c: any) => c.type === "aws_ecr_repository_policy").change;
    const principals = (p: string) => sorted(JSON.parse(p).Statement.flatMap((s: any) => asList(s.Principal?.AWS)));
    expect(principals(change.before.policy)).toEqual(sorted([...pullRoleArns(STAGING), ...pullRoleArns(PROD)]));
    expect(principals(change.after.policy)).toEqual(sorted([...pullRoleArns(STAGING), ...pullRoleArns(PROD), ...pullRoleArns(QA)]));
  });

  test("the Markdown review shows the IAM change on both sides", () => {
    const md = fs.readFileSync(path.join(out, "summary.md"), "utf8");
    // Each row names the stack's account.
    expect(md).toMatch(new RegExp(`^\\| ${QA_STACK} \\| \\d{12} \\| 4 \\| 0 \\| 0 \\| 0 \\| iam-change \\|$`, "m"));
    for (const stack of OWNER_STACKS) expect(md).toMatch(new RegExp(`^\\| ${stack} \\| \\d{12} \\| 0 \\| 1 \\| 0 \\| 0 \\| iam-change \\|$`, "m"));
  });

  test("a plan changes nothing: the deployed repository policy still names the four pull roles", async () => {
    const got = await new ECRClient(inAccount(OWNER, "eu-central-1")).send(new GetRepositoryPolicyCommand({ repositoryName: REPOSITORY }));
    const principals = (JSON.parse(got.policyText!).Statement as any[]).flatMap((s) => asList(s.Principal?.AWS));
    expect(sorted(principals)).toEqual(sorted([...pullRoleArns(STAGING), ...pullRoleArns(PROD)]));
  });
});

describe(`npm run plan of ${OWNER_NAME} without its registry scanning: its state holds a resource type the configuration no longer names`, () => {
  const STACKS = [`${OWNER_NAME}-eu-central-1`, `${OWNER_NAME}-us-east-1`];
  let run: { code: number; stdout: string; stderr: string };
  let out: string;

  beforeAll(async () => {
    // GIVEN the shipped config without the owner's registryScanning (its only aws_ecr_registry_scanning_configuration)
    const config = JSON.parse(fs.readFileSync(CONFIG_FILE, "utf8"));
    delete config.environments[OWNER_NAME].registryScanning;
    const configFile = path.join(workDir!, "environments-without-scanning.json");
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    out = path.join(workDir!, "plans-without-scanning");
    // WHEN the owner is planned against its deployed state, through the schema-trimming proxy
    run = await phase(`npm run plan (${OWNER_NAME}) without registryScanning`, () => planDeployed(configFile, OWNER_NAME, out, "plan-without-scanning-cdktf.out"));
  }, 600_000);

  test("the trimmed plan cannot read that state; each stack says so in one line and is planned again with the whole schema", () => {
    for (const stack of STACKS)
      expect(run.stdout).toContain(`  ${stack}: its state holds a resource type the configuration no longer names; planning again with the provider's whole schema\n`);
    expect(run.stdout.match(/planning again with the provider's whole schema/g)).toHaveLength(STACKS.length);
  });

  test("the second plan is the right one: it removes the scanning configuration and flags the downgrade; nothing else changes", () => {
    const s = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(s.stacks.map((r: any) => r.stack)).toEqual(STACKS);
    for (const r of s.stacks) {
      expect(r.changes).toEqual([{ address: expect.stringMatching(/^aws_ecr_registry_scanning_configuration\./), type: "aws_ecr_registry_scanning_configuration", action: "delete" }]);
      expect(r.risks.map((k: any) => k.kind)).toContain("scanning-downgrade");
    }
  });
});

describe("the planner's selection and failures, on the deployed organization (the terraform wrapper first on PATH)", () => {
  const [stagingStack, prodEu, prodUs] = [`${nameOf(STAGING)}-eu-central-1`, `${nameOf(PROD)}-eu-central-1`, `${nameOf(PROD)}-us-east-1`];
  const ownerEu = `${OWNER_NAME}-eu-central-1`;

  /** `npm run plan` / `deploy` (dist/scripts/plan-review/plan.js) of the shipped config against the deployed organization, its terraform processes logged. */
  function planJs(args: string[], log: string, env: Record<string, string | undefined> = {}): Promise<Run> {
    return runScript("plan-review/plan", args, {
      PATH: `${wrapperDir}${path.delimiter}${process.env.PATH}`,
      TERRAFORM_CALLS: log,
      AWS_ENDPOINT_URL: aws!.endpoint,
      CONFIG_FILE: undefined,
      ENVIRONMENTS: undefined,
      CDKTF_OUTDIR: path.join(workDir!, "cdktf.out"),
      PARALLELISM: undefined,
      ALLOW_DESTROY: undefined,
      ALLOW_EMPTY_STATE: undefined,
      ALLOW_LOCAL_ENDPOINT: undefined,
      FAIL_STACK: undefined,
      FAIL_COMMAND: undefined,
      ...env,
    });
  }

  test("--stack: only the named stacks run terraform, and the summary covers only them", async () => {
    const log = path.join(workDir!, "stack-calls.log");
    const out = path.join(workDir!, "plans-stack");
    const r = await planJs(["--parallelism", "2", "--stack", stagingStack, "--stack", ownerEu, "--out", out], log);
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 0, stderr: "" });
    const picked = [stagingStack, ownerEu].sort();
    expect([...new Set(terraformCalls(log).map((p) => p.stack))].sort()).toEqual(picked);
    expect(r.stdout).toContain("planning 2 stacks, at most 2 at once (--parallelism 2)\n");
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(summary.stacks.map((s: { stack: string }) => s.stack).sort()).toEqual(picked);
    expect(fs.readFileSync(path.join(out, "summary.md"), "utf8")).not.toContain(prodEu);
    expect(fs.readdirSync(out).filter((f) => f.endsWith(".review.json")).sort()).toEqual(picked.map((s) => `${s}.review.json`));
  });

  test("a failed plan does not stop the others: every stack is planned, then one error names the failed stack, and no summary is written", async () => {
    const log = path.join(workDir!, "plan-failure-calls.log");
    const out = path.join(workDir!, "plans-failure");
    const picked = [prodEu, prodUs];
    const r = await planJs(["--parallelism", "1", "--stack", picked.join(","), "--out", out], log, { FAIL_STACK: prodEu, FAIL_COMMAND: "plan" });
    expect(r.code).toBe(1);
    const stderr = withoutNodeWarnings(r.stderr);
    expect(stderr.split("\n")[0]).toBe(`error: the plan failed for 1 of 2 stacks (${prodEu}); the others were planned, no summary was written`);
    expect(stderr).toContain(`${prodEu}: terraform plan failed:\nError: injected plan failure in ${prodEu}`);
    // The failed stack came first (--parallelism 1): the other was still planned.
    const plans = terraformCalls(log).filter((p) => p.command === "plan");
    expect(plans.map((p) => p.stack)).toEqual(picked);
    expect(peak(terraformCalls(log))).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^\\[1/2\\] ${prodEu}: plan failed \\(\\d+\\.\\d s\\)\\n`, "m"));
    expect(fs.existsSync(path.join(out, `${prodUs}.review.json`))).toBe(true);
    expect(fs.existsSync(path.join(out, "summary.md"))).toBe(false);
  });

  test("a failed apply starts no further stack nor wave; the error names the stacks applied and not applied", async () => {
    const log = path.join(workDir!, "apply-failure-calls.log");
    const r = await planJs(["--apply", "--parallelism", "1", "--stack", `${prodEu},${prodUs},${ownerEu}`, "--out", path.join(workDir!, "plans-apply-failure")], log, {
      FAIL_STACK: prodEu,
      FAIL_COMMAND: "apply",
    });
    expect(r.code).toBe(1);
    expect(withoutNodeWarnings(r.stderr).split("\n")[0]).toBe(`error: apply failed for ${prodEu} (wave 1 of 2); applied: none; not applied: ${prodEu}, ${prodUs}, ${ownerEu}`);
    expect(terraformCalls(log).filter((p) => p.command === "apply").map((p) => p.stack)).toEqual([prodEu]);
  });
});

describe("the first build of each project, run by npm start, seen with the AWS CLI alone", () => {
  const REGION = "eu-central-1";
  /** The blocks npm start printed under Images: project, image, digest, replicas, log group and stream. */
  const printed = () =>
    [...deploy.stdout.matchAll(/^ {2}(codebuild-sample-[\w-]+) \(123456789012 eu-central-1\): SUCCEEDED in [\d.]+ s\n {4}image {6}(\S+)\n {4}digest {5}(sha256:[0-9a-f]{64})\n {4}replicas {3}(.*)\n {4}log {8}aws logs get-log-events --log-group-name (\S+) --log-stream-name (\S+)$/gm)].map(
      (m) => ({ project: m[1], image: m[2], digest: m[3], replicas: m[4], group: m[5], stream: m[6], tag: m[2].split(":").pop()! }),
    );
  /** The AWS CLI against the local AWS in `account` (its session), parsed. */
  const cli = (args: string[], account = OWNER, region = REGION) => {
    const c = sessions[account]!;
    const r = spawnSync("aws", [...args, "--endpoint-url", aws!.endpoint, "--region", region, "--output", "json"], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken, AWS_PROFILE: undefined, AWS_CONFIG_FILE: "/dev/null" },
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`aws ${args.join(" ")} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  test("npm start printed, for each project, the image by account, region, repository and its own tag, its digest, its replicas and its log", () => {
    expect(deploy.stdout).toContain("▸ build each of the 2 projects once on the local AWS (StartBuild: buildspec, podman, push to ECR) …");
    const builds = printed();
    expect(builds.map((b) => b.project).sort()).toEqual(["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"]);
    for (const b of builds) {
      expect(b.image).toMatch(new RegExp(`^${OWNER}\\.dkr\\.ecr\\.${REGION}\\.amazonaws\\.com/${REPOSITORY}:build-1-[0-9a-f]{8}$`));
      // Replicated as the config says: the owner's other region, and every region of local-prod (not local-staging).
      expect(b.replicas.split(", ").sort()).toEqual([`${OWNER} us-east-1`, `${PROD} eu-central-1`, `${PROD} us-east-1`]);
    }
  });

  test("describe-images in the owner account lists each image with the digest its registry serves", async () => {
    const token = cli(["ecr", "get-authorization-token"]).authorizationData[0].authorizationToken as string;
    for (const b of printed()) {
      const [detail] = cli(["ecr", "describe-images", "--repository-name", REPOSITORY, "--image-ids", `imageTag=${b.tag}`]).imageDetails;
      expect(detail).toMatchObject({ registryId: OWNER, repositoryName: REPOSITORY, imageTags: [b.tag], imageDigest: b.digest });
      expect(detail.imageSizeInBytes).toBeGreaterThan(1000);
      expect(await servedDigest(aws!.port, `http://${OWNER}.dkr.ecr.${REGION}.amazonaws.com/v2/${REPOSITORY}/manifests/${b.tag}`, token)).toBe(b.digest);
    }
  });

  test("the replicated image is listed in the destination account, read with that account's own credentials", () => {
    for (const b of printed()) {
      const [detail] = cli(["ecr", "describe-images", "--repository-name", REPOSITORY, "--image-ids", `imageTag=${b.tag}`], PROD).imageDetails;
      expect(detail).toMatchObject({ registryId: PROD, imageDigest: b.digest });
    }
  });

  test("the pull lines npm start -- --keep-running prints pull the image with podman, by its ECR name, as the registry serves it", () => {
    const b = printed().find((x) => x.project === "codebuild-sample-dckr-push-ecr")!;
    const image = { registry: OWNER, region: REGION, repository: REPOSITORY, tag: b.tag, digest: b.digest, uri: b.image };
    const dir = tempDir("pull");
    const c = sessions[OWNER]!;
    const r = spawnSync("sh", ["-ec", pullInstructions(aws!.endpoint, image).join("\n")], {
      cwd: dir,
      env: { ...process.env, ...containerEnv(), AWS_ENDPOINT_URL: aws!.endpoint, AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_PROFILE: undefined, AWS_CONFIG_FILE: "/dev/null", REGISTRY_AUTH_FILE: path.join(dir, "auth.json") },
      encoding: "utf8",
    });
    expect({ code: r.status, err: r.status === 0 ? "" : r.stderr }).toEqual({ code: 0, err: "" });
    expect(r.stdout).toContain("Login Succeeded!");
    // The pulled manifest is the registry's: its digest is among the image's repository digests.
    expect(JSON.parse(podman(["image", "inspect", "--format", "{{json .RepoDigests}}", b.image]))).toContain(`${b.image.split(":")[0]}@${b.digest}`);
  });

  test("batch-get-builds says SUCCEEDED, every phase succeeded; the build's log events are readable", () => {
    for (const b of printed()) {
      const id = new RegExp(`^ {2}${b.project} \\(${OWNER} ${REGION}\\): build 1 started, (\\S+)$`, "m").exec(deploy.stdout)![1];
      const [build] = cli(["codebuild", "batch-get-builds", "--ids", id]).builds;
      expect(build).toMatchObject({ buildStatus: "SUCCEEDED", currentPhase: "COMPLETED", logs: { groupName: b.group, streamName: b.stream } });
      expect(build.phases.filter((p: { phaseStatus?: string }) => p.phaseStatus !== undefined && p.phaseStatus !== "SUCCEEDED")).toEqual([]);
      const events = cli(["logs", "get-log-events", "--log-group-name", b.group, "--log-stream-name", b.stream, "--start-from-head"]).events.map((e: { message: string }) => e.message);
      expect(events).toContain(`wrote imagedefinitions.json for ${b.image}`);
    }
  });
});

/** The digest the registry serves for a manifest (Docker-Content-Digest), asked through the local AWS as HTTP proxy with an ECR token. */
function servedDigest(port: number, url: string, token: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const accept = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json"].join(", ");
    const req = http.request({ host: "127.0.0.1", port, method: "HEAD", path: url, headers: { Host: new URL(url).host, Authorization: `Basic ${token}`, Accept: accept } }, (res) => {
      res.resume();
      resolve(res.headers["docker-content-digest"] as string | undefined);
    });
    req.on("error", reject);
    req.end();
  });
}
