import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BatchGetProjectsCommand, CodeBuildClient, DeleteProjectCommand, ListProjectsCommand } from "@aws-sdk/client-codebuild";
import { CloudWatchLogsClient, DescribeLogGroupsCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  PutImageScanningConfigurationCommand,
} from "@aws-sdk/client-ecr";
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolesCommand } from "@aws-sdk/client-iam";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../scripts/local-aws/clients";
import { execute, parseArgs } from "../../scripts/local-aws/aws";
import { localStacks, localTerraformEnv, readOutputs, selectLocalEnvironments, type LocalDeployOptions, type LocalStack } from "../../scripts/local-aws/deploy";
import { terraformTrimmed } from "../support/trimmed-terraform";
import { ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS } from "../../modules/shared/iam";
import { BuildSpec } from "../../modules/shared/buildspec";
import { ROOT, tempDir } from "../support/app";
import { alive, runScript, start, startedServer, stopKept, withoutNodeWarnings, type Run } from "../support/e2e-run";
import { listeningPids } from "../../scripts/shared/listeners";
import { singleAccountLocal, writeSingleAccountConfig } from "../support/environments";

/**
 * The whole cycle of a single-account local environment (the shipped `local` without
 * replication, so both regions build) against an embedded local AWS, with real Terraform, the
 * real hashicorp/aws provider and S3 remote state with native locking, deployed once by
 * `npm start -- --keep-running` as a user runs it: read everything back through the AWS SDK,
 * re-plan, check the state records the deploy left beside each state, review changed configs
 * (a moved state prefix among them) with `npm run plan` against the deployed state, then lock,
 * drift (raw and as the review lists it), a deploy of a changed project and `npm run destroy`
 * (the tests that change what is deployed come last). The shipped organization
 * of several accounts is deployed by organization.test.ts.
 */
jest.setTimeout(300_000);

const ACCOUNT = "123456789012";
/** A deployed stack and its outputs. */
interface Deployed {
  readonly stack: LocalStack;
  readonly outputs: Record<string, string>;
}
let keep: Run;
/** The local AWS `npm start --keep-running` left running. */
let pid: number;
let group: number;
let endpoint: string;
let dir: string;
/** Where this run's kept-running record goes (not the project's .local-aws/). */
let stateDir: string;
let opts: LocalDeployOptions;
let deployed: Deployed[];

beforeAll(async () => {
  dir = tempDir("e2e");
  const outdir = path.join(dir, "cdktf.out");
  const configFile = writeSingleAccountConfig(dir);
  stateDir = path.join(dir, "kept");
  keep = await start(["--keep-running", "--no-build"], { AWS_ENDPOINT_URL: undefined, CDKTF_OUTDIR: outdir, CONFIG_FILE: configFile, ENVIRONMENTS: "local", LOCAL_AWS_STATE_DIR: stateDir });
  ({ pid, group } = startedServer(keep.stdout));
  if (keep.code !== 0) throw new Error(`npm start -- --keep-running failed (exit ${keep.code}):\n${keep.stderr}\n${keep.stdout}`);
  endpoint = /export AWS_ENDPOINT_URL=(\S+)/.exec(keep.stdout)![1];
  opts = { endpoint, root: ROOT, outdir, configFile, environments: "local" };
  const stacks = localStacks(selectLocalEnvironments(opts), outdir);
  deployed = await Promise.all(stacks.map(async (stack) => ({ stack, outputs: await readOutputs(opts, stack) })));
});

afterAll(async () => {
  // As a user stops it; the process-group kill is only the fallback when npm stop failed.
  await runScript("local-aws/stop", [], { LOCAL_AWS_STATE_DIR: stateDir });
  stopKept(group);
});

describe("npm start --keep-running", () => {
  test("leaves the server up and prints how to point the AWS CLI at it", async () => {
    expect(keep.code).toBe(0);
    expect(keep.stdout).toContain("\nwave 1/1: local-eu-central-1, local-us-east-1\n");
    expect(alive(pid)).toBe(true);
    // The pid it prints is the server's own, the process that answers on the endpoint's port (not its watchdog's).
    expect(listeningPids(Number(new URL(endpoint).port))).toEqual([pid]);
    expect(group).not.toBe(pid);
    expect(keep.stdout).toContain(`export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=eu-central-1`);
    expect(keep.stdout).toContain("Is it up: npm run status\nStop it with: npm stop\n");
    // The server still answers, and holds what was deployed. (moto's own /moto-api/data.json
    // answers 500 after this deploy, a moto-side serialization failure, so the API is asked.)
    const { projects } = await new CodeBuildClient(clientConfig({ region: "eu-central-1", endpoint })).send(new ListProjectsCommand({}));
    expect([...(projects ?? [])].sort()).toEqual(["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"]);
  });
});

