import { Testing } from "cdktf";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { EcrRepo } from "../../modules/ecr-repo";
import { CodeBuildPrivilegedProject } from "../../modules/codebuild-privileged-project";
import { EnvironmentVariableType } from "../../modules/codebuild-project/codebuild-docker-project";
import { AwsContext } from "../../modules/shared/aws-context";
import { newStack, ref, statement, synthJson } from "../support/synth";

/** The grants a project derives from its variables, shared by both project constructs. */
describe("CodeBuildDockerProject variable grants", () => {
  test("an SSM parameter whose name is a token gets one slash after parameter/ (a Terraform expression, not parameter//)", () => {
    // GIVEN a parameter created in the same stack, referenced by its name attribute
    const stack = newStack();
    const param = new SsmParameter(stack, "DbUrl", { name: "/platform/db-url", type: "SecureString", value: "postgres://db" });
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    // WHEN
    new CodeBuildPrivilegedProject(stack, "Build", {
      projectName: "build-app",
      repository: repo,
      environmentVariables: { DB_URL: { type: EnvironmentVariableType.PARAMETER_STORE, value: param.name } },
    });
    // THEN the policy names a local whose expression drops one leading "/"
    const json = synthJson(stack);
    const [arn] = statement(json, "Build/Role/PolicyDocument", "SsmParameters").resources;
    const local = /^\$\{local\.([\w]+)\}$/.exec(arn)?.[1] as string;
    const context = AwsContext.of(stack);
    const name = ref(stack, param.name).slice(2, -1);
    const prefix = `arn:${ref(stack, context.partition)}:ssm:${ref(stack, context.region)}:${ref(stack, context.accountId)}:parameter/`;
    expect((json as any).locals[local]).toBe(`\${startswith(${name}, "arn:") ? ${name} : "${prefix}\${trimprefix(${name}, "/")}"}`);
  });

  test("a literal parameter name keeps its single slash", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    new CodeBuildPrivilegedProject(stack, "Build", {
      projectName: "build-app",
      repository: repo,
      environmentVariables: { DB_URL: { type: EnvironmentVariableType.PARAMETER_STORE, value: "/platform/db-url" } },
    });
    const [arn] = statement(synthJson(stack), "Build/Role/PolicyDocument", "SsmParameters").resources;
    expect(arn).toMatch(/:parameter\/platform\/db-url$/);
  });

  test("a secret referenced by a token ARN is granted through a Terraform expression of the first seven ARN parts", () => {
    const stack = newStack();
    const secret = new SecretsmanagerSecret(stack, "Token", { name: "ci/token" });
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    new CodeBuildPrivilegedProject(stack, "Build", {
      projectName: "build-app",
      repository: repo,
      environmentVariables: { NPM_TOKEN: { type: EnvironmentVariableType.SECRETS_MANAGER, value: secret.arn } },
    });
    const json = synthJson(stack);
    const [arn] = statement(json, "Build/Role/PolicyDocument", "Secrets").resources;
    const local = /^\$\{local\.([\w]+)\}$/.exec(arn)?.[1] as string;
    const secretArn = ref(stack, secret.arn).slice(2, -1);
    expect((json as any).locals[local].startsWith(`\${startswith(${secretArn}, "arn:") ? join(":", slice(split(":", ${secretArn}), 0, 7)) : `)).toBe(true);
  });

  test("an imported repository (another account) is pushed to with its registry and name", () => {
    const stack = newStack();
    const repo = EcrRepo.fromRepositoryArn(stack, "Repo", "arn:aws:ecr:eu-central-1:111111111111:repository/team/app");
    new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo });
    const json = synthJson(stack);
    const vars = Object.values(json.resource.aws_codebuild_project)[0].environment.environment_variable;
    expect(vars.find((v: any) => v.name === "AWS_ACCOUNT_ID").value).toBe("111111111111");
    expect(vars.find((v: any) => v.name === "IMAGE_REPO_NAME").value).toBe("team/app");
    expect(statement(json, "Build/Role/PolicyDocument", "EcrPush").resources).toEqual(["arn:aws:ecr:eu-central-1:111111111111:repository/team/app"]);
    expect(Testing.synth(stack)).not.toContain("aws_ecr_repository_policy");
  });
});
