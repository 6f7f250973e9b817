import * as fs from "fs";
import * as path from "path";
import {
  CodeBuildDindProject,
  CodeBuildDindProjectProps,
  CodeBuildDockerProject,
  CodeBuildPrivilegedProject,
  EcrRepo,
} from "../modules";
import { messageOf, newStack, only, statement, synthJson } from "./support/synth";

const BUILDSPEC = fs.readFileSync(path.join(__dirname, "..", "buildspecs", "docker-dind.yml"), "utf8");
const SECRET = "arn:aws:secretsmanager:eu-central-1:111111111111:secret:dockerhub-AbCdEf";

function build(props: Partial<CodeBuildDindProjectProps> = {}) {
  const stack = newStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  const project = new CodeBuildDindProject(stack, "Dind", { projectName: "build-app-dind", repository: repo, ...props });
  const json = synthJson(stack);
  return { stack, project, json, cb: only(json, "aws_codebuild_project") };
}

function errorOf(props: Partial<CodeBuildDindProjectProps>): string {
  return messageOf(() => build(props));
}

describe("CodeBuildDindProject", () => {
  describe("defaults", () => {
    test("runs on docker:27.3.1-dind, pulled anonymously with CodeBuild credentials", () => {
      expect(build().cb.environment).toMatchObject({
        image: "docker:27.3.1-dind",
        image_pull_credentials_type: "CODEBUILD",
        type: "LINUX_CONTAINER",
      });
      expect(build().cb.environment.registry_credential).toBeUndefined();
    });

    test("privileged mode is on", () => {
      expect(build().cb.environment.privileged_mode).toBe(true);
    });

    test("the bundled docker-dind.yml buildspec is inlined", () => {
      expect(build().cb.source).toEqual({ type: "NO_SOURCE", buildspec: BUILDSPEC.split("${").join("$${") });
    });

    test("the sample variables are set like the privileged project's", () => {
      expect(build().cb.environment.environment_variable.map((v: any) => v.name)).toEqual([
        "AWS_DEFAULT_REGION",
        "AWS_ACCOUNT_ID",
        "IMAGE_TAG",
        "IMAGE_REPO_NAME",
      ]);
    });

    test("its role may read no secret", () => {
      const b = build();
      expect(() => statement(b.json, "Dind/Role/PolicyDocument", "Secrets")).toThrow("no statement Secrets");
    });
  });

  describe("props", () => {
    test("image selects another pinned image", () => {
      expect(build({ image: "registry.example.com:5000/mirror/docker:26.1.4-dind" }).cb.environment.image).toBe(
        "registry.example.com:5000/mirror/docker:26.1.4-dind",
      );
    });

    test("an image pinned by digest is accepted", () => {
      const image = `docker@sha256:${"a".repeat(64)}`;
      expect(build({ image }).cb.environment.image).toBe(image);
    });

    test("registryCredentialSecretArn switches pull credentials to SERVICE_ROLE and grants read on that secret", () => {
      const b = build({ registryCredentialSecretArn: SECRET });
      expect(b.cb.environment).toMatchObject({
        image_pull_credentials_type: "SERVICE_ROLE",
        registry_credential: { credential: SECRET, credential_provider: "SECRETS_MANAGER" },
      });
      expect(statement(b.json, "Dind/Role/PolicyDocument", "Secrets")).toMatchObject({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [SECRET],
      });
    });
  });

  describe("validation", () => {
    test.each([
      ["docker:dind"],
      ["docker:latest"],
      ["docker"],
      ["Docker:27-dind"],
    ])("image %s (not pinned to a version) is refused", (image) => {
      expect(errorOf({ image })).toBe(
        `CodeBuildDindProject 'Dind': image ${JSON.stringify(image)} must be an image reference pinned to a version tag or sha256 digest (not untagged, not a moving tag such as dind or latest), e.g. docker:27.3.1-dind`,
      );
    });

    test("a registry credential that is not a Secrets Manager ARN is refused", () => {
      expect(errorOf({ registryCredentialSecretArn: "dockerhub" })).toBe(
        `CodeBuildDindProject 'Dind': registryCredentialSecretArn "dockerhub" must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`,
      );
    });

    test("common props are validated too, in the same error", () => {
      expect(errorOf({ projectName: "x", image: "docker:dind" }).split("\n")).toEqual([
        `CodeBuildDindProject 'Dind': projectName "x" must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)`,
        `CodeBuildDindProject 'Dind': image "docker:dind" must be an image reference pinned to a version tag or sha256 digest (not untagged, not a moving tag such as dind or latest), e.g. docker:27.3.1-dind`,
      ]);
    });
  });

  test("shares its implementation with the privileged project", () => {
    const { project } = build();
    expect(project).toBeInstanceOf(CodeBuildDockerProject);
    expect(Object.getPrototypeOf(CodeBuildPrivilegedProject.prototype)).toBe(Object.getPrototypeOf(CodeBuildDindProject.prototype));
  });
});