const target = (r: Deployed) => clientConfig({ region: r.stack.region, endpoint });
/** terraform in a deployed stack's folder; its plans through a provider that serves only the stack's types (support/trimmed-terraform.ts). */
const tf = (r: Deployed, args: string[], input?: string) => terraformTrimmed(args, r.stack.dir, localTerraformEnv(opts, r.stack.region), input);

describe("deploy of every local stack", () => {
  test("covers at least two regions, each with its outputs", () => {
    expect(deployed.map((d) => d.stack.name)).toEqual(["local-eu-central-1", "local-us-east-1"]);
    for (const d of deployed) {
      expect(d.outputs.repository_url).toBe(`${ACCOUNT}.dkr.ecr.${d.stack.region}.amazonaws.com/codebuild-sample/dckr-push-ecr`);
      expect(d.outputs.privileged_project_arn).toBe(`arn:aws:codebuild:${d.stack.region}:${ACCOUNT}:project/codebuild-sample-dckr-push-ecr`);
    }
  });
});

describe.each(["local-eu-central-1", "local-us-east-1"])("stack %s, read back through the AWS SDK", (name) => {
  const stack = () => deployed.find((d) => d.stack.name === name)!;

  test("ECR: immutable tags, scan on push, KMS encryption, the lifecycle policy", async () => {
    const ecr = new ECRClient(target(stack()));
    const { repositories } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["codebuild-sample/dckr-push-ecr"] }));
    expect(repositories![0]).toMatchObject({
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: "KMS" },
    });
    const policy = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: "codebuild-sample/dckr-push-ecr" }));
    const rules = JSON.parse(policy.lifecyclePolicyText!).rules;
    expect(rules.map((r: any) => [r.rulePriority, r.selection.tagStatus, r.selection.countNumber])).toEqual([
      [1, "untagged", 7],
      [2, "tagged", 30],
    ]);
  });

  test("CodeBuild: image, privileged mode, the four sample variables, logs, cache and service role", async () => {
    const s = stack();
    const { projects } = await new CodeBuildClient(target(s)).send(
      new BatchGetProjectsCommand({ names: [s.outputs.privileged_project_name, s.outputs.dind_project_name] }),
    );
    const [priv, dind] = projects!;
    expect(priv.environment).toMatchObject({ image: "aws/codebuild/amazonlinux2-x86_64-standard:5.0", privilegedMode: true, type: "LINUX_CONTAINER" });
    expect(dind.environment).toMatchObject({ image: "docker:27.3.1-dind", privilegedMode: true, imagePullCredentialsType: "CODEBUILD" });
    const vars = (p: typeof priv) => Object.fromEntries(p.environment!.environmentVariables!.map((v) => [v.name, v.value]));
    expect(vars(priv)).toEqual({
      AWS_DEFAULT_REGION: s.stack.region,
      AWS_ACCOUNT_ID: ACCOUNT,
      IMAGE_REPO_NAME: "codebuild-sample/dckr-push-ecr",
      DOCKERFILE: "docker/Dockerfile",
      DOCKER_BUILD_CONTEXT: "docker",
    });
    // No fixed tag: each build pushes a tag of its own, which the IMMUTABLE repository accepts.
    expect([vars(priv).IMAGE_TAG, vars(dind).IMAGE_TAG]).toEqual([undefined, undefined]);
    expect([vars(dind).DOCKERFILE, vars(dind).DOCKER_BUILD_CONTEXT]).toEqual(["docker/Dockerfile", "docker"]);
    expect(priv.logsConfig?.cloudWatchLogs).toMatchObject({ status: "ENABLED", groupName: "/aws/codebuild/codebuild-sample-dckr-push-ecr" });
    expect(priv.cache).toMatchObject({ type: "LOCAL", modes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] });
    expect(priv.source).toMatchObject({ type: "S3", location: "codebuild-docker-sources-local/app/source.zip" });
    expect(priv.serviceRole).toBe(s.outputs.privileged_role_arn);
    expect(dind.serviceRole).toBe(s.outputs.dind_role_arn);
    expect(priv.timeoutInMinutes).toBe(60);
    // The inline buildspec reached AWS exactly as BuildSpec.bundled reads the file (ecr-image.sh
    // embedded): Terraform's `$${` escapes turned back into the shell's `${`.
    const inlined = BuildSpec.bundled("docker-push-ecr.yml").value;
    expect(inlined).toContain("${IMAGE_REPO_NAME}");
    expect(priv.source?.buildspec).toBe(inlined);
  });

  test("IAM: the trust policy and the exact scope of the inline policy", async () => {
    const s = stack();
    const iam = new IAMClient(target(s));
    const roleName = s.outputs.privileged_role_arn.split("/").pop()!;
    const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    const trust = JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!));
    expect(trust.Statement).toEqual([
      {
        Sid: "CodeBuildAssumeRole",
        Effect: "Allow",
        Action: ["sts:AssumeRole"],
        Principal: { Service: "codebuild.amazonaws.com" },
        Condition: {
          StringEquals: { "aws:SourceAccount": [ACCOUNT] },
          ArnLike: { "aws:SourceArn": [`arn:aws:codebuild:${s.stack.region}:${ACCOUNT}:project/codebuild-sample-dckr-push-ecr`] },
        },
      },
    ]);
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "least-privilege" }));
    const policy = JSON.parse(decodeURIComponent(inline.PolicyDocument!));
    const logGroup = `arn:aws:logs:${s.stack.region}:${ACCOUNT}:log-group:/aws/codebuild/codebuild-sample-dckr-push-ecr`;
    const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
    const bySid = Object.fromEntries(policy.Statement.map((st: any) => [st.Sid, { actions: asList(st.Action).sort(), resources: asList(st.Resource).sort() }]));
    expect(bySid).toEqual({
      BuildLogs: { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup, `${logGroup}:log-stream:*`].sort() },
      EcrAuthToken: { actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
      EcrPull: { actions: [...ECR_PULL_ACTIONS].sort(), resources: [s.outputs.repository_arn] },
      EcrPush: { actions: [...ECR_PUSH_ACTIONS].sort(), resources: [s.outputs.repository_arn] },
      S3Read: { actions: ["s3:GetObject", "s3:GetObjectVersion"], resources: ["arn:aws:s3:::codebuild-docker-sources-local/app/source.zip"] },
      S3Bucket: { actions: ["s3:GetBucketAcl", "s3:GetBucketLocation"], resources: ["arn:aws:s3:::codebuild-docker-sources-local"] },
    });
  });

  test("the state object exists in the bucket under the stack's key", async () => {
    const s3 = new S3Client(clientConfig({ region: "eu-central-1", endpoint: endpoint }));
    const key = `local/${stack().stack.region}/terraform.tfstate`;
    await s3.send(new HeadObjectCommand({ Bucket: "codebuild-docker-tfstate-local", Key: key }));
    const body = await (await s3.send(new GetObjectCommand({ Bucket: "codebuild-docker-tfstate-local", Key: key }))).Body!.transformToString();
    const state = JSON.parse(body);
    expect(state.resources.filter((r: any) => r.mode === "managed").map((r: any) => r.type).sort()).toEqual(
      [
        "aws_cloudwatch_log_group",
        "aws_cloudwatch_log_group",
        "aws_codebuild_project",
        "aws_codebuild_project",
        "aws_ecr_lifecycle_policy",
        "aws_ecr_repository",
        "aws_iam_role",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy",
      ],
    );
  });

  test("the deploy recorded each stack's backend, outputs and resources beside its state, in its bucket, not on the machine", async () => {
    const s3 = new S3Client(clientConfig({ region: "eu-central-1", endpoint: endpoint }));
    for (const d of deployed) {
      const key = `local/${d.stack.region}/terraform.tfstate`;
      const r = await s3.send(new GetObjectCommand({ Bucket: "codebuild-docker-tfstate-local", Key: `${key}.record.json` }));
      const recorded = JSON.parse(await r.Body!.transformToString());
      expect(recorded).toMatchObject({ after: "apply", backend: { bucket: "codebuild-docker-tfstate-local", key } });
      expect(recorded.outputs).toContain("repository_url");
      expect(recorded.resources).toBe(10);
    }
  });

  test("a re-plan finds no changes", async () => {
    const plan = await tf(stack(), ["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
    expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 0, stderr: "" });
    expect(plan.stdout).toContain("No changes.");
  });
});

