/**
 * .github/workflows/terraform.yml run job by job on this machine (__tests__/support/workflow-run):
 * each job in a fresh clone of the commit, its run steps as written, with a runner's variables;
 * configure-aws-credentials answered by the trust policies GithubActionsOidcRoles synthesizes
 * (moto does not evaluate trust policies: __tests__/support/trust-policy does) and by the local
 * AWS's STS for the credentials. No scenario here runs terraform: each is decided before a plan.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { GithubActionsOidcRoles } from "../../../modules";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { ROOT, tempDir } from "../../support/app";
import { scratchCopy } from "../../support/scratch";
import { singleAccountLocal } from "../../support/environments";
import { trustAllows } from "../../support/trust-policy";
import { type AssumeResult, runWorkflow, type WorkflowContext, type WorkflowRun } from "../../support/workflow-run";

jest.setTimeout(300_000);

const ACCOUNT = "123456789012";
const PLAN_ROLE = `arn:aws:iam::${ACCOUNT}:role/github-terraform-plan`;
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/github-terraform-deploy`;
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const WORKFLOW = ".github/workflows/terraform.yml";
const OTHER_JOBS = ["plan-0", "plan-1", "plan-2", "plan-3", "review", "deploy-wave-0", "deploy-wave-1", "deploy-wave-2"];

let aws: LocalAws;
let repo: string;
let base: string;
/** The trust policies of the account's two CI roles, as GithubActionsOidcRoles synthesizes them. */
let trust: Record<string, string>;

