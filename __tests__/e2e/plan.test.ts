import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../scripts/local-aws/server";
import { bootstrap, deployStack, localStacks, selectLocalEnvironments, synthesize } from "../../scripts/local-aws/deploy";
import { requireBuiltApp, ROOT, tempDir } from "../support/app";
import { singleAccountLocal } from "../support/environments";

/**
 * `npm run plan` on real plans against the local AWS: the local environment (one region, to
 * keep it quick) is deployed, then changed configs are planned against that state.
 */
jest.setTimeout(300_000);

const STACK = "local-eu-central-1";
const REPO = `${STACK}:aws_ecr_repository.Repository_22E53BBD`;
let aws: LocalAws;
let dir: string;

/** A config with the shipped local environment as a single account (no replication), in eu-central-1 only, changed by `change`. */
function writeConfig(name: string, change: (env: any) => void = () => undefined): string {
  const copy = { ...singleAccountLocal(), regions: ["eu-central-1"] };
  change(copy);
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ environments: { local: copy } }));
  return file;
}

function plan(config: string, args: string[] = [], vars: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = tempDir("plans");
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", "plan-review", "plan.js"), "--out", out, ...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_ENDPOINT_URL: aws.endpoint, CONFIG_FILE: config, ENVIRONMENTS: "local", CDKTF_OUTDIR: path.join(out, "cdktf.out"), ...vars },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr, out }));
  });
}

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir("plan-e2e");
  aws = await startLocalAws();
  const opts = { endpoint: aws.endpoint, root: ROOT, outdir: path.join(dir, "cdktf.out"), configFile: writeConfig("deployed") };
  const envs = selectLocalEnvironments(opts);
  synthesize(opts);
  await bootstrap(opts, envs);
  await Promise.all(localStacks(envs, opts.outdir).map((s) => deployStack(opts, s)));
});

afterAll(async () => {
  await aws?.stop();
});

describe("npm run plan against the deployed local stack", () => {
  test("the unchanged config plans no changes and passes", async () => {
    const r = await plan(writeConfig("same"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`| ${STACK} | 0 | 0 | 0 | 0 | none |`);
  });

  test("a change that replaces the ECR repository is flagged and exits non-zero without the flag", async () => {
    const r = await plan(writeConfig("renamed", (e) => (e.build.repositoryName = "codebuild-sample/renamed")));
    expect(r.code).toBe(1);
    const summary = fs.readFileSync(path.join(r.out, "summary.md"), "utf8");
    expect(summary).toContain("**repository-lost**: ECR repository codebuild-sample/dckr-push-ecr is replaced: its images are lost");
    expect(summary).toContain(`:no_entry: **Blocked**: the plan deletes or replaces \`${REPO}\``);
    // The repository and its lifecycle policy are replaced; the role policies that name its ARN change.
    expect(summary).toContain(`| ${STACK} | 0 | 4 | 0 | 2 | repository-lost, iam-change |`);
    // The plan, its JSON and the per-stack review are kept.
    for (const f of [`${STACK}.tfplan`, `${STACK}.json`, `${STACK}.md`]) expect(fs.existsSync(path.join(r.out, f))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(r.out, `${STACK}.json`), "utf8")).resource_changes.length).toBeGreaterThan(0);
  });

  test("the same change passes when --allow-destroy names exactly the repository", async () => {
    const r = await plan(writeConfig("renamed-ok", (e) => (e.build.repositoryName = "codebuild-sample/renamed")), ["--allow-destroy", REPO]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("**repository-lost**");
    expect(r.stdout).not.toContain("**Blocked**");
  });

  test("an allowance naming a resource the plan does not destroy fails", async () => {
    const r = await plan(writeConfig("same-allow"), ["--allow-destroy", REPO]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`**--allow-destroy names resources the plan does not destroy**: \`${REPO}\``);
  });

  test("adding a tag is a plain change: exit zero, no risk flagged, suppressions listed", async () => {
    const r = await plan(writeConfig("tagged", (e) => (e.tags = { ...e.tags, CostCenter: "42" })));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const review = fs.readFileSync(path.join(r.out, `${STACK}.md`), "utf8");
    expect(review).toMatch(/\*\*0 to add, \d+ to change, 0 to destroy, 0 to replace\*\*/);
    expect(review).toContain("Risks: none flagged.");
    expect(review).toContain("| CKV_AWS_316 | building Docker images needs the Docker daemon");
  });
});

describe("npm run plan of a real environment against the local AWS, on purpose", () => {
  const STAGING = "staging-eu-central-1";

  /** A real environment (no "local": true) in moto's account, with its state bucket created there. */
  async function stagingConfig(): Promise<string> {
    const staging = {
      accountId: "123456789012",
      regions: ["eu-central-1"],
      state: { bucket: "staging-tfstate" },
      build: { repositoryName: "staging/app", privilegedProject: { projectName: "staging-app" }, dindProject: { projectName: "staging-app-dind" } },
    };
    await new S3Client(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint })).send(
      new CreateBucketCommand({ Bucket: staging.state.bucket, CreateBucketConfiguration: { LocationConstraint: "eu-central-1" } }),
    );
    const file = path.join(dir, "staging.json");
    fs.writeFileSync(file, JSON.stringify({ environments: { staging } }));
    return file;
  }

  test("with --allow-local-endpoint it is planned there, and the review says so at its top", async () => {
    const r = await plan(await stagingConfig(), ["--allow-local-endpoint"], { ENVIRONMENTS: "staging", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const notice =
      ":warning: **Planned against a local endpoint, not AWS**: environment `staging` (not local) was planned with " +
      `\`AWS_ENDPOINT_URL=${aws.endpoint}\` (allowed on purpose); this plan says nothing about its AWS account.`;
    const summary = fs.readFileSync(path.join(r.out, "summary.md"), "utf8");
    expect(summary.split("\n").slice(0, 3)).toEqual(["# Terraform plan review", "", notice]);
    // Only moto takes the test credentials: the plan ran against the local AWS, and all of it is new there.
    expect(summary).toContain(`| ${STAGING} | 10 | 0 | 0 | 0 |`);
    expect(fs.readFileSync(path.join(r.out, `${STAGING}.md`), "utf8").split("\n").slice(0, 3)).toEqual([`## ${STAGING}`, "", notice]);
    const json = JSON.parse(fs.readFileSync(path.join(r.out, "summary.json"), "utf8"));
    expect(Object.keys(json)[0]).toBe("localEndpoint");
    expect(json.localEndpoint).toEqual({ notice, environments: ["staging"], variables: { AWS_ENDPOINT_URL: aws.endpoint }, stacks: [STAGING] });
  });
});
