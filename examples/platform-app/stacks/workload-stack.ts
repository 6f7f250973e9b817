import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { EcrRepo, ImportedRole, PolicyPack } from "codebuild-docker-modules";
import { ACCOUNTS, REGION, accountProvider } from "./accounts";
import { APP_REPOSITORY, TASK_ROLE_NAME } from "./tools-stack";

/**
 * The workload account: the application's ECS task role, allowed to pull the image from the
 * tools account's repository (referenced by its ARN, so this stack reads no other state).
 */
export class WorkloadStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    accountProvider(this, ACCOUNTS.workload);
    PolicyPack.applyTo(this);

    const taskRole = new IamRole(this, "TaskRole", {
      name: TASK_ROLE_NAME,
      description: "ECS task role of the app",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "EcsTasksAssumeRole",
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": ACCOUNTS.workload } },
          },
        ],
      }),
    });

    const repo = EcrRepo.fromRepositoryArn(this, "AppRepo", `arn:aws:ecr:${REGION}:${ACCOUNTS.tools}:repository/${APP_REPOSITORY}`);
    repo.grantPull(ImportedRole.fromIamRole(this, "TaskRoleGrants", taskRole));

    new TerraformOutput(this, "task_role_arn", { value: taskRole.arn, description: "The ECS task role that pulls the image" });
    new TerraformOutput(this, "image", { value: repo.repositoryUriForTag("main"), description: "The image the service runs" });
  }
}
