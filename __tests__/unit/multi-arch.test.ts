import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { parse } from "yaml";
import { BuildSpec, CodeBuildPrivilegedProject, CodeBuildPrivilegedProjectProps, CodeBuildServiceRole, EcrRepo, MultiArchOptions } from "../../modules";
import { CODEBUILD_BATCH_ACTIONS } from "../../modules/shared/iam";
import { renderBatchSection } from "../../modules/codebuild-privileged-project/multi-arch";
import { buildspecFile, terraformUnescaped } from "../support/buildspecs";
import { AwsContext } from "../../modules/shared/aws-context";
import { messageOf, only, ref, resources, statementsOf, Synthesized } from "../support/synth";

/**
 * Multi-arch images (the construct half): CodeBuildPrivilegedProject's
 * multiArch makes the project a batch build project whose build graph builds each platform on
 * its own architecture and then pushes the manifest list. moto has no batch builds, so these,
 * `terraform validate` (integration/terraform/validate.test.ts) and the local run of the batch
 * buildspec (e2e/build-runner/buildspecs-multiarch-run.test.ts) cover it.
 */

const ACCOUNT = "123456789012";
const BOTH: MultiArchOptions = { platforms: ["linux/amd64", "linux/arm64"] };
const CONNECTION = `arn:aws:codeconnections:eu-central-1:${ACCOUNT}:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d`;

interface Built {
  stack: TerraformStack;
  project: CodeBuildPrivilegedProject;
  json: Synthesized;
}

/** A stack whose provider pins the account: ARNs come out literal. */
function pinnedStack(): TerraformStack {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-central-1", allowedAccountIds: [ACCOUNT] });
  return stack;
}

/** The project's ARN as the stack writes it (the account and partition are Terraform expressions). */
const projectArnOf = (stack: TerraformStack): string => ref(stack, AwsContext.of(stack).arn("codebuild", "project/build-app"));

function build(props: Partial<CodeBuildPrivilegedProjectProps> = {}): Built {
  const stack = pinnedStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, multiArch: BOTH, ...props });
  return { stack, project, json: JSON.parse(Testing.synth(stack, true)) };
}

function errorOf(props: Partial<CodeBuildPrivilegedProjectProps>): string {
  const stack = pinnedStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  return messageOf(() => new CodeBuildPrivilegedProject(stack, "build", { projectName: "build-app", repository: repo, ...props }));
}

const projectOf = (b: Built) => resources(b.json, "aws_codebuild_project").find((p) => p.name === "build-app");
const buildspecOf = (b: Built) => terraformUnescaped(projectOf(b).source.buildspec);
const graphOf = (b: Built) => parse(buildspecOf(b)).batch["build-graph"];

