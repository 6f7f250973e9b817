import { Testing } from "cdktf";
import { LOCAL_MAX_RETRIES, localProviderSettings, RegionalStack } from "../../../stacks";
import { explainLocalAwsFailure, CANNOT_UPDATE_PROJECT, isMissingUpdateProject } from "../../../scripts/local-aws/limits";
import { TerraformError } from "../../../scripts/terraform/run";
import { localEnvironment, prodEnvironment } from "../../support/environments";

/** What Terraform printed when moto was asked to update a project (measured: moto 5.2.1, hashicorp/aws 5.100.0). */
const UPDATE_PROJECT_500 = `
Error: updating CodeBuild Project (arn:aws:codebuild:eu-central-1:123456789012:project/codebuild-sample-dckr-push-ecr): operation error CodeBuild: UpdateProject, exceeded maximum number of attempts, 2, https response error StatusCode: 500, RequestID: , deserialization failed, failed to decode response body, invalid character '<' looking for beginning of value

  with aws_codebuild_project.PrivilegedProject_A4D2A8C6,
  on cdk.tf.json line 325, in resource.aws_codebuild_project.PrivilegedProject_A4D2A8C6:
 325:       }`;

const providerOf = (environment: any) => JSON.parse(Testing.synth(new RegionalStack(Testing.app(), { environment, region: environment.regions[0] }))).provider.aws[0];

describe("the local provider fails fast", () => {
  test("a local environment's provider retries a failed call at most twice (the provider's default, 25, hangs for 20+ minutes on an API moto lacks)", () => {
    expect(LOCAL_MAX_RETRIES).toBe(2);
    expect(localProviderSettings().maxRetries).toBe(2);
    expect(providerOf(localEnvironment()).max_retries).toBe(2);
  });

  test("a real environment keeps the provider's default retries", () => {
    expect(providerOf(prodEnvironment()).max_retries).toBeUndefined();
  });
});

describe("a failure that is a gap of the local AWS", () => {
  test("moto's HTTP 500 to UpdateProject becomes the plain message, with Terraform's text below it", () => {
    const failed = new TerraformError(`terraform apply failed in /x (exit 1):\n${UPDATE_PROJECT_500.trim()}`, { code: 1, stdout: "", stderr: UPDATE_PROJECT_500, seconds: 3 });
    const explained = explainLocalAwsFailure(failed) as Error;
    expect(explained.message.split("\n")[0]).toBe(`${CANNOT_UPDATE_PROJECT} (moto has no CodeBuild UpdateProject: HTTP 500)`);
    expect(CANNOT_UPDATE_PROJECT).toBe("the local AWS cannot update a CodeBuild project; restart it with npm start");
    expect(explained.message).toContain("terraform apply failed in /x (exit 1):\nError: updating CodeBuild Project");
  });

  test("any other failure is left as it is", () => {
    const other = new Error("terraform apply failed in /x (exit 1):\nError: creating ECR Repository: RepositoryAlreadyExistsException");
    expect(explainLocalAwsFailure(other)).toBe(other);
    expect(isMissingUpdateProject("CodeBuild: CreateProject, https response error StatusCode: 500")).toBe(false);
  });
});