describe("the samples' API calls against the local AWS", () => {
  const env = () => ({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: "eu-central-1" });

  test("list-projects and batch-get-projects see both projects", async () => {
    const listed = JSON.parse(await execute(parseArgs(["list-projects"], env()) as any));
    expect(listed.projects.sort()).toEqual(["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"]);
    // (moto leaves out projectsNotFound for unknown names, so only found projects are checked.)
    const got = JSON.parse(await execute(parseArgs(["batch-get-projects", "--names", "codebuild-sample-dckr-dind,nope"], env()) as any));
    expect(got.projects.map((p: any) => p.name)).toEqual(["codebuild-sample-dckr-dind"]);
  });

  test("start-build runs the deployed project's buildspec: it logs in to the account's ECR registry on the local AWS, then stops in BUILD (Docker Hub's base images: no network here); batch-get-builds and CloudWatch Logs say so", async () => {
    const started = JSON.parse(await execute(parseArgs(["start-build", "--project", "codebuild-sample-dckr-push-ecr"], env()) as any));
    expect(started.build).toMatchObject({ projectName: "codebuild-sample-dckr-push-ecr", buildStatus: "IN_PROGRESS" });
    let build: any;
    for (let i = 0; i < 480 && !build?.buildComplete; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250));
      [build] = JSON.parse(await execute(parseArgs(["batch-get-builds", "--ids", started.build.id], env()) as any)).builds;
    }
    expect({ status: build.buildStatus, phase: build.currentPhase }).toEqual({ status: "FAILED", phase: "COMPLETED" });
    // Its source (the S3 bundle npm start uploaded) was downloaded, its install ran, its check and login passed.
    expect(build.phases.map((p: any) => `${p.phaseType}:${p.phaseStatus ?? "-"}`).slice(2, 7)).toEqual([
      "PROVISIONING:SUCCEEDED",
      "DOWNLOAD_SOURCE:SUCCEEDED",
      "INSTALL:SUCCEEDED",
      "PRE_BUILD:SUCCEEDED",
      "BUILD:FAILED",
    ]);
    expect(build.phases.find((p: any) => p.phaseType === "BUILD").contexts[0].message).toMatch(/^Error while executing command: sh "\$ECR_IMAGE_SH" build\. Reason: exit status \d+$/);
    expect(build.logs.groupName).toBe("/aws/codebuild/codebuild-sample-dckr-push-ecr");
    const logs = new CloudWatchLogsClient(clientConfig({ region: "eu-central-1", endpoint }));
    const lines = ((await logs.send(new GetLogEventsCommand({ logGroupName: build.logs.groupName, logStreamName: build.logs.streamName, startFromHead: true }))).events ?? []).map((e) => e.message ?? "");
    expect(lines).toContain(`building 123456789012.dkr.ecr.eu-central-1.amazonaws.com/codebuild-sample/dckr-push-ecr with the tag build-1-${started.build.id.split(":")[1].slice(0, 8)}, from docker/Dockerfile in the context docker`);
    expect(lines).toContain("Login Succeeded!");
    expect(lines).toContainEqual(expect.stringContaining("the local AWS reaches no network: only its accounts' ECR registries answer, not registry-1.docker.io:443"));
  });


  test("ecr-get-login-password prints the registry password alone", async () => {
    const password = await execute(parseArgs(["ecr-get-login-password"], env()) as any);
    expect(password.length).toBeGreaterThan(0);
    expect(password).not.toContain("AWS:");
    expect(password).not.toContain("\n");
  });
});

