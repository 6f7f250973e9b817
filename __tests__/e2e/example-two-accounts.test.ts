import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, GetRepositoryPolicyCommand } from "@aws-sdk/client-ecr";
import { CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from "@aws-sdk/client-iam";
import { LOCAL_CREDENTIALS } from "../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../scripts/local-aws/server";
import { terraformOk } from "../../scripts/terraform/run";
import { terraformTrimmed } from "../support/trimmed-terraform";
import { requireTerraform, terraformEnv } from "../../scripts/terraform/env";
import { tempDir } from "../support/app";
import { containerEnv, ensureBuilderImage, IMAGE_BUILD_TOOLS, podman, requireTool, requireTools } from "../support/containers";
import { CDKTF_CLI, cleanEnv, InstalledExample, plainText, progress, runCommand, stackDir, synthExample } from "../support/example-app";
import { settleLater } from "../support/library";
import { copyInstalledExample } from "../support/library-cache";

/**
 * examples/platform-app, installed from the packed library, deployed with real Terraform and the
 * real hashicorp/aws provider to the embedded local AWS (moto) as two accounts: each provider
 * assumes platform-deploy in its account, and moto's STS gives back a session that acts in the
 * role's account. The tools stack goes first, then the workload stack (which reads no state of
 * tools); both re-plan empty; what they made is read back through the API of each account.
 */
jest.setTimeout(300_000);

const TAG = "example two accounts";
const REGION = "eu-central-1";
const TOOLS = "111111111111";
const WORKLOAD = "222222222222";
const STACKS = ["tools", "workload"] as const;
const REPOSITORY_ARN = `arn:aws:ecr:${REGION}:${TOOLS}:repository/platform/app`;
const TASK_ROLE_ARN = `arn:aws:iam::${WORKLOAD}:role/app-task`;
const PARAMETER_ARN = `arn:aws:ssm:${REGION}:${TOOLS}:parameter/platform/app/build-config`;
const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
/** Terraform's concurrent operations per stack: the machine has two cores, and stacks go one at a time. */
const PARALLELISM = "-parallelism=2";

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

let aws: LocalAws;
let workDir: string;
let example: InstalledExample;
/** The environment the example, Terraform and the AWS CLI run with. */
let env: NodeJS.ProcessEnv;
let tfEnv: NodeJS.ProcessEnv;
const sessions: Record<string, Credentials> = {};
const outputs: Record<string, Record<string, string>> = {};
/** The re-plan of each stack after both applied, started in beforeAll. */
const replans: Partial<Record<(typeof STACKS)[number], ReturnType<typeof terraformTrimmed>>> = {};

/**
 * Test credentials and the example's LOCAL_AWS_ENDPOINT, and no other AWS_* setting of the
 * outer shell: AWS_ENDPOINT_URL in particular would send every call to moto by itself and hide
 * whether the example's own endpoint switch works.
 */
function exampleEnv(endpoint: string): NodeJS.ProcessEnv {
  const e = cleanEnv();
  for (const k of Object.keys(e)) if (k.startsWith("AWS_")) delete e[k];
  for (const k of ["TOOLS_ACCOUNT_ID", "WORKLOAD_ACCOUNT_ID"]) delete e[k];
  return { ...e, AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey, LOCAL_AWS_ENDPOINT: endpoint };
}

/** `aws <args>` against the local AWS with the given credentials; the parsed JSON answer. */
function awsCli(args: string[], credentials: Credentials): any {
  const out = execFileSync("aws", [...args, "--endpoint-url", aws.endpoint, "--region", REGION, "--output", "json"], {
    env: {
      ...env,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: credentials.sessionToken }),
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  return JSON.parse(out);
}

/**
 * A session of platform-deploy in `account`, as each provider of the example gets one (the role
 * need not exist in moto). The repository has no STS client of the AWS SDK, so the AWS CLI asks.
 */
function assumeDeployRole(account: string): Credentials {
  const roleArn = `arn:aws:iam::${account}:role/platform-deploy`;
  const c = awsCli(["sts", "assume-role", "--role-arn", roleArn, "--role-session-name", "example-two-accounts"], LOCAL_CREDENTIALS).Credentials;
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

/** SDK client settings for calls made in `account`. */
function inAccount(account: string): { region: string; endpoint: string; credentials: Credentials } {
  return { region: REGION, endpoint: aws.endpoint, credentials: sessions[account] as Credentials };
}

/** The account field of an ARN. */
const accountOf = (arn: string) => arn.split(":")[4];

/** An IAM policy document as the API returns it (URL-encoded JSON). */
const policyDocument = (text: string | undefined) => JSON.parse(decodeURIComponent(text ?? ""));

/** The lines of a plan that say what would change (resource headers and changed attributes). */
function planChanges(stdout: string): string[] {
  return plainText(stdout)
    .split("\n")
    .filter((l) => /^\s*(# \S+ (will|must) be|[~+-] |-\/\+ |Plan: )/.test(l))
    .map((l) => l.trim());
}

beforeAll(async () => {
  workDir = tempDir("example-two-accounts");
  requireTool("aws", "apt-get install -y awscli (or `pip install awscli`)");
  progress(TAG, "starting the local AWS (moto_server)");
  // The builds' docker (podman) on the tests' container storage, where the Go builder base is made once.
  requireTools(["podman", "docker-registry", ...IMAGE_BUILD_TOOLS]);
  ensureBuilderImage();
  aws = await startLocalAws({ env: { ...process.env, ...containerEnv() } });
  env = exampleEnv(aws.endpoint);
  tfEnv = terraformEnv(path.join(workDir, "terraform"), env);
  requireTerraform(tfEnv);

  progress(TAG, `creating what exists before the example: role platform-builder and repository platform/base-images in ${TOOLS}`);
  sessions[TOOLS] = assumeDeployRole(TOOLS);
  sessions[WORKLOAD] = assumeDeployRole(WORKLOAD);
  await new IAMClient(inAccount(TOOLS)).send(
    new CreateRoleCommand({
      RoleName: "platform-builder",
      Description: "The account baseline's build role (pre-existing; the example attaches its grants)",
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "codebuild.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": TOOLS } },
          },
        ],
      }),
    }),
  );
  await new ECRClient(inAccount(TOOLS)).send(new CreateRepositoryCommand({ repositoryName: "platform/base-images" }));

  // Packed and installed once per run, shared with examples/platform-app; this copy is the test's own.
  progress(TAG, "the example installed from the packed library (npm pack, npm install; once per run)");
  example = await copyInstalledExample(path.join(workDir, "app"));
  progress(TAG, `synthesizing the example with LOCAL_AWS_ENDPOINT=${aws.endpoint} (cdktf synth)`);
  const synth = await synthExample(example.appDir, env);
  if (synth.code !== 0) throw new Error(`cdktf synth failed (exit ${synth.code}):\n${plainText(synth.stdout + synth.stderr).trim().split("\n").slice(-30).join("\n")}`);

  // Both stacks initialised at once (each in its own folder), then applied one at a time: tools
  // first (it owns the repository the workload's role names).
  progress(TAG, `terraform init (${STACKS.join(", ")})`);
  await Promise.all(STACKS.map((stack) => terraformOk(["init", "-input=false", "-no-color"], stackDir(example.appDir, stack), tfEnv)));
  for (const stack of STACKS) {
    const dir = stackDir(example.appDir, stack);
    progress(TAG, `terraform apply (${stack})`);
    const apply = await terraformOk(["apply", "-auto-approve", "-input=false", "-no-color", PARALLELISM], dir, tfEnv);
    progress(TAG, `applied ${stack} in ${apply.seconds.toFixed(1)} s`);
    const out = JSON.parse((await terraformOk(["output", "-json"], dir, tfEnv)).stdout) as Record<string, { value: unknown }>;
    outputs[stack] = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, String(v.value)]));
  }
  // The re-plans read only: both start now, each test awaits its own.
  for (const stack of STACKS) {
    progress(TAG, `terraform plan -detailed-exitcode (${stack})`);
    // Through a provider that serves only the stack's types, as the planner plans (support/trimmed-terraform.ts).
    replans[stack] = settleLater(terraformTrimmed(["plan", "-detailed-exitcode", "-input=false", "-no-color", PARALLELISM], stackDir(example.appDir, stack), tfEnv));
  }
}, 900_000);