describe("CodeBuildPrivilegedProject multiArch: the batch build project", () => {
  test("without multiArch the project has no batch configuration and the single-image buildspec", () => {
    const b = build({ multiArch: undefined });
    expect(projectOf(b).build_batch_config).toBeUndefined();
    expect(buildspecOf(b)).not.toMatch(/^batch:/m);
    expect(b.project.batchRole).toBeUndefined();
  });

  test("build_batch_config: the batch role, a timeout, at most the graph's builds, only the project's compute type", () => {
    const b = build();
    expect(projectOf(b).build_batch_config).toEqual({
      service_role: ref(b.stack, b.project.batchRole!.roleArn),
      combine_artifacts: false,
      timeout_in_mins: 120,
      restrictions: { maximum_builds_allowed: 3, compute_types_allowed: ["BUILD_GENERAL1_SMALL"] },
    });
  });

  test("the defaults follow the props: timeout buildTimeoutMinutes + 60 (at most 2160), the compute type allowed is computeType", () => {
    expect(projectOf(build({ buildTimeoutMinutes: 30, computeType: "BUILD_GENERAL1_LARGE" })).build_batch_config).toMatchObject({
      timeout_in_mins: 90,
      restrictions: { compute_types_allowed: ["BUILD_GENERAL1_LARGE"] },
    });
    expect(projectOf(build({ buildTimeoutMinutes: 2160 })).build_batch_config.timeout_in_mins).toBe(2160);
  });

  test("maximumBuildsAllowed and timeoutMinutes map to the restrictions and the batch timeout", () => {
    const b = build({ multiArch: { ...BOTH, maximumBuildsAllowed: 6, timeoutMinutes: 45 } });
    expect(projectOf(b).build_batch_config).toMatchObject({ timeout_in_mins: 45, restrictions: { maximum_builds_allowed: 6 } });
  });

  test("the batch role is a role of its own: StartBuild, StopBuild and RetryBuild on exactly this project, nothing else", () => {
    const b = build();
    expect(b.project.batchRole).not.toBe(b.project.role);
    expect(statementsOf(b.json, "Build/BatchRole/PolicyDocument")).toEqual([
      { sid: "BatchBuilds", effect: "Allow", actions: [...CODEBUILD_BATCH_ACTIONS].sort(), resources: [projectArnOf(b.stack)] },
    ]);
    expect(projectArnOf(b.stack)).toMatch(/^arn:\$\{data\.aws_partition\.[\w]+\.partition\}:codebuild:\$\{data\.aws_region\.\w+\.name\}:\$\{data\.aws_caller_identity\.\w+\.account_id\}:project\/build-app$/);
    expect([...CODEBUILD_BATCH_ACTIONS].sort()).toEqual(["codebuild:RetryBuild", "codebuild:StartBuild", "codebuild:StopBuild"]);
  });

  test("the batch role is trusted by CodeBuild for this project only (aws:SourceAccount, aws:SourceArn)", () => {
    const b = build();
    expect(statementsOf(b.json, "Build/BatchRole/TrustPolicy")).toEqual([
      {
        sid: "CodeBuildAssumeRole",
        effect: "Allow",
        actions: ["sts:AssumeRole"],
        principals: [{ type: "Service", identifiers: ["codebuild.amazonaws.com"] }],
        condition: [
          { test: "StringEquals", variable: "aws:SourceAccount", values: [ref(b.stack, AwsContext.of(b.stack).accountId)] },
          { test: "ArnLike", variable: "aws:SourceArn", values: [projectArnOf(b.stack)] },
        ],
      },
    ]);
  });

  test("the build role may read its own project's builds (to find its batch), and cannot start, stop or retry builds", () => {
    const b = build();
    const statements = statementsOf(b.json, "Build/Role/PolicyDocument");
    expect(statements.find((s) => s.sid === "ReadOwnBuilds")).toEqual({ sid: "ReadOwnBuilds", effect: "Allow", actions: ["codebuild:BatchGetBuilds"], resources: [projectArnOf(b.stack)] });
    const actions = statements.flatMap((s) => s.actions);
    for (const a of CODEBUILD_BATCH_ACTIONS) expect(actions).not.toContain(a);
  });

  test("a given batchRole gets the batch statement and no role is created for it", () => {
    const stack = pinnedStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const batchRole = new CodeBuildServiceRole(stack, "MyBatchRole", { projectName: "build-app" });
    const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, multiArch: { ...BOTH, batchRole } });
    const json = JSON.parse(Testing.synth(stack, true));
    expect(project.batchRole).toBe(batchRole);
    expect(statementsOf(json, "MyBatchRole/PolicyDocument")).toEqual([
      { sid: "BatchBuilds", effect: "Allow", actions: [...CODEBUILD_BATCH_ACTIONS].sort(), resources: [projectArnOf(stack)] },
    ]);
    expect(resources(json, "aws_iam_role")).toHaveLength(2); // the build role and MyBatchRole
  });

  test("with triggers, the push webhook starts batch builds; the pull request project builds one image, without batch", () => {
    const b = build({ source: { type: "GITHUB", location: "https://github.com/example/app.git", connectionArn: CONNECTION }, triggers: {} });
    const hooks = resources(b.json, "aws_codebuild_webhook");
    expect(hooks.find((w) => w.project_name === ref(b.stack, b.project.projectName)).build_type).toBe("BUILD_BATCH");
    expect(hooks.find((w) => w.project_name === ref(b.stack, b.project.pullRequestProject!.name)).build_type).toBe("BUILD");
    const pr = resources(b.json, "aws_codebuild_project").find((p) => p.name === "build-app-pr");
    expect(pr.build_batch_config).toBeUndefined();
  });
});

