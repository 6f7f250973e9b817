import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import {
  CodeBuildDindProject,
  CodeBuildPrivilegedProject,
  CodeBuildServiceRole,
  EcrRepo,
  EnvironmentVariableType,
  ImportedRole,
  PolicyPack,
} from "codebuild-docker-modules";
import { ACCOUNTS, REGION, accountProvider } from "./accounts";

/** The repository both projects push to, and the workload's task role that pulls from it. */
export const APP_REPOSITORY = "platform/app";
export const TASK_ROLE_NAME = "app-task";

/**
 * The tools account: the image repository, a build on the CodeBuild managed image (GitHub source,
 * an existing build role of the account) and one on docker:dind (its own role), and the
 * cross-account pull grant to the workload's task role.
 */
export class ToolsStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    accountProvider(this, ACCOUNTS.tools);
    PolicyPack.applyTo(this);

    const repo = new EcrRepo(this, "AppRepo", { repositoryName: APP_REPOSITORY });

    // An existing repository of base images, managed by another team: imported, not created.
    const baseImages = EcrRepo.fromRepositoryName(this, "BaseImages", "platform/base-images");

    // An existing build role, created by the account's baseline; this app attaches its grants.
    const builderRole = CodeBuildServiceRole.fromRoleArn(this, "BuilderRole", `arn:aws:iam::${ACCOUNTS.tools}:role/platform-builder`);
    baseImages.grantPull(builderRole);

    // Build settings the team keeps in SSM, created here and read by name at build time.
    const buildConfig = new SsmParameter(this, "BuildConfig", {
      name: "/platform/app/build-config",
      type: "String",
      value: "cache=registry",
    });

    const build = new CodeBuildPrivilegedProject(this, "Build", {
      projectName: "platform-app-build",
      repository: repo,
      role: builderRole,
      source: { type: "GITHUB", location: "https://github.com/example-org/app.git", branch: "main" },
      dockerfile: "services/api/Dockerfile",
      buildContext: "services/api",
      imageTag: "main",
      environmentVariables: {
        BUILD_CONFIG: { type: EnvironmentVariableType.PARAMETER_STORE, value: buildConfig.name },
        BUILDER_IMAGE: { value: baseImages.repositoryUriForTag("golang-1.23") },
      },
    });

    const dind = new CodeBuildDindProject(this, "DindBuild", {
      projectName: "platform-app-dind",
      repository: repo,
      source: { type: "GITHUB", location: "https://github.com/example-org/app.git", branch: "main" },
      imageTag: "main-dind",
    });

    // The workload account's ECS task role pulls the image: the repository policy names that
    // role (not the whole account). The workload stack grants the role's own side.
    repo.grantPull(ImportedRole.fromRoleArn(this, "WorkloadTaskRole", `arn:aws:iam::${ACCOUNTS.workload}:role/${TASK_ROLE_NAME}`));

    new TerraformOutput(this, "repository_url", { value: repo.repositoryUrl, description: "Where the builds push the image" });
    new TerraformOutput(this, "repository_arn", { value: repo.repositoryArn, description: "The repository's ARN" });
    new TerraformOutput(this, "build_project", { value: build.projectName, description: "The build on the CodeBuild managed image" });
    new TerraformOutput(this, "dind_project", { value: dind.projectName, description: "The build on docker:dind" });
    new TerraformOutput(this, "region", { value: REGION, description: "The region of the repository" });
  }
}