/** `npm run plan` on real plans against the deployed state (one region; they change nothing). */
const STACK = "local-eu-central-1";
const REPO = `${STACK}:aws_ecr_repository.Repository_22E53BBD`;

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
  return runScript("plan-review/plan", ["--out", out, ...args], {
    AWS_ENDPOINT_URL: endpoint,
    CONFIG_FILE: config,
    ENVIRONMENTS: "local",
    CDKTF_OUTDIR: path.join(out, "cdktf.out"),
    ...vars,
  }).then((r) => ({ ...r, out }));
}

describe("npm run plan against the deployed local stack", () => {
  test("the unchanged config plans no changes and passes", async () => {
    const r = await plan(writeConfig("same"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`| ${STACK} | 123456789012 | 0 | 0 | 0 | 0 | none |`);
  });

  test("a change that replaces the ECR repository is flagged and exits non-zero without the flag", async () => {
    const r = await plan(writeConfig("renamed", (e) => (e.build.repositoryName = "codebuild-sample/renamed")));
    expect(r.code).toBe(1);
    const summary = fs.readFileSync(path.join(r.out, "summary.md"), "utf8");
    expect(summary).toContain("**repository-lost**: ECR repository codebuild-sample/dckr-push-ecr is replaced: its images are lost");
    expect(summary).toContain(`:no_entry: **Blocked**: the plan deletes or replaces \`${REPO}\``);
    // The repository and its lifecycle policy are replaced; the role policies that name its ARN change.
    expect(summary).toContain(`| ${STACK} | 123456789012 | 0 | 4 | 0 | 2 | repository-lost, iam-change |`);
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

  test("a moved state.keyPrefix is a backend change and an empty state: blocked (exit 1) until --allow-empty-state names the stack", async () => {
    // GIVEN the state key moved: the plan runs against an empty new state
    const moved = writeConfig("moved", (e) => (e.state = { ...e.state, keyPrefix: "moved" }));

    // WHEN reviewed
    const r = await plan(moved);

    // THEN
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 1, stderr: "" });
    const json = JSON.parse(fs.readFileSync(path.join(r.out, "summary.json"), "utf8"));
    expect(json).toMatchObject({ ok: false, blocked: [], emptyState: [STACK] });
    const risks = json.stacks[0].risks.filter((k: any) => k.kind === "backend-change" || k.kind === "state-empty");
    expect(risks.map((k: any) => [k.kind, k.message.replace(/\(\d{4}-[\d-]+T[\d:.]+Z\)/, "(TIME)")])).toEqual([
      ["backend-change", 'state backend changes: key "local/eu-central-1/terraform.tfstate" -> "moved/local/eu-central-1/terraform.tfstate"'],
      [
        "state-empty",
        expect.stringMatching(
          /^the state at s3:\/\/codebuild-docker-tfstate-local\/moved\/local\/eu-central-1\/terraform\.tfstate is empty \(the plan creates all \d+ resources\) but the last apply recorded \d+ resources and \d+ outputs \([a-z_, …]+\) \(TIME\): check state\.keyPrefix, state\.bucket and state\.region of the environment, or restore the state \(docs\/recovery\.md\); after an interrupted apply, adopt what it created with npm run recover -- --stack local-eu-central-1; if the stack is meant to start empty, re-run with --allow-empty-state local-eu-central-1$/,
        ),
      ],
    ]);
    expect(r.stdout).toContain(":no_entry: **Blocked: empty state**: `local-eu-central-1` plans to create everything again");
    // The record still holds the backend of the last apply.
    const s3 = new S3Client(clientConfig({ region: "eu-central-1", endpoint: endpoint }));
    const record = await s3.send(new GetObjectCommand({ Bucket: "codebuild-docker-tfstate-local", Key: "local/eu-central-1/terraform.tfstate.record.json" }));
    expect(JSON.parse(await record.Body!.transformToString()).backend.key).toBe("local/eu-central-1/terraform.tfstate");

    // AND allowed by name, the review passes
    const allowed = await plan(moved, ["--allow-empty-state", STACK]);
    expect({ code: allowed.code, stderr: withoutNodeWarnings(allowed.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(allowed.stdout).toContain("**state-empty**");
    expect(allowed.stdout).toContain(":warning: **Empty state allowed**: `local-eu-central-1` will be created again from nothing.");
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
      build: {
        repositoryName: "staging/app",
        privilegedProject: { projectName: "staging-app", source: { type: "GITHUB", location: "https://github.com/example-org/app.git" } },
        dindProject: { projectName: "staging-app-dind", source: { type: "GITHUB", location: "https://github.com/example-org/app.git" } },
      },
    };
    await new S3Client(clientConfig({ region: "eu-central-1", endpoint: endpoint })).send(
      new CreateBucketCommand({ Bucket: staging.state.bucket, CreateBucketConfiguration: { LocationConstraint: "eu-central-1" } }),
    );
    const file = path.join(dir, "staging.json");
    fs.writeFileSync(file, JSON.stringify({ environments: { staging } }));
    return file;
  }

  test("with --allow-local-endpoint it is planned there, and the review says so at its top", async () => {
    const r = await plan(await stagingConfig(), ["--allow-local-endpoint"], { ENVIRONMENTS: "staging", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" });
    // Only warnings on stderr (the app's own, on synthesizing a real environment with an endpoint set).
    expect({ code: r.code, other: r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("warning: ")) }).toEqual({ code: 0, other: [] });
    const notice =
      ":warning: **Planned against a local endpoint, not AWS**: environment `staging` (not local) was planned with " +
      `\`AWS_ENDPOINT_URL=${endpoint}\` (allowed on purpose); this plan says nothing about its AWS account.`;
    const summary = fs.readFileSync(path.join(r.out, "summary.md"), "utf8");
    expect(summary.split("\n").slice(0, 3)).toEqual(["# Terraform plan review", "", notice]);
    // Only moto takes the test credentials: the plan ran against the local AWS, and all of it is new there.
    expect(summary).toContain(`| ${STAGING} | 123456789012 | 10 | 0 | 0 | 0 |`);
    expect(fs.readFileSync(path.join(r.out, `${STAGING}.md`), "utf8").split("\n").slice(0, 3)).toEqual([`## ${STAGING} (account 123456789012)`, "", notice]);
    const json = JSON.parse(fs.readFileSync(path.join(r.out, "summary.json"), "utf8"));
    expect(Object.keys(json)[0]).toBe("localEndpoint");
    expect(json.localEndpoint).toEqual({ notice, environments: ["staging"], variables: { AWS_ENDPOINT_URL: endpoint }, stacks: [STAGING] });
  });
});

describe("locking and drift on local-eu-central-1", () => {
  const stack = () => deployed.find((d) => d.stack.name === "local-eu-central-1")!;
  const ecr = () => new ECRClient(target(stack()));
  const scanOnPush = async () =>
    (await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: ["codebuild-sample/dckr-push-ecr"] }))).repositories![0]
      .imageScanningConfiguration!.scanOnPush;

  beforeAll(async () => {
    // Drift: scan on push turned off out of band.
    await ecr().send(
      new PutImageScanningConfigurationCommand({ repositoryName: "codebuild-sample/dckr-push-ecr", imageScanningConfiguration: { scanOnPush: false } }),
    );
  });

  test("plan shows the drift of scan on push", async () => {
    expect(await scanOnPush()).toBe(false);
    const plan = await tf(stack(), ["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/~ scan_on_push\s+= false -> true/);
    // Only the repository changes: no IAM policy is re-read or shown as changing.
    expect(plan.stdout.match(/# \S+ (will|must) be/g)).toEqual(["# aws_ecr_repository.Repository_22E53BBD will be"]);
    expect(plan.stdout).toContain("Plan: 0 to add, 1 to change, 0 to destroy.");
  });

  test("npm run plan lists it as drift, with the attributes' names only, and the review passes", async () => {
    const r = await plan(writeConfig("drift"));
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 0, stderr: "" });
    const json = JSON.parse(fs.readFileSync(path.join(r.out, "summary.json"), "utf8"));
    // (The roles' inline_policy, read back once their policies exist, is drift the plan keeps.)
    const drifted = json.drift.filter((d: any) => d.corrected);
    const address = "aws_ecr_repository.Repository_22E53BBD";
    expect(drifted).toEqual([{ stack: STACK, address, type: "aws_ecr_repository", action: "update", attributes: ["image_scanning_configuration"], corrected: true }]);
    const md = fs.readFileSync(path.join(r.out, `${STACK}.md`), "utf8");
    expect(md).toContain("Drift (changed outside Terraform):\n\n| resource | outside Terraform | attributes | this plan |\n|---|---|---|---|\n");
    expect(md).toContain(`| \`${address}\` | changed | image_scanning_configuration | changes it back |\n`);
    expect(md).toContain(`- :warning: **drift**: ${address} was changed outside Terraform: image_scanning_configuration (the plan changes it back)\n`);
    expect(fs.readFileSync(path.join(r.out, "summary.md"), "utf8")).toContain(`- \`${STACK}\`: \`${address}\` changed (image_scanning_configuration): this plan changes it back\n`);
    expect(json.ok).toBe(true);
    expect(json.stacks[0].risks.map((k: any) => k.kind)).not.toContain("state-empty");
  });

  test("while one apply holds the lock, a second apply of the same stack fails with a lock error, and the state stays intact", async () => {
    const s = stack();
    const env = localTerraformEnv(opts, s.stack.region);
    // The first apply stops at its confirmation prompt, holding the state lock.
    const holder = spawn("terraform", ["apply", "-input=true", "-no-color"], { cwd: s.stack.dir, env, stdio: ["pipe", "pipe", "pipe"] });
    let holderOut = "";
    const holderDone = new Promise<number>((resolve) => holder.on("close", (code) => resolve(code ?? 1)));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on("data", (d: Buffer) => {
        holderOut += d.toString();
        if (holderOut.includes("Enter a value:")) resolve();
      });
      holder.on("close", () => reject(new Error(`first apply ended before its prompt:\n${holderOut}`)));
    });

    const second = await tf(s, ["apply", "-auto-approve", "-input=false", "-lock-timeout=0s", "-no-color"]);
    holder.stdin.end("no\n");
    const holderCode = await holderDone;

    expect(second.code).toBe(1);
    expect(second.stderr).toContain("Error acquiring the state lock");
    expect(holderCode).toBe(1);
    expect(holderOut).toContain("Apply cancelled.");
    // Intact and correct: the lock object is gone, the state still describes everything, and
    // the only pending change is the drift.
    const s3 = new S3Client(clientConfig({ region: "eu-central-1", endpoint: endpoint }));
    await expect(s3.send(new HeadObjectCommand({ Bucket: "codebuild-docker-tfstate-local", Key: "local/eu-central-1/terraform.tfstate.tflock" }))).rejects.toThrow();
    const list = await tf(s, ["state", "list"]);
    expect(list.stdout.split("\n").filter((l) => l.startsWith("aws_"))).toHaveLength(10);
    const plan = await tf(s, ["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
    expect(plan.stdout).toContain("Plan: 0 to add, 1 to change, 0 to destroy.");
  });

  test("apply repairs the drift", async () => {
    const apply = await tf(stack(), ["apply", "-auto-approve", "-input=false", "-no-color"]);
    expect(apply.code).toBe(0);
    expect(await scanOnPush()).toBe(true);
    const plan = await tf(stack(), ["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
    expect(plan.code).toBe(0);
  });
});

describe("npm run deploy of a change to a deployed project, then npm run destroy, on the kept-running local AWS", () => {
  /** The planner (dist/scripts/plan-review/plan.js) with the deployed config and synth folder, against the kept-running endpoint. */
  const planJs = (args: string[], env: Record<string, string | undefined> = {}) =>
    runScript("plan-review/plan", args, { AWS_ENDPOINT_URL: endpoint, CONFIG_FILE: opts.configFile, ENVIRONMENTS: "local", CDKTF_OUTDIR: opts.outdir, ...env });

  test("the deploy showed each stack's terraform phases as they started and ended", () => {
    for (const d of deployed) {
      for (const phase of ["init", "plan", "apply"]) {
        expect(keep.stdout).toContain(`  ${d.stack.name}: terraform ${phase} started\n`);
        expect(keep.stdout).toMatch(new RegExp(`  ${d.stack.name}: terraform ${phase} done in \\d+\\.\\d s\\n`));
      }
    }
  });

  test("a change to a deployed project is applied in place (the local AWS serves CodeBuild UpdateProject), and a re-plan then finds nothing", async () => {
    // GIVEN the deployed project's build timeout changed in the config (one region)
    const changed = writeConfig("changed-timeout", (e) => (e.build.privilegedProject.buildTimeoutMinutes = 33));
    const changedOut = path.join(dir, "changed.out");
    // WHEN deployed again
    const r = await planJs(["--apply", "--out", path.join(dir, "plans-changed")], { CONFIG_FILE: changed, CDKTF_OUTDIR: changedOut });
    // THEN it is an update of that one project, applied
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`| ${STACK} | 123456789012 | 0 | 1 | 0 | 0 |`);
    expect(r.stdout).toMatch(new RegExp(`\\[1/1\\] ${STACK}: applied \\(\\d+\\.\\d s\\)`));
    const cb = new CodeBuildClient(target(deployed.find((d) => d.stack.name === STACK)!));
    const [project] = (await cb.send(new BatchGetProjectsCommand({ names: ["codebuild-sample-dckr-push-ecr"] }))).projects ?? [];
    expect(project?.timeoutInMinutes).toBe(33);
    // and the rest of the project is what it was: the same image, privileged mode, service role and variables
    const before = deployed.find((d) => d.stack.name === STACK)!;
    expect(project?.environment).toMatchObject({ image: "aws/codebuild/amazonlinux2-x86_64-standard:5.0", privilegedMode: true, type: "LINUX_CONTAINER" });
    expect(project?.environment?.environmentVariables?.map((v) => v.name)).toEqual(["AWS_DEFAULT_REGION", "AWS_ACCOUNT_ID", "IMAGE_REPO_NAME", "DOCKERFILE", "DOCKER_BUILD_CONTEXT"]);
    expect(project?.serviceRole).toBe(before.outputs.privileged_role_arn);
    expect(project?.source).toMatchObject({ type: "S3", location: "codebuild-docker-sources-local/app/source.zip" });
    const replan = await terraformTrimmed(["plan", "-detailed-exitcode", "-input=false", "-no-color"], path.join(changedOut, "stacks", STACK), localTerraformEnv(opts, "eu-central-1"));
    expect({ code: replan.code, stderr: replan.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("npm run destroy shows what goes, destroys it (local: no confirmation), and leaves nothing of the project", async () => {
    const r = await planJs(["--destroy", "--out", path.join(dir, "plans-destroy")]);
    expect({ code: r.code, stderr: withoutNodeWarnings(r.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("# Terraform destroy review");
    for (const d of deployed) {
      expect(r.stdout).toMatch(new RegExp(`\\| ${d.stack.name} \\| [1-9]\\d* \\| `));
      expect(r.stdout).toContain(`destroying the reviewed plan of ${d.stack.name}\n`);
    }
    expect(r.stdout).toContain("| `-` delete | `aws_ecr_repository.Repository_22E53BBD` |");
    expect(r.stdout).toContain("destroyed everything reviewed above\n");

    for (const d of deployed) {
      expect((await tf(d, ["state", "list"])).stdout.trim()).toBe("");
      const ecr = await new ECRClient(target(d)).send(new DescribeRepositoriesCommand({}));
      expect(ecr.repositories ?? []).toEqual([]);
      const logs = await new CloudWatchLogsClient(target(d)).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/aws/codebuild/" }));
      expect(logs.logGroups ?? []).toEqual([]);

      // The local AWS's quirk, not ours: the provider deletes a CodeBuild project by its ARN, and
      // moto's DeleteProject only matches names, so moto keeps the project although Terraform's
      // delete succeeded (real CodeBuild removes it). Terraform's state above holds nothing;
      // whatever moto kept is removed by name here, so the final check is the real one.
      const cb = new CodeBuildClient(target(d));
      const left = (await cb.send(new ListProjectsCommand({}))).projects ?? [];
      for (const name of left) await cb.send(new DeleteProjectCommand({ name }));
      expect((await cb.send(new ListProjectsCommand({}))).projects ?? []).toEqual([]);
    }
    const roles = await new IAMClient(clientConfig({ region: "us-east-1", endpoint: endpoint })).send(new ListRolesCommand({}));
    expect((roles.Roles ?? []).filter((r) => r.RoleName!.startsWith("cb-"))).toEqual([]);
  });

  test("npm run destroy of local environments with no local AWS running says there is nothing to destroy, and runs nothing", async () => {
    const r = await planJs(["--destroy"], { AWS_ENDPOINT_URL: undefined, LOCAL_AWS_STATE_DIR: tempDir("no-kept"), CDKTF_OUTDIR: path.join(dir, "untouched") });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
    expect(withoutNodeWarnings(r.stderr)).toBe(
      "error: nothing to destroy: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none); a local AWS started for a run is gone with it\n",
    );
    expect(fs.existsSync(path.join(dir, "untouched"))).toBe(false);
  });
});