afterAll(async () => {
  // Let running plans end before the local AWS and their folders go.
  await Promise.allSettled(Object.values(replans));
  await aws?.stop();
  if (pushed.length) podman(["rmi", "--ignore", ...pushed]);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe("the example deployed to the local AWS in two accounts", () => {
  test("each stack applied in its own account", () => {
    expect(outputs.tools).toMatchObject({
      repository_arn: REPOSITORY_ARN,
      repository_url: `${TOOLS}.dkr.ecr.${REGION}.amazonaws.com/platform/app`,
      build_project: "platform-app-build",
      dind_project: "platform-app-dind",
    });
    expect(outputs.workload).toEqual({ task_role_arn: TASK_ROLE_ARN, image: `${TOOLS}.dkr.ecr.${REGION}.amazonaws.com/platform/app:main` });
  });

  test.each(STACKS)("a re-plan of %s finds no changes", async (stack) => {
    const plan = await replans[stack];
    if (!plan) throw new Error(`the re-plan of ${stack} did not start (see the beforeAll error)`);
    expect({ stack, code: plan.code, changes: plan.code === 0 ? [] : planChanges(plan.stdout), stderr: plan.stderr.trim() }).toEqual({
      stack,
      code: 0,
      changes: [],
      stderr: "",
    });
    expect(plan.stdout).toContain("No changes.");
  });

  test("the tools repository's policy names exactly the workload's task role", async () => {
    const got = await new ECRClient(inAccount(TOOLS)).send(new GetRepositoryPolicyCommand({ repositoryName: "platform/app" }));
    expect(JSON.parse(got.policyText ?? "").Statement).toEqual([
      { Sid: "CrossAccountEcrPull", Effect: "Allow", Principal: { AWS: TASK_ROLE_ARN }, Action: PULL_ACTIONS },
    ]);
  });

  test("the workload account has role app-task, whose inline policy allows pull on the tools repository's ARN", async () => {
    const iam = new IAMClient(inAccount(WORKLOAD));
    expect((await iam.send(new GetRoleCommand({ RoleName: "app-task" }))).Role?.Arn).toBe(TASK_ROLE_ARN);
    const { PolicyNames } = await iam.send(new ListRolePoliciesCommand({ RoleName: "app-task" }));
    expect(PolicyNames).toHaveLength(1);
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: "app-task", PolicyName: PolicyNames![0] }));
    expect(policyDocument(inline.PolicyDocument).Statement).toEqual([
      { Sid: "EcrAuthToken", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
      { Sid: "EcrPull", Effect: "Allow", Action: PULL_ACTIONS, Resource: [REPOSITORY_ARN] },
    ]);
  });

  test("the inline policy on platform-builder allows ssm:GetParameters on the parameter's ARN, one slash after parameter", async () => {
    // The parameter is created in the same stack, so its name is a token at synth: this is the
    // ARN Terraform worked out from it, compared with the one SSM reports.
    const parameter = awsCli(["ssm", "get-parameter", "--name", "/platform/app/build-config"], sessions[TOOLS] as Credentials).Parameter;
    expect(parameter).toMatchObject({ ARN: PARAMETER_ARN, Value: "cache=registry" });

    const iam = new IAMClient(inAccount(TOOLS));
    const { PolicyNames } = await iam.send(new ListRolePoliciesCommand({ RoleName: "platform-builder" }));
    expect(PolicyNames).toEqual([expect.stringMatching(/^cdktf-BuilderRole-/)]);
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: "platform-builder", PolicyName: PolicyNames![0] }));
    const ssm = policyDocument(inline.PolicyDocument).Statement.find((s: any) => s.Sid === "SsmParameters");
    expect(ssm).toEqual({ Sid: "SsmParameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [PARAMETER_ARN] });
  });

  test("the repository is in account 111111111111 and the task role in 222222222222, and neither is in the other account", async () => {
    const { repositories } = await new ECRClient(inAccount(TOOLS)).send(new DescribeRepositoriesCommand({ repositoryNames: ["platform/app"] }));
    expect(repositories?.map((r) => [accountOf(r.repositoryArn!), r.registryId])).toEqual([[TOOLS, TOOLS]]);
    const role = await new IAMClient(inAccount(WORKLOAD)).send(new GetRoleCommand({ RoleName: "app-task" }));
    expect(accountOf(role.Role!.Arn!)).toBe(WORKLOAD);

    await expect(new ECRClient(inAccount(WORKLOAD)).send(new DescribeRepositoriesCommand({ repositoryNames: ["platform/app"] }))).rejects.toMatchObject({
      name: "RepositoryNotFoundException",
    });
    await expect(new IAMClient(inAccount(TOOLS)).send(new GetRoleCommand({ RoleName: "app-task" }))).rejects.toMatchObject({ name: "NoSuchEntityException" });
  });
});

