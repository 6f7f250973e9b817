import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { ROOT, tempDir } from "../../support/app";
import { withoutNodeWarnings } from "../../support/e2e-run";
import { scratchCopy } from "../../support/scratch";
import { shippedConfig, singleAccountLocal } from "../../support/environments";

/**
 * The state records as CI sees them: the workflow's commands run job by job, each job in a fresh
 * `git clone` at its commit with the variables a GitHub runner sets and nothing left by another
 * job on disk, against one local AWS standing in for the accounts. The records (kept beside each
 * state in its bucket) make a moved state prefix block in a fresh clone, make a push deploy what
 * a failed push left undeployed, and name an environment removed from the config as orphaned
 * until its state is destroyed.
 */
jest.setTimeout(900_000);

const OWNER = "local-eu-central-1";
const CONSUMER = "local-staging-eu-central-1";
const BUCKET = "codebuild-docker-tfstate-local";
let aws: LocalAws;
let dir: string;
let origin: string;
let runs = 0;

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Commits a config change on origin's main (or a branch); returns the commit. */
function commitConfig(message: string, change: (config: any) => void, branch = "main"): string {
  git(origin, "checkout", "-q", branch === "main" ? "main" : "-B", ...(branch === "main" ? [] : [branch, "main"]));
  const file = path.join(origin, "config", "environments.json");
  const config = JSON.parse(fs.readFileSync(file, "utf8"));
  change(config);
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  git(origin, "commit", "-qam", message);
  const sha = git(origin, "rev-parse", "HEAD");
  git(origin, "checkout", "-q", "main");
  return sha;
}

/** A runner's job: a fresh clone at `sha` (node_modules as npm ci leaves it, dist built), and the variables a runner sets. */
function job(name: string, sha: string, event: string): { clone: string; env: Record<string, string | undefined> } {
  const clone = path.join(dir, name);
  git(dir, "clone", "-q", origin, clone);
  git(clone, "checkout", "-q", sha);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
  const built = spawnSync(process.execPath, [path.join(clone, "scripts", "app", "build.mjs")], { cwd: clone, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`the build failed in ${clone}: ${built.stderr}`);
  const temp = path.join(clone, "_runner_temp");
  fs.mkdirSync(temp);
  const env: Record<string, string | undefined> = {
    GITHUB_ACTIONS: "true",
    CI: "true",
    GITHUB_SHA: sha,
    GITHUB_EVENT_NAME: event,
    GITHUB_REPOSITORY: "acme/platform",
    GITHUB_RUN_ID: String(1000 + ++runs),
    RUNNER_TEMP: temp,
    GITHUB_STEP_SUMMARY: path.join(temp, "step-summary.md"),
    GITHUB_OUTPUT: path.join(temp, "output"),
    // The local AWS stands in for the accounts.
    AWS_ENDPOINT_URL: aws.endpoint,
    ENVIRONMENTS: "all",
    CONFIG_FILE: undefined,
    CDKTF_OUTDIR: undefined,
    STATE_RECORD_DIR: undefined,
    ALLOW_DESTROY: undefined,
    ALLOW_EMPTY_STATE: undefined,
    ALLOW_LOCAL_ENDPOINT: undefined,
    PARALLELISM: "2",
  };
  return { clone, env };
}

/** Runs a compiled command of a clone (`dist/scripts/<script>.js`) from its root. */
function run(clone: string, script: string, args: string[], env: Record<string, string | undefined>): Promise<Result> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(clone, "dist", "scripts", `${script}.js`), ...args], { cwd: clone, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr: withoutNodeWarnings(stderr) }));
  });
}

const names = (json: string) => (JSON.parse(json) as { name: string }[]).map((s) => s.name);

