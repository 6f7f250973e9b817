import { spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { ROOT, tempDir } from "../../support/app";
import { withoutNodeWarnings, type Run } from "../../support/e2e-run";
import { singleAccountLocal } from "../../support/environments";
import { normalizeTerraformJson } from "../../../scripts/stacks/changed";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { terraformCalls, writeTerraformWrapper, type TerraformCall } from "../../support/terraform-calls";

/**
 * The plans a review passed are the plans applied, as two CI jobs run them: the plan job plans
 * two stacks (a consumer account and the registry owner it pulls from, one region) into a plans
 * folder in one fresh clone of the committed project; the apply job, in a second fresh clone,
 * applies that folder with `npm run deploy -- --plans DIR`, and plans nothing itself. A folder
 * planned from a state that changed since is refused, and so is a review that blocked: then no
 * terraform apply runs in any account. A `terraform` first on PATH records each command it runs
 * (and in which stack folder), so "nothing applied" is what the processes show. It has a local AWS
 * of its own because its first plans must start from no state at all, which no other scenario
 * leaves; two stacks in one region are the fewest that show a wave held back.
 */
jest.setTimeout(900_000);

const OWNER = "local-eu-central-1";
const CONSUMER = "consumer-1-eu-central-1";

let aws: LocalAws;
let dir: string;
let planJob: string;
let applyJob: string;
let wrapperDir: string;
let config: string;
let renamed: string;

/** A fresh clone of the committed project, built, with the checkout's node_modules. */
function freshClone(name: string): string {
  const clone = path.join(dir, name);
  const git = spawnSync("git", ["clone", "-q", ROOT, clone], { encoding: "utf8" });
  if (git.status !== 0) throw new Error(`git clone failed: ${git.stderr}`);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
  const build = spawnSync(process.execPath, [path.join(clone, "scripts", "app", "build.mjs")], { cwd: clone, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`build failed in ${clone}: ${build.stderr}`);
  return clone;
}

/** The terraform processes a run started (none when it started none). */
function processes(log: string): TerraformCall[] {
  return fs.existsSync(log) ? terraformCalls(log) : [];
}

/** The terraform commands a run started: `<command> <stack folder>` each. */
function calls(log: string): string[] {
  return processes(log).map((c) => `${c.command} ${c.stack}`);
}

/** `npm run plan` / `npm run deploy` of a clone (its dist/scripts/plan-review/plan.js), as a CI job runs it. */
function run(clone: string, args: string[], log: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${wrapperDir}${path.delimiter}${process.env.PATH}`,
    TERRAFORM_CALLS: log,
    AWS_ENDPOINT_URL: aws.endpoint,
    CONFIG_FILE: config,
    ...env,
  };
  for (const k of ["ENVIRONMENTS", "CDKTF_OUTDIR", "PARALLELISM", "FAIL_STACK", "FAIL_COMMAND", "ALLOW_DESTROY", "ALLOW_EMPTY_STATE", "ALLOW_LOCAL_ENDPOINT", "GITHUB_SHA", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"]) {
    if (!(k in env)) delete childEnv[k];
  }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(clone, "dist", "scripts", "plan-review", "plan.js"), ...args], { cwd: clone, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr: withoutNodeWarnings(stderr) }));
  });
}

function expectSuccess(r: Run): void {
  if (r.code !== 0 || r.stderr !== "") throw new Error(`exit ${r.code}, stderr:\n${r.stderr}\nend of stdout:\n${r.stdout.slice(-3000)}`);
}

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));

beforeAll(async () => {
  dir = tempDir("saved-plans");
  wrapperDir = path.join(dir, "bin");
  writeTerraformWrapper(wrapperDir);
  // The registry owner in one region, and one consumer account that pulls from it: two waves.
  const local = { ...singleAccountLocal(), regions: ["eu-central-1"] };
  const consumer = { local: true, accountId: "200000000001", regions: ["eu-central-1"], assumeRoleArn: "arn:aws:iam::200000000001:role/deployer", state: local.state, pullFrom: "local" };
  config = path.join(dir, "environments.json");
  fs.writeFileSync(config, JSON.stringify({ environments: { local, "consumer-1": consumer } }, null, 2));
  // A rename of the owner's repository: it is replaced (blocked), and the consumer's pull grant changes with it.
  renamed = path.join(dir, "renamed.json");
  fs.writeFileSync(renamed, JSON.stringify({ environments: { local: { ...local, build: { ...local.build, repositoryName: "codebuild-sample/renamed" } }, "consumer-1": consumer } }, null, 2));
  planJob = freshClone("plan-job");
  applyJob = freshClone("apply-job");
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws?.stop();
});

describe("npm run deploy -- --plans DIR: the reviewed plans, applied in another clone", () => {
  test("the plan job writes each stack's saved plan with its binding: commit, synth digest, no state yet", async () => {
    const r = await run(planJob, ["--out", path.join(dir, "plans")], path.join(dir, "plan.log"));
    expectSuccess(r);
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: planJob, encoding: "utf8" }).stdout.trim();
    for (const stack of [CONSUMER, OWNER]) {
      // The digest the state records hold too: the stack's Terraform JSON without cdktf's comments, keys sorted.
      const cdkTf = readJson(path.join(planJob, "cdktf.out", "stacks", stack, "cdk.tf.json"));
      expect(readJson(path.join(dir, "plans", `${stack}.binding.json`))).toEqual({
        stack,
        commit: head,
        digest: createHash("sha256").update(JSON.stringify(normalizeTerraformJson(cdkTf))).digest("hex"),
        lineage: null,
        serial: null,
      });
      expect(fs.existsSync(path.join(dir, "plans", `${stack}.tfplan`))).toBe(true);
    }
    expect(readJson(path.join(dir, "plans", "summary.json"))).toMatchObject({ ok: true, allowances: { flags: { allowDestroy: [], allowEmptyState: [] }, file: null } });
  });

  test("the apply job applies exactly those plans wave by wave and plans nothing (after --check-only, which applies nothing)", async () => {
    const check = await run(applyJob, ["--apply", "--plans", path.join(dir, "plans"), "--check-only"], path.join(dir, "check.log"));
    expectSuccess(check);
    expect(check.stdout).toContain(`every saved plan matches this checkout and its state (${OWNER}, ${CONSUMER}); nothing applied (--check-only)\n`);
    expect(calls(path.join(dir, "check.log")).filter((c) => !c.startsWith("init ") && !c.startsWith("state "))).toEqual([]);
    const log = path.join(dir, "apply.log");
    const r = await run(applyJob, ["--apply", "--plans", path.join(dir, "plans")], log);
    expectSuccess(r);
    expect(r.stdout).toContain(`wave 1/2: ${CONSUMER}\n`);
    expect(r.stdout).toContain(`wave 2/2: ${OWNER}\n`);
    const commands = calls(log);
    expect(commands.filter((c) => c.startsWith("apply ")).sort()).toEqual([`apply ${CONSUMER}`, `apply ${OWNER}`]);
    expect(commands.filter((c) => c.startsWith("plan ") || c.startsWith("show "))).toEqual([]);
    // The consumer's apply is over before the owner's starts.
    const applies = processes(log).filter((c) => c.command === "apply");
    expect(applies.find((c) => c.stack === OWNER)!.start).toBeGreaterThanOrEqual(applies.find((c) => c.stack === CONSUMER)!.end);
    expect(r.stdout).toMatch(/repository_url = 123456789012\.dkr\.ecr\.eu-central-1\.[^\n]*codebuild-sample\/dckr-push-ecr/);
  });

  test("plans made from a state that changed since (the same apply job run again) are refused, one line per stack, and nothing is applied", async () => {
    const log = path.join(dir, "stale.log");
    const r = await run(applyJob, ["--apply", "--plans", path.join(dir, "plans")], log);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    for (const stack of [CONSUMER, OWNER]) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^error: ${stack}: the reviewed plan no longer matches its state \\(no state when planned, serial \\d+ now\\): plan again$`)));
    }
    expect(lines[lines.length - 1]).toBe("error: nothing applied: 2 of 2 stacks no longer match their reviewed plans");
    expect(calls(log).filter((c) => c.startsWith("apply "))).toEqual([]);
  });

  test("plans of another commit are refused before any terraform runs", async () => {
    const log = path.join(dir, "commit.log");
    const other = "f".repeat(40);
    const r = await run(applyJob, ["--apply", "--plans", path.join(dir, "plans")], log, { GITHUB_SHA: other });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${CONSUMER}: the reviewed plan was made at commit `);
    expect(r.stderr).toContain(`, this checkout is ${other}: plan again\n`);
    expect(calls(log)).toEqual([]);
  });

  test("a blocked review (the owner's repository renamed) applies nothing in any account, not even the consumer's wave", async () => {
    const plans = path.join(dir, "plans-renamed");
    const planned = await run(planJob, ["--out", plans], path.join(dir, "plan-renamed.log"), { CONFIG_FILE: renamed });
    expect(planned.code).toBe(1);
    const summary = readJson(path.join(plans, "summary.json"));
    expect(summary.ok).toBe(false);
    expect(summary.blocked).toEqual([expect.stringMatching(new RegExp(`^${OWNER}:aws_ecr_repository\\.`))]);
    // The consumer's own plan passes and changes something: only the all-or-nothing rule holds it back.
    expect(readJson(path.join(plans, `${CONSUMER}.review.json`)).changes.length).toBeGreaterThan(0);

    const log = path.join(dir, "blocked.log");
    const r = await run(applyJob, ["--apply", "--plans", plans], log, { CONFIG_FILE: renamed });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: [^\\n]*plans-renamed/summary.json: the reviewed decision was not ok \\(blocked: ${OWNER}:aws_ecr_repository\\.[^)]*\\): nothing applied`));
    expect(calls(log)).toEqual([]);
  });

  test("the same rename allowed in the pull request (deploy-allowances.json of the change) is reviewed as allowed by the merge, and the deploy applies exactly its saved plans", async () => {
    // GIVEN the change names the replaced repository in the reviewed allowances file (the PR's commit holds it)
    const blocked = readJson(path.join(dir, "plans-renamed", "summary.json")).blocked as string[];
    const allowances = { allowDestroy: blocked, reason: "the repository is renamed on purpose" };
    for (const clone of [planJob, applyJob]) fs.writeFileSync(path.join(clone, "deploy-allowances.json"), `${JSON.stringify(allowances, null, 2)}\n`);
    // WHEN the review job merges the plan job's reviews (merge-reviews reads the file by default)
    const merged = path.join(dir, "plans-allowed");
    const merge = spawnSync(process.execPath, [path.join(planJob, "dist", "scripts", "plan-review", "merge.js"), path.join(dir, "plans-renamed"), "--out", merged], {
      cwd: planJob,
      env: { ...process.env, GITHUB_SHA: "", GITHUB_STEP_SUMMARY: "", ALLOWANCES_FILE: "" },
      encoding: "utf8",
    });
    expect({ code: merge.status, stderr: withoutNodeWarnings(merge.stderr) }).toEqual({ code: 0, stderr: "" });
    const summary = readJson(path.join(merged, "summary.json"));
    expect(summary).toMatchObject({ ok: true, blocked: [], allowances: { file: { allowDestroy: blocked } } });
    expect(fs.readFileSync(path.join(merged, "summary.md"), "utf8")).toContain("the repository is renamed on purpose");
    // THEN the apply job applies the reviewed plans (the same plans were refused above without the
    // allowance), the consumer's wave first, and plans nothing itself. The rename replaces the
    // repository and updates both CodeBuild projects in place (the local AWS serves UpdateProject).
    const log = path.join(dir, "allowed.log");
    const r = await run(applyJob, ["--apply", "--plans", merged], log, { CONFIG_FILE: renamed });
    expectSuccess(r);
    const commands = calls(log);
    expect(commands.filter((c) => c.startsWith("apply ")).sort()).toEqual([`apply ${CONSUMER}`, `apply ${OWNER}`]);
    expect(commands.filter((c) => c.startsWith("plan ") || c.startsWith("show "))).toEqual([]);
    const applies = processes(log).filter((c) => c.command === "apply");
    expect(applies.find((c) => c.stack === OWNER)!.start).toBeGreaterThanOrEqual(applies.find((c) => c.stack === CONSUMER)!.end);
    const ecr = new ECRClient(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint }));
    const names = ((await ecr.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((x) => x.repositoryName);
    expect(names).toEqual(["codebuild-sample/renamed"]);
    expect(r.stdout).toMatch(/repository_url = 123456789012\.dkr\.ecr\.eu-central-1\.[^\n]*codebuild-sample\/renamed/);
  });

});