const git = (args: string[]) => {
  const r = spawnSync("git", args, { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};

/** A commit on top of the base with `edit` applied to the working tree; returns its SHA. */
function commit(message: string, edit: () => void): string {
  git(["checkout", "-q", "--detach", base]);
  edit();
  git(["add", "-A"]);
  git(["commit", "-q", "-m", message]);
  return git(["rev-parse", "HEAD"]);
}

const configFile = () => path.join(repo, "config", "environments.json");
const writeConfig = (local: any) => fs.writeFileSync(configFile(), JSON.stringify({ $schema: "./environments.schema.json", environments: { local } }, null, 2));
const retag = () => {
  const config = JSON.parse(fs.readFileSync(configFile(), "utf8"));
  config.environments.local.tags.Owner = "another-team";
  fs.writeFileSync(configFile(), JSON.stringify(config, null, 2));
};
const editWorkflow = (edit: (text: string) => string) => {
  const file = path.join(repo, WORKFLOW);
  const text = fs.readFileSync(file, "utf8");
  const changed = edit(text);
  expect(changed).not.toBe(text);
  fs.writeFileSync(file, changed);
};

/** STS as AWS answers AssumeRoleWithWebIdentity: the role's trust policy decides, then the local AWS hands out the role's credentials. */
async function assumeRole(roleArn: string, claims: Record<string, string>): Promise<AssumeResult> {
  const policy = trust[roleArn];
  if (policy === undefined || !trustAllows(policy, { provider: PROVIDER, claims })) {
    return { ok: false, message: `Not authorized to perform sts:AssumeRoleWithWebIdentity on ${roleArn} (sub ${claims.sub})` };
  }
  const sts = new STSClient({ endpoint: aws.endpoint, region: "eu-central-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "GitHubActions" }))).Credentials!;
  const credentials = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  const who = await new STSClient({ endpoint: aws.endpoint, region: "eu-central-1", credentials }).send(new GetCallerIdentityCommand({}));
  expect(who.Account).toBe(ACCOUNT);
  return { ok: true, credentials };
}

/** Runs the workflow of commit `sha` (a pull request runs the workflow file of its own commit). */
function run(name: string, sha: string, over: Partial<WorkflowContext> = {}): Promise<WorkflowRun> {
  const workDir = tempDir(`workflow-${name}`);
  return runWorkflow({
    workflow: git(["show", `${sha}:${WORKFLOW}`]),
    repo,
    sha,
    event: "pull_request",
    ref: "refs/pull/7/merge",
    repository: "o/r",
    payload: { pull_request: { number: 7, base: { sha: base }, head: { repo: { full_name: "o/r" } } } },
    vars: { ENVIRONMENTS: "local", AWS_REGION: "eu-central-1" },
    nodeModules: path.join(ROOT, "node_modules"),
    workDir,
    assumeRole,
    environments: { production: { branches: ["main"] }, local: { branches: ["main"] } },
    ...over,
  });
}

const job = (r: WorkflowRun, name: string) => r.jobs.filter((j) => j.job === name);
const step = (r: WorkflowRun, jobName: string, stepName: string) => job(r, jobName)[0].steps.find((s) => s.name === stepName);

beforeAll(async () => {
  aws = await startLocalAws();
  repo = scratchCopy("workflow-repo");
  fs.unlinkSync(path.join(repo, "node_modules"));
  writeConfig({ ...singleAccountLocal(), regions: ["eu-central-1"], ci: { planRoleArn: PLAN_ROLE, deployRoleArn: DEPLOY_ROLE, githubEnvironment: "production" } });
  for (const args of [["init", "-q", "-b", "main"], ["config", "user.email", "ci@example.com"], ["config", "user.name", "ci"], ["add", "-A"], ["commit", "-q", "-m", "base"]]) git(args);
  base = git(["rev-parse", "HEAD"]);
  const stack = new TerraformStack(Testing.app(), "ci-roles");
  new AwsProvider(stack, "aws", { region: "eu-central-1", allowedAccountIds: [ACCOUNT] });
  new GithubActionsOidcRoles(stack, "Github", {
    repository: "o/r",
    githubEnvironments: ["production"],
    deployPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
    state: { bucketName: "codebuild-docker-tfstate-local" },
    oidcProviderArn: PROVIDER,
  });
  const roles = Object.values<any>(JSON.parse(Testing.synth(stack)).resource.aws_iam_role);
  trust = Object.fromEntries(roles.map((r) => [`arn:aws:iam::${ACCOUNT}:role/${r.name}`, r.assume_role_policy]));
  expect(Object.keys(trust).sort()).toEqual([DEPLOY_ROLE, PLAN_ROLE]);
});

afterAll(async () => {
  await aws?.stop();
});

test("a failed stacks job fails the gate, and the sticky comment is replaced saying why", async () => {
  // GIVEN a pull request whose earlier run left a plan comment, now run with an unknown environment
  const sha = commit("retag", retag);
  const workDir = tempDir("workflow-failed-stacks");
  fs.mkdirSync(path.join(workDir, "comments"));
  fs.writeFileSync(path.join(workDir, "comments", "terraform-plan.md"), "## Terraform plan\n1 to add, 0 to change, 0 to destroy\n");

  // WHEN
  const r = await run("failed-stacks", sha, { workDir, vars: { ENVIRONMENTS: "local,nope", AWS_REGION: "eu-central-1" } });

  // THEN the stacks job failed on its list, every job after it was skipped, and the gate failed
  expect(r.results.stacks).toBe("failure");
  expect(step(r, "stacks", "list")?.output).toContain('ENVIRONMENTS: "nope" is not an environment');
  expect(OTHER_JOBS.map((j) => [j, r.results[j]])).toEqual(OTHER_JOBS.map((j) => [j, "skipped"]));
  expect(r.results.gate).toBe("failure");
  expect(r.roles).toEqual([]);
  // The old comment is gone; the new one says the check failed and why.
  expect(r.comments["terraform-plan"]).not.toContain("1 to add");
  expect(r.comments["terraform-plan"]).toContain("## Terraform plan: not reviewed");
  expect(r.comments["terraform-plan"]).toMatch(/- stacks failed: error: ENVIRONMENTS: "nope" is not an environment of config\/environments\.json/);
  expect(r.comments["terraform-plan"]).toContain("- review was skipped");
  expect(r.comments["terraform-plan"]).toContain("[the run](https://github.com/o/r/actions/runs/4242)");
});

test("a pull request's jobs get only the plan role: its plan job the stack's, and jobs its workflow adds to reach the deploy role are refused", async () => {
  // GIVEN a pull request that changes the stack and whose workflow file (the pull request controls
  // it) adds a job asking for the deploy role, and one that does so from the production
  // environment, whose subject the deploy role trusts
  expect(trustAllows(trust[DEPLOY_ROLE], { provider: PROVIDER, claims: { sub: "repo:o/r:environment:production", aud: "sts.amazonaws.com" } })).toBe(true);
  const sha = commit("retag, and try the deploy role", () => {
    retag();
    editWorkflow((t) => {
      const credentials = /- uses: (aws-actions\/configure-aws-credentials@\S+ # \S+)/.exec(t)![1];
      const attempt = (name: string, environment: string) =>
        `  ${name}:\n    needs: stacks\n    runs-on: ubuntu-24.04\n${environment}    permissions: { contents: read, id-token: write }\n    steps:\n` +
        `      - uses: ${credentials}\n        with: { role-to-assume: "${DEPLOY_ROLE}", aws-region: eu-central-1 }\n      - id: deployed\n        run: echo "holding the deploy role"\n\n`;
      return t.replace("  gate:\n", `${attempt("steal", "")}${attempt("escalate", "    environment: production\n")}  gate:\n`);
    });
  });

  // WHEN
  const r = await run("roles", sha);

  // THEN the plan job assumed the plan role with the pull request's subject; STS refused the deploy
  // role to the added job; the environment's deployment-branch rule (main only) stopped the other
  // before any step, so no token was minted for it; no deploy ran
  expect(r.results.stacks).toBe("success");
  expect(job(r, "plan-0").map((j) => j.name)).toEqual(["plan local-eu-central-1"]);
  expect(r.roles).toEqual([
    { job: "plan-0", role: PLAN_ROLE, sub: "repo:o/r:pull_request", granted: true },
    { job: "steal", role: DEPLOY_ROLE, sub: "repo:o/r:pull_request", granted: false },
  ]);
  expect(job(r, "steal")[0].steps.map((s) => s.outcome)).toEqual(["failure", "skipped"]);
  expect(job(r, "steal")[0].steps[0].output).toContain(`Not authorized to perform sts:AssumeRoleWithWebIdentity on ${DEPLOY_ROLE} (sub repo:o/r:pull_request)`);
  expect(job(r, "escalate")[0]).toMatchObject({ result: "failure", steps: [], error: 'Branch "refs/pull/7/merge" is not allowed to deploy to production due to environment protection rules.' });
  expect(["deploy-wave-0", "deploy-wave-1", "deploy-wave-2"].map((j) => r.results[j])).toEqual(["skipped", "skipped", "skipped"]);
  // The plan itself is not this test's subject: the jobs get no endpoint, so it stops before terraform.
  expect(step(r, "plan-0", "plan")?.output).toContain("no local AWS is running");
  expect(step(r, "plan-0", "plan")?.output).not.toContain("terraform init");
  if (process.env.WORKFLOW_TIMINGS) console.log(r.jobs.map((j) => `${j.name} ${j.result} ${j.ms ?? 0} ms`).join("\n"));
});

test("a manual run from a branch other than main is refused before anything runs, and the gate fails", async () => {
  // GIVEN
  const sha = commit("retag", retag);

  // WHEN
  const r = await run("dispatch", sha, { event: "workflow_dispatch", ref: "refs/heads/feature", payload: {} });

  // THEN
  const guard = step(r, "stacks", "guard")!;
  expect(guard.outcome).toBe("failure");
  expect(guard.output).toContain("manual deploys run only from main: this run is on refs/heads/feature");
  expect(job(r, "stacks")[0].steps.filter((s) => s.outcome !== "skipped").map((s) => s.name)).toEqual(["guard"]);
  expect(job(r, "stacks")[0].summary).toContain("manual deploys run only from main");
  expect(OTHER_JOBS.map((j) => [j, r.results[j]])).toEqual(OTHER_JOBS.map((j) => [j, "skipped"]));
  expect(r.roles).toEqual([]);
  expect(r.results.gate).toBe("failure");
  expect(job(r, "gate")[0].steps.find((s) => s.name === "verdict")?.output).toContain("error: gate: stacks failed: manual deploys run only from main");
});

test("a pull request from a fork is told in the run summary why nothing was planned, and the gate fails", async () => {
  // GIVEN a pull request whose head is a fork (GitHub gives it neither repository variables nor an OIDC token)
  const sha = commit("retag", retag);

  // WHEN
  const r = await run("fork", sha, { vars: {}, payload: { pull_request: { number: 8, base: { sha: base }, head: { repo: { full_name: "someone/r" } } } } });

  // THEN the stacks job stopped at its first step, saying why in the summary; nothing assumed a role or commented
  expect(job(r, "stacks")[0].summary).toBe(
    "nothing was planned: this pull request comes from the fork someone/r, and GitHub gives fork pull requests neither repository variables nor an OIDC token for the plan role; a maintainer can push the branch to o/r and open the pull request from there (docs/ci.md)\n",
  );
  expect(OTHER_JOBS.map((j) => [j, r.results[j]])).toEqual(OTHER_JOBS.map((j) => [j, "skipped"]));
  expect(r.results.gate).toBe("failure");
  expect(job(r, "gate")[0].summary).toContain("- stacks failed: nothing was planned: this pull request comes from the fork someone/r");
  expect(r.roles).toEqual([]);
  expect(r.comments).toEqual({});
});
