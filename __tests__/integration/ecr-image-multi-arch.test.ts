import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../support/app";

/**
 * The multi-arch steps of buildspecs/scripts/ecr-image.sh run in `sh` with an `aws` stand-in:
 * the batch ARN lookup, the per-architecture and manifest tags, and each refusal in one line.
 */

const ACCOUNT = "123456789012";

describe("ecr-image.sh's multi-arch steps (buildspecs/scripts/ecr-image.sh)", () => {
  const SCRIPT = path.join(ROOT, "buildspecs", "scripts", "ecr-image.sh");
  const BASE = { AWS_DEFAULT_REGION: "eu-central-1", AWS_ACCOUNT_ID: ACCOUNT, IMAGE_REPO_NAME: "team/app", CODEBUILD_RESOLVED_SOURCE_VERSION: "abcdef1234567" };

  /** Runs a step with an `aws` stand-in that prints `batchGetBuilds` for batch-get-builds (and logs every call). */
  function step(name: string, env: Record<string, string>, batchGetBuilds = "None") {
    const fake = tempDir("fake-aws");
    const calls = path.join(fake, "calls.log");
    fs.writeFileSync(path.join(fake, "aws"), `#!/bin/sh\necho "$*" >>${calls}\ncase "$*" in\n  "codebuild batch-get-builds --ids "*) echo ${JSON.stringify(batchGetBuilds)} ;;\n  *) exit 9 ;;\nesac\n`);
    fs.chmodSync(path.join(fake, "aws"), 0o755);
    const r = spawnSync("sh", [SCRIPT, name], { cwd: fake, encoding: "utf8", env: { PATH: `${fake}:${process.env.PATH}`, ...BASE, ...env } });
    return { ...r, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [] };
  }
  const BATCH = "arn:aws:codebuild:eu-central-1:123456789012:build-batch/build-app:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

  test("batch-arn prints nothing outside a batch build, without calling AWS", () => {
    const r = step("batch-arn", {});
    expect({ status: r.status, stdout: r.stdout, calls: r.calls }).toEqual({ status: 0, stdout: "", calls: [] });
  });

  test("batch-arn prints the batch build's ARN of the build, read with batch-get-builds of its own build ID", () => {
    const r = step("batch-arn", { CODEBUILD_BATCH_BUILD_IDENTIFIER: "build_arm64", CODEBUILD_BUILD_ID: "build-app:1234" }, BATCH);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: `${BATCH}\n` });
    expect(r.calls).toEqual(["codebuild batch-get-builds --ids build-app:1234 --query builds[0].buildBatchArn --output text"]);
  });

  test("batch-arn fails in one line when CodeBuild names no batch build", () => {
    const r = step("batch-arn", { CODEBUILD_BATCH_BUILD_IDENTIFIER: "manifest", CODEBUILD_BUILD_ID: "build-app:1234" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: build build-app:1234 is the batch build step manifest, but batch-get-builds names no batch build ARN ("None")\n');
  });

  test("an architecture's build of a batch tags <short commit>-<8 characters of the batch ID>-<arch>", () => {
    const r = step("check", { CODEBUILD_BATCH_BUILD_IDENTIFIER: "build_arm64", CODEBUILD_BUILD_ID: "build-app:1", TARGET_PLATFORM: "linux/arm64", BATCH_BUILD_ARN: BATCH, DOCKERFILE: SCRIPT, DOCKER_BUILD_CONTEXT: "/" });
    expect(r.stdout).toContain(`building ${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com/team/app for linux/arm64 with the tag abcdef1-0f1e2d3c-arm64, from ${SCRIPT} in the context /`);
    expect(r.calls).toEqual([]); // BATCH_BUILD_ARN was given: no lookup
  });

  test("the manifest build of the same batch names the same tag", () => {
    const r = step("check", { CODEBUILD_BATCH_BUILD_IDENTIFIER: "manifest", CODEBUILD_BUILD_ID: "build-app:2", MANIFEST_PLATFORMS: "linux/amd64 linux/arm64", DOCKERFILE: SCRIPT, DOCKER_BUILD_CONTEXT: "/" }, BATCH);
    expect(r.stdout).toContain(`pushing the manifest list ${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com/team/app:abcdef1-0f1e2d3c of linux/amd64 linux/arm64`);
    expect(r.calls).toHaveLength(1); // BATCH_BUILD_ARN not given: looked up
  });

  test.each<[string, Record<string, string>, string]>([
    ["an unknown TARGET_PLATFORM", { TARGET_PLATFORM: "linux/386" }, `error: TARGET_PLATFORM "linux/386" must be linux/amd64 or linux/arm64 (the platforms of CodeBuild's LINUX_CONTAINER and ARM_CONTAINER)`],
    [
      "both TARGET_PLATFORM and MANIFEST_PLATFORMS",
      { TARGET_PLATFORM: "linux/amd64", MANIFEST_PLATFORMS: "linux/amd64 linux/arm64" },
      `error: TARGET_PLATFORM "linux/amd64" and MANIFEST_PLATFORMS "linux/amd64 linux/arm64" are both set: a build of the multi-arch graph builds one platform or the manifest list, not both`,
    ],
  ])("%s fails the step in one line", (_name, env, line) => {
    const r = step("check", { ...env, DOCKERFILE: SCRIPT, DOCKER_BUILD_CONTEXT: "/" });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: `${line}\n` });
  });

  test.each<[string, string, string]>([
    ["one platform", "linux/amd64", `error: MANIFEST_PLATFORMS "linux/amd64" must name at least two platforms (a manifest list of one image is that image)`],
    ["a platform twice", "linux/arm64,linux/arm64", `error: MANIFEST_PLATFORMS "linux/arm64 linux/arm64" names linux/arm64 twice`],
    ["an unknown platform", "linux/amd64 windows/amd64", `error: MANIFEST_PLATFORMS "windows/amd64" must be linux/amd64 or linux/arm64 (the platforms of CodeBuild's LINUX_CONTAINER and ARM_CONTAINER)`],
  ])("the manifest step refuses %s before any docker call", (_name, platforms, line) => {
    const r = step("manifest", { MANIFEST_PLATFORMS: platforms });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: `${line}\n` });
  });

  test("the manifest step with PUSH_IMAGE=false pushes nothing and writes an empty imagedefinitions.json", () => {
    const r = step("manifest", { MANIFEST_PLATFORMS: "linux/amd64 linux/arm64", PUSH_IMAGE: "false" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("PUSH_IMAGE=false: no architecture's image was pushed, so there is no manifest list to push");
  });
});