describe("CodeBuildPrivilegedProject multiArch: the batch buildspec", () => {
  test("the default platforms write exactly the batch section of buildspecs/docker-push-ecr-multiarch.yml (the file and the construct agree)", () => {
    expect(buildspecOf(build())).toBe(BuildSpec.bundled("docker-push-ecr-multiarch.yml").value);
    expect(buildspecFile("docker-push-ecr-multiarch.yml")).toContain(renderBatchSection(BOTH));
  });

  test("the build graph: one privileged build per platform on its own container type and image, then the manifest build depending on them all", () => {
    expect(graphOf(build())).toEqual([
      {
        identifier: "build_amd64",
        env: { type: "LINUX_CONTAINER", image: "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "privileged-mode": true, variables: { TARGET_PLATFORM: "linux/amd64" } },
      },
      {
        identifier: "build_arm64",
        env: { type: "ARM_CONTAINER", image: "aws/codebuild/amazonlinux2-aarch64-standard:3.0", "privileged-mode": true, variables: { TARGET_PLATFORM: "linux/arm64" } },
      },
      {
        identifier: "manifest",
        "depend-on": ["build_amd64", "build_arm64"],
        env: { type: "LINUX_CONTAINER", image: "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "privileged-mode": true, variables: { MANIFEST_PLATFORMS: "linux/amd64 linux/arm64" } },
      },
    ]);
    expect(parse(buildspecOf(build())).batch["fast-fail"]).toBe(true);
  });

  test("images replace the default image of their platform; the manifest build runs on the linux/amd64 image; order follows the platforms, not the prop", () => {
    const images = { "linux/amd64": "aws/codebuild/standard:7.0-x86_64", "linux/arm64": "aws/codebuild/amazonlinux2-aarch64-standard:2.0" };
    const graph = graphOf(build({ multiArch: { platforms: ["linux/arm64", "linux/amd64"], images } }));
    expect(graph.map((n: any) => [n.identifier, n.env.image])).toEqual([
      ["build_amd64", images["linux/amd64"]],
      ["build_arm64", images["linux/arm64"]],
      ["manifest", images["linux/amd64"]],
    ]);
  });

  test("the phases are those of the bundled file: ecr-image.sh embedded, the batch ARN looked up once, build or manifest per build", () => {
    const spec = parse(buildspecOf(build()));
    expect(spec.phases.install.commands[1]).toBe('BATCH_BUILD_ARN="$(sh "$ECR_IMAGE_SH" batch-arn)" && export BATCH_BUILD_ARN');
    expect(spec.phases.post_build.commands).toEqual([
      'if [ -z "${MANIFEST_PLATFORMS:-}" ]; then sh "$ECR_IMAGE_SH" push && sh "$ECR_IMAGE_SH" scan-gate; else sh "$ECR_IMAGE_SH" manifest; fi',
    ]);
  });

  test("a buildSpec of its own with a batch section is used as it is", () => {
    const own = BuildSpec.fromInline("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\nphases:\n  build:\n    commands:\n      - echo hi\n");
    expect(buildspecOf(build({ buildSpec: own }))).toBe(own.value);
  });
});

describe("CodeBuildPrivilegedProject multiArch: each bad input is one line", () => {
  test.each<[string, MultiArchOptions, string]>([
    ["one platform", { platforms: ["linux/amd64"] }, `CodeBuildPrivilegedProject 'build': multiArch.platforms ["linux/amd64"] must name at least two distinct platforms (a manifest list of one image is that image: leave multiArch out)`],
    [
      "an unknown platform",
      { platforms: ["linux/amd64", "linux/s390x" as never] },
      `CodeBuildPrivilegedProject 'build': multiArch.platforms[1] "linux/s390x" must be one of linux/amd64, linux/arm64 (CodeBuild's LINUX_CONTAINER and ARM_CONTAINER)`,
    ],
    ["a platform twice", { platforms: ["linux/arm64", "linux/arm64"] }, `CodeBuildPrivilegedProject 'build': multiArch.platforms[1] "linux/arm64" is listed twice (each platform is built once)`],
    [
      "an image of the wrong architecture",
      { ...BOTH, images: { "linux/arm64": "aws/codebuild/amazonlinux2-x86_64-standard:5.0" } },
      `CodeBuildPrivilegedProject 'build': multiArch.images.linux/arm64 "aws/codebuild/amazonlinux2-x86_64-standard:5.0" must be an aarch64 image (the ARM_CONTAINER of linux/arm64 runs aarch64)`,
    ],
    [
      "an image that is not a managed image",
      { ...BOTH, images: { "linux/amd64": "docker:27-x86_64" } },
      `CodeBuildPrivilegedProject 'build': multiArch.images.linux/amd64 "docker:27-x86_64" must be a CodeBuild managed image (aws/codebuild/<name>:<version>)`,
    ],
    [
      "fewer builds allowed than the graph has",
      { ...BOTH, maximumBuildsAllowed: 2 },
      `CodeBuildPrivilegedProject 'build': multiArch.maximumBuildsAllowed 2 must be a whole number from 3 to 100 builds (one per platform and the manifest build: at least 3; CodeBuild allows at most 100)`,
    ],
    ["a batch timeout out of range", { ...BOTH, timeoutMinutes: 3000 }, `CodeBuildPrivilegedProject 'build': multiArch.timeoutMinutes 3000 must be a whole number from 5 to 2160 minutes`],
  ])("%s", (_name, multiArch, line) => {
    const message = errorOf({ multiArch });
    expect(message.split("\n")).toContain(line);
  });

  test("a buildSpec without a batch section", () => {
    expect(errorOf({ multiArch: BOTH, buildSpec: BuildSpec.fromInline("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n") }).split("\n")).toContain(
      `CodeBuildPrivilegedProject 'build': buildSpec "with multiArch" must have a batch: section with a build-graph (a multi-arch project runs batch builds); leave buildSpec out for the bundled one`,
    );
  });

  test("TARGET_PLATFORM and MANIFEST_PLATFORMS are the graph's, not environmentVariables", () => {
    const lines = errorOf({ multiArch: BOTH, environmentVariables: { TARGET_PLATFORM: { value: "linux/amd64" }, MANIFEST_PLATFORMS: { value: "x" } } }).split("\n");
    expect(lines).toContain(`CodeBuildPrivilegedProject 'build': environmentVariables name "TARGET_PLATFORM" is set by the batch build graph of multiArch (per build)`);
    expect(lines).toContain(`CodeBuildPrivilegedProject 'build': environmentVariables name "MANIFEST_PLATFORMS" is set by the batch build graph of multiArch (per build)`);
  });

  test("every problem at once, one line each", () => {
    const lines = errorOf({ multiArch: { platforms: ["linux/amd64"], timeoutMinutes: 1 } }).split("\n").filter((l) => l.startsWith("CodeBuildPrivilegedProject"));
    expect(lines).toHaveLength(2);
  });
});

test("the project's batch resources are the only thing multiArch adds (one more role and its policy)", () => {
  const without = build({ multiArch: undefined }).json;
  const withBatch = build().json;
  expect(resources(withBatch, "aws_iam_role")).toHaveLength(resources(without, "aws_iam_role").length + 1);
  expect(resources(withBatch, "aws_codebuild_project")).toHaveLength(1);
  expect(only(withBatch, "aws_codebuild_project").environment.privileged_mode).toBe(true);
});