/** A state record, read from its bucket as any runner reads it. */
async function record(key: string): Promise<any> {
  const s3 = new S3Client(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint }));
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${key}.record.json` }));
  return JSON.parse(await r.Body!.transformToString());
}

/** No job leaves records on its disk. */
function expectNoLocalRecords(clone: string): void {
  expect(fs.existsSync(path.join(clone, ".tmp", "state-records"))).toBe(false);
}

let c0: string;
let c3: string;

beforeAll(async () => {
  aws = await startLocalAws();
  dir = tempDir("records-in-ci");
  // origin: this working tree as a repository, with an organization of two local environments:
  // the owner of the repository and a consumer that pulls from it.
  origin = scratchCopy("records-origin");
  // A repository holds no node_modules: each job links its own, as npm ci makes it.
  fs.unlinkSync(path.join(origin, "node_modules"));
  const shipped = shippedConfig().environments;
  const config = { environments: { local: { ...singleAccountLocal(), regions: ["eu-central-1"] }, "local-staging": shipped["local-staging"] } };
  fs.writeFileSync(path.join(origin, "config", "environments.json"), `${JSON.stringify(config, null, 2)}\n`);
  git(origin, "init", "-q", "-b", "main");
  git(origin, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "add", "-A");
  git(origin, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "the organization");
  git(origin, "config", "user.email", "ci@example.com");
  git(origin, "config", "user.name", "ci");
  c0 = git(origin, "rev-parse", "HEAD");

  // The first push deploys every stack (each is pending: never deployed).
  const first = job("push-0-deploy", c0, "push");
  const pending = await run(first.clone, "stacks/stacks", ["--json", "--pending"], first.env);
  expect({ code: pending.code, stacks: names(pending.stdout) }).toEqual({ code: 0, stacks: [CONSUMER, OWNER] });
  const deployed = await run(first.clone, "plan-review/plan", ["--apply", "--out", "plans"], first.env);
  if (deployed.code !== 0) throw new Error(`the first deploy failed:\n${deployed.stderr}\n${deployed.stdout.slice(-3000)}`);
  expectNoLocalRecords(first.clone);
});

afterAll(async () => {
  await aws?.stop();
});

describe("state records beside each state, as CI jobs in fresh clones see them", () => {
  test("a deploy records the commit, the synth's digest, the resources and the backend beside the state", async () => {
    const r = await record("local/eu-central-1/terraform.tfstate");
    expect(r).toMatchObject({ stack: OWNER, after: "apply", commit: c0, local: true, backend: { bucket: BUCKET, key: "local/eu-central-1/terraform.tfstate" } });
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(r.resources).toBeGreaterThan(5);
  });

  test("a pull request that moves the state prefix is blocked in a fresh clone: state-empty and backend-change", async () => {
    const moved = commitConfig("move the state prefix", (c) => (c.environments.local.state.keyPrefix = "moved"), "move-prefix");
    const pr = job("pr-move-plan", moved, "pull_request");
    const r = await run(pr.clone, "plan-review/plan", ["--stack", OWNER, "--out", `plans/${OWNER}`], pr.env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: "" });
    const review = JSON.parse(fs.readFileSync(path.join(pr.clone, "plans", OWNER, `${OWNER}.review.json`), "utf8"));
    expect(review.risks.map((k: any) => k.kind)).toEqual(expect.arrayContaining(["backend-change", "state-empty"]));
    expect(review.risks.find((k: any) => k.kind === "backend-change").message).toBe('state backend changes: key "local/eu-central-1/terraform.tfstate" -> "moved/local/eu-central-1/terraform.tfstate"');
    expect(r.stdout).toContain(`:no_entry: **Blocked: empty state**: \`${OWNER}\` plans to create everything again`);
    expectNoLocalRecords(pr.clone);
  });

  test("a push whose deploy failed is deployed by the next push: --pending lists both pushes' stacks, --changed-since only the last", async () => {
    // GIVEN a push that changes the owner, whose deploy fails (the runner cannot reach the accounts)
    const c2 = commitConfig("keep 50 tagged images", (c) => (c.environments.local.build.repository = { ...(c.environments.local.build.repository ?? {}), keepTaggedImages: 50 }));
    const failed = job("push-1-deploy", c2, "push");
    const listed = await run(failed.clone, "stacks/stacks", ["--json", "--pending"], failed.env);
    expect(names(listed.stdout)).toEqual([OWNER]);
    const dead = await run(failed.clone, "plan-review/plan", ["--apply", "--stack", OWNER, "--out", "plans"], { ...failed.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" });
    expect(dead.code).not.toBe(0);

    // WHEN the next push changes the consumer only
    c3 = commitConfig("tag the consumer", (c) => (c.environments["local-staging"].tags = { ...c.environments["local-staging"].tags, Team: "payments" }));
    const next = job("push-2-stacks", c3, "push");
    const changed = await run(next.clone, "stacks/stacks", ["--json", "--changed-since", c2], next.env);
    const pending = await run(next.clone, "stacks/stacks", ["--json", "--pending"], next.env);

    // THEN the previous push's change is pending too, said with the commit it was deployed from
    expect(names(changed.stdout)).toEqual([CONSUMER]);
    expect({ code: pending.code, stacks: names(pending.stdout) }).toEqual({ code: 0, stacks: [CONSUMER, OWNER] });
    expect(pending.stderr).toContain(`pending: ${OWNER}: its synthesized Terraform differs from the one last deployed (deployed from ${c0.slice(0, 12)} at `);
    expect(JSON.parse(pending.stdout)[0]).toEqual(JSON.parse((await run(next.clone, "stacks/stacks", ["--json"], next.env)).stdout)[0]);

    // AND the deploy of the pending stacks deploys both; nothing is pending after it
    const deploy = job("push-2-deploy", c3, "push");
    const r = await run(deploy.clone, "plan-review/plan", ["--apply", "--stack", names(pending.stdout).join(","), "--out", "plans"], deploy.env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect((await record("local/eu-central-1/terraform.tfstate")).commit).toBe(c3);
    expect((await record("local-staging/eu-central-1/terraform.tfstate")).commit).toBe(c3);
    const after = await run(deploy.clone, "stacks/stacks", ["--json", "--pending"], deploy.env);
    expect({ code: after.code, stacks: names(after.stdout), stderr: after.stderr }).toEqual({ code: 0, stacks: [], stderr: "" });
  });

  test("an environment removed from the config is named as orphaned, fails the nightly run, and is destroyed by a reviewed step", async () => {
    // GIVEN the consumer environment removed from the config (its resources stay deployed)
    const c4 = commitConfig("remove local-staging", (c) => delete c.environments["local-staging"]);

    // WHEN the nightly run plans every stack and merges the reviews with the orphans
    const nightly = job("nightly", c4, "schedule");
    const orphans = await run(nightly.clone, "stacks/stacks", ["--orphans", "--json"], nightly.env);
    expect({ code: orphans.code, stderr: orphans.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(orphans.stdout)).toEqual([
      {
        name: CONSUMER,
        backend: { bucket: BUCKET, key: "local-staging/eu-central-1/terraform.tfstate", region: "eu-central-1" },
        resources: expect.any(Number),
        reason: "removed",
        commit: c3,
        at: expect.any(String),
        local: true,
      },
    ]);
    fs.writeFileSync(path.join(nightly.clone, "orphans.json"), orphans.stdout);
    const plan = await run(nightly.clone, "plan-review/plan", ["--out", `plans/${OWNER}`], nightly.env);
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 0, stderr: "" });
    const summary = fs.readFileSync(path.join(nightly.clone, "plans", OWNER, "summary.md"), "utf8");
    expect(summary).toContain("## Orphaned stacks");
    expect(summary).toContain(`| \`${CONSUMER}\` | \`s3://${BUCKET}/local-staging/eu-central-1/terraform.tfstate\` |`);
    fs.writeFileSync(path.join(nightly.clone, "expected.json"), JSON.stringify([OWNER]));
    const merged = await run(nightly.clone, "plan-review/merge", ["plans", "--expect", "expected.json", "--out", "merged", "--drift-summary", "--orphans", "orphans.json"], nightly.env);

    // THEN it fails, naming the orphan, and the owner's change since its deploy from c3
    expect(merged.code).toBe(1);
    expect(merged.stdout).toContain(`; orphaned: ${CONSUMER}`);
    const report = fs.readFileSync(nightly.env.GITHUB_STEP_SUMMARY!, "utf8");
    expect(report).toContain(`| \`${CONSUMER}\` | \`s3://${BUCKET}/local-staging/eu-central-1/terraform.tfstate\` |`);
    expect(report).toMatch(new RegExp(`- \`${OWNER}\`: \\d+ add, \\d+ change, \\d+ destroy, \\d+ replace; deployed from \`${c3.slice(0, 12)}\` at `));

    // AND its destruction is planned and reviewed first, applied only when confirmed
    const destroy = job("destroy-orphan", c4, "workflow_dispatch");
    const reviewed = await run(destroy.clone, "plan-review/plan", ["--destroy", "--orphan", CONSUMER], destroy.env);
    expect({ code: reviewed.code, stderr: reviewed.stderr }).toEqual({ code: 0, stderr: "" });
    const review = JSON.parse(fs.readFileSync(path.join(destroy.clone, "plans", "orphans", `${CONSUMER}.review.json`), "utf8"));
    expect(review.counts.destroy).toBe(JSON.parse(orphans.stdout)[0].resources);
    expect(reviewed.stdout).toContain(`nothing destroyed: destroy exactly this plan with npm run destroy -- --orphan ${CONSUMER} --confirm ${CONSUMER}`);
    const confirmed = await run(destroy.clone, "plan-review/plan", ["--destroy", "--orphan", CONSUMER, "--confirm", CONSUMER], destroy.env);
    expect({ code: confirmed.code, stderr: confirmed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await record("local-staging/eu-central-1/terraform.tfstate")).toMatchObject({ stack: CONSUMER, after: "destroy", resources: 0 });
    const none = await run(destroy.clone, "stacks/stacks", ["--orphans"], destroy.env);
    expect({ code: none.code, stdout: none.stdout, stderr: none.stderr }).toEqual({ code: 0, stdout: "no orphaned stacks\n", stderr: "" });
  });
});
