import * as fs from "fs";
import * as path from "path";
import { Testing } from "cdktf";
import { DEFAULT_LOCAL_ENDPOINT, LOCAL_AWS_CONFIG_FILE, LOCAL_AWS_PROFILE, RegionalStack, stackName, stateKey } from "../../stacks";
import { localEnvironment, prodEnvironment, singleAccountLocal } from "../support/environments";
import { resources, Synthesized } from "../support/synth";
import type { EnvironmentConfig } from "../../config/environments";

function synth(environment: EnvironmentConfig, region = environment.regions[0]): { stack: RegionalStack; json: Synthesized } {
  const stack = new RegionalStack(Testing.app(), { environment, region });
  return { stack, json: JSON.parse(Testing.synth(stack, true)) };
}

/** The shipped `local` environment without replication: every region builds, as a single account. */
function singleAccountLocalEnvironment(): EnvironmentConfig {
  return { ...singleAccountLocal(), name: "local" };
}

describe("RegionalStack", () => {
  test("is named <environment>-<region>", () => {
    expect(synth(localEnvironment(), "us-east-1").stack.node.id).toBe("local-us-east-1");
    expect(stackName("prod", "eu-west-1")).toBe("prod-eu-west-1");
  });

  describe("provider", () => {
    test("targets the stack's region with the environment's tags as default tags", () => {
      const { json } = synth(prodEnvironment(), "us-west-2");
      const [aws] = json.provider!.aws;
      expect(aws.region).toBe("us-west-2");
      expect(aws.default_tags).toEqual([
        { tags: { CostCenter: "42", Environment: "prod", ManagedBy: "cdktf", Stack: "prod-us-west-2" } },
      ]);
    });

    test("a real environment is locked to its account and assumes its deploy role", () => {
      const [aws] = synth(prodEnvironment()).json.provider!.aws;
      expect(aws.allowed_account_ids).toEqual(["111111111111"]);
      expect(aws.assume_role).toEqual([{ role_arn: "arn:aws:iam::111111111111:role/deployer", session_name: "cdktf-codebuild-docker" }]);
    });

    test("a local environment is locked to its account too, and assumes no role in moto's default account", () => {
      const [aws] = synth(localEnvironment()).json.provider!.aws;
      expect(aws.allowed_account_ids).toEqual(["123456789012"]);
      expect(aws.assume_role).toBeUndefined();
    });
  });

  describe("local environment settings", () => {
    const endpoint = "http://127.0.0.1:4567";
    const localSynth = () => {
      const stack = new RegionalStack(Testing.app(), { environment: localEnvironment(), region: "eu-central-1", localEndpoint: endpoint });
      return JSON.parse(Testing.synth(stack, true)) as Synthesized;
    };

    test("the local provider takes endpoint and credentials from the profile synthesized beside it, path-style, without real-AWS checks but asking the account", () => {
      const [aws] = localSynth().provider!.aws;
      expect(aws).toMatchObject({
        profile: LOCAL_AWS_PROFILE,
        shared_config_files: [LOCAL_AWS_CONFIG_FILE],
        shared_credentials_files: [LOCAL_AWS_CONFIG_FILE],
        s3_use_path_style: true,
        skip_credentials_validation: true,
        skip_metadata_api_check: "true",
        skip_region_validation: true,
      });
      // No endpoints block: the provider validates it on every plan (~2.4 CPU-s each time).
      expect(aws.endpoints).toBeUndefined();
      // The account is requested from the local STS, so allowed_account_ids is enforced.
      expect(aws.skip_requesting_account_id).toBeUndefined();
    });

    test("the synth writes the profile (endpoint, test credentials) into the stack's folder, relative to where terraform runs", () => {
      const app = Testing.app();
      const stack = new RegionalStack(app, { environment: localEnvironment(), region: "eu-central-1", localEndpoint: endpoint });
      const dir = Testing.fullSynth(stack);
      const file = path.join(dir, "stacks", stack.node.id, LOCAL_AWS_CONFIG_FILE);
      expect(fs.readFileSync(file, "utf8").split("\n").slice(1)).toEqual([
        `[profile ${LOCAL_AWS_PROFILE}]`,
        `endpoint_url = ${endpoint}`,
        "aws_access_key_id = test",
        "aws_secret_access_key = test",
        "",
      ]);
    });

    test("a real environment's synth writes no profile file", () => {
      const stack = new RegionalStack(Testing.app(), { environment: prodEnvironment(), region: "us-west-2" });
      const dir = Testing.fullSynth(stack);
      expect(fs.readdirSync(path.join(dir, "stacks", stack.node.id))).toEqual(["cdk.tf.json"]);
    });

    test("the local backend uses the local endpoint too", () => {
      expect(localSynth().terraform!.backend.s3).toMatchObject({
        endpoints: { s3: endpoint, dynamodb: endpoint, iam: endpoint, sts: endpoint },
        use_path_style: true,
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
      });
    });

    test("the endpoint defaults to moto's default port", () => {
      const stack = new RegionalStack(Testing.app(), { environment: localEnvironment(), region: "eu-central-1" });
      const ini = fs.readFileSync(path.join(Testing.fullSynth(stack), "stacks", stack.node.id, LOCAL_AWS_CONFIG_FILE), "utf8");
      expect(ini).toContain(`endpoint_url = ${DEFAULT_LOCAL_ENDPOINT}\n`);
      expect(synth(localEnvironment()).json.terraform!.backend.s3.endpoints.s3).toBe(DEFAULT_LOCAL_ENDPOINT);
    });

    test("a real environment gets none of the local settings", () => {
      const { json } = synth(prodEnvironment());
      const [aws] = json.provider!.aws;
      for (const key of ["endpoints", "profile", "shared_config_files", "shared_credentials_files", "s3_use_path_style", "skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check", "skip_region_validation"]) {
        expect(aws[key]).toBeUndefined();
        expect(json.terraform!.backend.s3[key]).toBeUndefined();
      }
      expect(json.terraform!.backend.s3.use_path_style).toBeUndefined();
    });
  });

  describe("state backend", () => {
    test("is S3, encrypted, with native locking, keyed <env>/<region>/terraform.tfstate", () => {
      expect(synth(prodEnvironment(), "us-west-2").json.terraform!.backend.s3).toMatchObject({
        bucket: "acme-tfstate",
        key: "platform/prod/us-west-2/terraform.tfstate",
        encrypt: true,
        use_lockfile: true,
      });
      expect(synth(localEnvironment(), "us-east-1").json.terraform!.backend.s3).toMatchObject({
        bucket: "codebuild-docker-tfstate-local",
        key: "local/us-east-1/terraform.tfstate",
        region: "eu-central-1",
        encrypt: true,
        use_lockfile: true,
      });
    });

    test("takes a key prefix, a DynamoDB lock table, a KMS key and a state role", () => {
      expect(synth(prodEnvironment(), "eu-west-1").json.terraform!.backend.s3).toEqual({
        bucket: "acme-tfstate",
        key: "platform/prod/eu-west-1/terraform.tfstate",
        region: "eu-central-1",
        encrypt: true,
        use_lockfile: true,
        dynamodb_table: "tf-locks",
        kms_key_id: "arn:aws:kms:eu-central-1:999999999999:key/abcd",
        assume_role: { role_arn: "arn:aws:iam::999999999999:role/state-access", session_name: "cdktf-state" },
      });
    });

    test("defaults the state region to the environment's first region", () => {
      const env = { ...localEnvironment(), state: { bucket: "b-tfstate" } };
      expect(synth(env, "us-east-1").json.terraform!.backend.s3.region).toBe("eu-central-1");
      expect(stateKey(env, "us-east-1")).toBe("local/us-east-1/terraform.tfstate");
    });
  });

  describe("resources", () => {
    test("one repository, two projects, two roles, two log groups", () => {
      const { json } = synth(localEnvironment());
      expect(resources(json, "aws_ecr_repository")).toHaveLength(1);
      expect(resources(json, "aws_codebuild_project")).toHaveLength(2);
      expect(resources(json, "aws_iam_role")).toHaveLength(2);
      expect(resources(json, "aws_cloudwatch_log_group")).toHaveLength(2);
    });

    test("the shipped local environment's us-east-1 holds a replica of the repository and builds nothing", () => {
      const { json } = synth(localEnvironment(), "us-east-1");
      expect(resources(json, "aws_ecr_repository")).toHaveLength(1);
      expect(resources(json, "aws_codebuild_project")).toHaveLength(0);
      expect(resources(json, "aws_iam_role")).toHaveLength(0);
      expect(resources(json, "aws_cloudwatch_log_group")).toHaveLength(0);
      expect(resources(json, "aws_ecr_replication_configuration")).toHaveLength(0);
    });

    test("a single-account local environment builds in every region", () => {
      const { json } = synth(singleAccountLocalEnvironment(), "us-east-1");
      expect(resources(json, "aws_codebuild_project")).toHaveLength(2);
      expect(resources(json, "aws_ecr_replication_configuration")).toHaveLength(0);
    });

    test("privileged mode is on exactly for the two image-building projects", () => {
      const { json } = synth(localEnvironment());
      const privileged = resources(json, "aws_codebuild_project").filter((p) => p.environment.privileged_mode === true);
      expect(privileged.map((p) => p.name).sort()).toEqual(["codebuild-sample-dckr-dind", "codebuild-sample-dckr-push-ecr"]);
      expect(privileged.map((p) => p.environment.image).sort()).toEqual(["aws/codebuild/amazonlinux2-x86_64-standard:5.0", "docker:27.3.1-dind"]);
    });

    test("the local environment's projects build this repository's docker/ (dockerfile docker/Dockerfile, buildContext docker)", () => {
      const { json } = synth(localEnvironment());
      for (const project of resources(json, "aws_codebuild_project")) {
        expect(project.environment.environment_variable).toContainEqual({ name: "DOCKERFILE", value: "docker/Dockerfile", type: "PLAINTEXT" });
        expect(project.environment.environment_variable).toContainEqual({ name: "DOCKER_BUILD_CONTEXT", value: "docker", type: "PLAINTEXT" });
      }
    });

    test("a project without dockerfile and buildContext in the config builds the Dockerfile at its source root", () => {
      const { json } = synth(prodEnvironment());
      const priv = resources(json, "aws_codebuild_project").find((p) => p.name === "acme-app");
      expect(priv.environment.environment_variable).toContainEqual({ name: "DOCKERFILE", value: "Dockerfile", type: "PLAINTEXT" });
      expect(priv.environment.environment_variable).toContainEqual({ name: "DOCKER_BUILD_CONTEXT", value: ".", type: "PLAINTEXT" });
    });

    test("config options reach the constructs", () => {
      const { json } = synth(prodEnvironment());
      const [priv, dind] = ["acme-app", "acme-app-dind"].map((n) => resources(json, "aws_codebuild_project").find((p) => p.name === n));
      expect(priv.badge_enabled).toBe(true);
      expect(priv.source.location).toBe("https://github.com/acme/app.git");
      expect(priv.source_version).toBe("main");
      expect(priv.environment.environment_variable).toContainEqual({ name: "API_TOKEN", value: "/acme/api-token", type: "PARAMETER_STORE" });
      expect(priv.environment.environment_variable).toContainEqual({ name: "IMAGE_TAG", value: "release", type: "PLAINTEXT" });
      expect(dind.environment.image_pull_credentials_type).toBe("SERVICE_ROLE");
      expect(resources(json, "aws_ecr_repository_policy")).toHaveLength(1);
      expect(JSON.parse(resources(json, "aws_ecr_lifecycle_policy")[0].policy).rules[1].selection.countNumber).toBe(100);
    });
  });

  describe("outputs", () => {
    const BUILDING_OUTPUTS = [
      "dind_project_arn",
      "dind_project_name",
      "dind_role_arn",
      "privileged_project_arn",
      "privileged_project_name",
      "privileged_role_arn",
      "repository_arn",
      "repository_url",
    ];

    test("expose the repository, both projects and both roles, each with a description", () => {
      const { json } = synth(singleAccountLocalEnvironment(), "us-east-1");
      expect(Object.keys(json.output!).sort()).toEqual(BUILDING_OUTPUTS);
      for (const o of Object.values(json.output!)) expect(o.description).toMatch(/\S{3,}/);
    });

    test("of the shipped local environment's primary region add where it replicates", () => {
      const { json } = synth(localEnvironment(), "eu-central-1");
      expect(Object.keys(json.output!).sort()).toEqual([...BUILDING_OUTPUTS, "replication_destinations"].sort());
      expect(json.output!.replication_destinations.value).toBe("123456789012/us-east-1");
    });

    test("of the shipped local environment's replica region are only the repository's", () => {
      const { json } = synth(localEnvironment(), "us-east-1");
      expect(Object.keys(json.output!).sort()).toEqual(["repository_arn", "repository_url"]);
    });

    test("add the badge URL when the badge is on", () => {
      expect(synth(prodEnvironment()).json.output!.privileged_badge_url.description).toBe(
        "Build badge URL of the privileged (managed image) CodeBuild project",
      );
    });
  });
});