/** The images the build below tagged in the tests' shared container storage, untagged at the end. */
const pushed: string[] = [];

describe("as its team works with it: cdktf deploy of a changed project prop, then start-build of the deployed project", () => {
  test("cdktf deploy applies a changed imageTag in place (the local AWS serves UpdateProject), and CodeBuild holds the new value", async () => {
    // The re-plans above read the same folders: they end first.
    await Promise.allSettled(Object.values(replans));
    const source = path.join(example.appDir, "stacks", "tools-stack.ts");
    fs.writeFileSync(source, fs.readFileSync(source, "utf8").replace('imageTag: "main",', 'imageTag: "v2",'));
    progress(TAG, "cdktf deploy tools (imageTag main -> v2)");
    const deploy = await runCommand(CDKTF_CLI, ["deploy", "tools", "--auto-approve", "--skip-provider-lock", "--output", "cdktf.out"], { cwd: example.appDir, env: { ...tfEnv, CI: "1" }, timeoutMs: 600_000 });
    expect({ code: deploy.code, tail: deploy.code === 0 ? "" : plainText(deploy.stdout + deploy.stderr).split("\n").slice(-25).join("\n") }).toEqual({ code: 0, tail: "" });
    expect(plainText(deploy.stdout)).toMatch(/1 changed, 0 destroyed/);
    const [project] = awsCli(["codebuild", "batch-get-projects", "--names", "platform-app-build"], sessions[TOOLS]).projects;
    expect(project.environment.environmentVariables).toContainEqual({ name: "IMAGE_TAG", value: "v2", type: "PLAINTEXT" });
  });

  test("start-build of the deployed project (its GitHub source overridden by an S3 zip, this machine's base images) builds services/api and pushes v2 to the tools account's ECR", async () => {
    // GIVEN the team's layout as a zip in S3 of the tools account: services/api/ holds the Dockerfile and the app
    const src = path.join(workDir, "source");
    fs.cpSync(path.join(__dirname, "..", "..", "docker"), path.join(src, "services", "api"), { recursive: true });
    const zip = path.join(workDir, "source.zip");
    execFileSync("python3", ["-m", "zipfile", "-c", zip, "services"], { cwd: src });
    awsCli(["s3api", "create-bucket", "--bucket", "platform-app-sources", "--create-bucket-configuration", `LocationConstraint=${REGION}`], sessions[TOOLS]);
    awsCli(["s3api", "put-object", "--bucket", "platform-app-sources", "--key", "app.zip", "--body", zip], sessions[TOOLS]);

    // WHEN built as the local AWS's start line says
    const { build } = awsCli(
      [
        "codebuild", "start-build", "--project-name", "platform-app-build",
        "--source-type-override", "S3", "--source-location-override", "platform-app-sources/app.zip",
        "--environment-variables-override", "name=BUILDER_IMAGE,value=localhost/go-builder:bookworm,type=PLAINTEXT", "name=RUNTIME_IMAGE,value=scratch,type=PLAINTEXT",
      ],
      sessions[TOOLS],
    );
    let ended = build;
    for (let i = 0; i < 600 && !ended.buildComplete; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      [ended] = awsCli(["codebuild", "batch-get-builds", "--ids", build.id], sessions[TOOLS]).builds;
    }

    // THEN
    const failed = (ended.phases ?? []).filter((p: { phaseStatus?: string }) => p.phaseStatus !== undefined && p.phaseStatus !== "SUCCEEDED");
    expect({ status: ended.buildStatus, failed }).toEqual({ status: "SUCCEEDED", failed: [] });
    const images = awsCli(["ecr", "describe-images", "--repository-name", "platform/app"], sessions[TOOLS]).imageDetails;
    const v2 = images.find((i: { imageTags?: string[] }) => i.imageTags?.includes("v2"));
    expect(v2).toMatchObject({ registryId: TOOLS, repositoryName: "platform/app", imageDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    pushed.push(...(v2.imageTags as string[]).map((t) => `${TOOLS}.dkr.ecr.${REGION}.amazonaws.com/platform/app:${t}`));
  });
});
