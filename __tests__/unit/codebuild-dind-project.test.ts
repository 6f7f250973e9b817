import {
  CodeBuildDindProject,
  CodeBuildDindProjectProps,
  CodeBuildDockerProject,
  CodeBuildPrivilegedProject,
  EcrRepo,
} from "../../modules";
import { messageOf, newStack, only, statement, synthJson } from "../support/synth";
import { expectedInlined, terraformEscaped } from "../support/buildspecs";

/** docker-dind.yml with scripts/ecr-image.sh embedded, as the project inlines it. */
const BUILDSPEC = expectedInlined("docker-dind.yml");
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

function envVar(b: ReturnType<typeof build>, name: string): any {
  return b.cb.environment.environment_variable.find((v: any) => v.name === name);
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

    test("the bundled docker-dind.yml buildspec is inlined, ecr-image.sh embedded in it", () => {
      expect(build().cb.source).toEqual({ type: "NO_SOURCE", buildspec: terraformEscaped(BUILDSPEC) });
    });

    test("the sample variables, DOCKERFILE and DOCKER_BUILD_CONTEXT are set like the privileged project's (no IMAGE_TAG by default)", () => {
      expect(build().cb.environment.environment_variable.map((v: any) => v.name)).toEqual([
        "AWS_DEFAULT_REGION",
        "AWS_ACCOUNT_ID",
        "IMAGE_REPO_NAME",
        "DOCKERFILE",
        "DOCKER_BUILD_CONTEXT",
      ]);
    });

    test("the build reads the Dockerfile at the source root (DOCKERFILE is Dockerfile)", () => {
      expect(envVar(build(), "DOCKERFILE")).toEqual({ name: "DOCKERFILE", value: "Dockerfile", type: "PLAINTEXT" });
    });

    test("the build context is the source root (DOCKER_BUILD_CONTEXT is .)", () => {
      expect(envVar(build(), "DOCKER_BUILD_CONTEXT")).toEqual({ name: "DOCKER_BUILD_CONTEXT", value: ".", type: "PLAINTEXT" });
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

    test("dockerfile sets DOCKERFILE and buildContext sets DOCKER_BUILD_CONTEXT", () => {
      const b = build({ dockerfile: "ci/Dockerfile", buildContext: "app" });
      expect(envVar(b, "DOCKERFILE")).toEqual({ name: "DOCKERFILE", value: "ci/Dockerfile", type: "PLAINTEXT" });
      expect(envVar(b, "DOCKER_BUILD_CONTEXT")).toEqual({ name: "DOCKER_BUILD_CONTEXT", value: "app", type: "PLAINTEXT" });
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

    test.each([
      ["an empty dockerfile", { dockerfile: "" }, `dockerfile "" must be a path relative to the source root, not empty`],
      ["an absolute dockerfile", { dockerfile: "/Dockerfile" }, `dockerfile "/Dockerfile" must be a path relative to the source root, not absolute`],
      ["a dockerfile outside the source", { dockerfile: "../Dockerfile" }, `dockerfile "../Dockerfile" must be a path relative to the source root, without ".." segments (the build sees only its source)`],
      ["a dockerfile read as an option", { dockerfile: "-f" }, `dockerfile "-f" must be a path relative to the source root, not starting with "-" (docker would read it as an option)`],
      ["an empty buildContext", { buildContext: "" }, `buildContext "" must be a path relative to the source root, not empty`],
      ["a buildContext on a drive", { buildContext: "C:/src" }, `buildContext "C:/src" must be a path relative to the source root, not absolute`],
      ["a buildContext outside the source", { buildContext: "app/.." }, `buildContext "app/.." must be a path relative to the source root, without ".." segments (the build sees only its source)`],
      ["a buildContext read as an option", { buildContext: "-" }, `buildContext "-" must be a path relative to the source root, not starting with "-" (docker would read it as an option)`],
      ["a DOCKERFILE variable", { environmentVariables: { DOCKERFILE: { value: "x" } } }, `environmentVariables name "DOCKERFILE" is set by the construct (use the dockerfile prop)`],
      ["a DOCKER_BUILD_CONTEXT variable", { environmentVariables: { DOCKER_BUILD_CONTEXT: { value: "x" } } }, `environmentVariables name "DOCKER_BUILD_CONTEXT" is set by the construct (use the buildContext prop)`],
      [
        "a DOCKER_CONTEXT variable",
        { environmentVariables: { DOCKER_CONTEXT: { value: "app" } } },
        `environmentVariables name "DOCKER_CONTEXT" is read by the docker CLI as the name of a Docker context, so docker login, build and push would fail with "context not found" (the build context is the buildContext prop)`,
      ],
    ])("%s is refused with a clear message", (_what, props, message) => {
      expect(errorOf(props)).toBe(`CodeBuildDindProject 'Dind': ${message}`);
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
