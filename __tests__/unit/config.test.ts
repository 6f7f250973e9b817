import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ConfigError,
  EnvironmentConfig,
  configFilePath,
  loadConfigFile,
  projectRoot,
  selectEnvironments,
  validateConfig,
} from "../../config/environments";
import { configProblems } from "../support/config-problems";

/** The file name the problem lines carry; validateConfig never reads it. */
const FILE = "config/test-environments.json";

/**
 * A parsed environments file. Raw JSON on purpose: the tests put wrong types into it.
 */
type RawConfig = { environments: Record<string, any>; [key: string]: unknown };

/** The "local" environment of config/environments.json and a real-account "prod" environment. */
function validConfig(): RawConfig {
  return {
    environments: {
      local: {
        description: "The local AWS started by npm start; no cloud account needed.",
        local: true,
        accountId: "123456789012",
        regions: ["eu-central-1", "us-east-1"],
        state: { bucket: "codebuild-docker-tfstate-local", region: "eu-central-1" },
        tags: { Project: "codebuild-docker", Owner: "platform-team" },
        build: {
          repositoryName: "codebuild-sample/dckr-push-ecr",
          privilegedProject: { projectName: "codebuild-sample-dckr-push-ecr", imageTag: "latest" },
          dindProject: { projectName: "codebuild-sample-dckr-dind", imageTag: "dind-latest" },
        },
      },
      prod: {
        description: "Production account.",
        accountId: "111111111111",
        regions: ["eu-west-1"],
        assumeRoleArn: "arn:aws:iam::111111111111:role/cdktf-deploy",
        state: {
          bucket: "codebuild-docker-tfstate-prod",
          region: "eu-west-1",
          keyPrefix: "codebuild-docker",
          dynamodbTable: "terraform-locks",
          kmsKeyArn: "arn:aws:kms:eu-west-1:111111111111:alias/tfstate",
          roleArn: "arn:aws:iam::999999999999:role/tfstate-access",
        },
        tags: { Project: "codebuild-docker", Environment: "prod" },
        build: {
          repositoryName: "codebuild-sample/dckr-push-ecr",
          repository: { tagMutability: "IMMUTABLE", scanOnPush: true, keepTaggedImages: 50, pullAccountIds: ["222222222222"] },
          privilegedProject: {
            projectName: "codebuild-sample-dckr-push-ecr",
            imageTag: "v1.0.0",
            computeType: "BUILD_GENERAL1_MEDIUM",
            buildTimeoutMinutes: 30,
            logRetentionDays: 90,
            source: { type: "GITHUB", location: "https://github.com/example/app.git", branch: "main" },
            badge: true,
            environmentVariables: { DB_URL: { value: "/app/db-url", type: "PARAMETER_STORE" } },
          },
          dindProject: {
            projectName: "codebuild-sample-dckr-dind",
            imageTag: "v1.0.0-dind",
            image: "docker:27.3.1-dind",
            registryCredentialSecretArn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:dockerhub-AbCdEf",
          },
        },
      },
    },
  };
}

const problemsOf = (raw: unknown) => configProblems(raw, FILE);

/** The lines of the ConfigError that `fn` throws; fails when it throws none. */
function configErrorOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("validateConfig", () => {
  test("returns every environment of a valid config with its name", () => {
    // GIVEN
    const raw = validConfig();

    // WHEN
    const environments = validateConfig(raw, FILE);

    // THEN
    expect(environments.map((e) => e.name)).toEqual(["local", "prod"]);
    expect(environments[1]).toMatchObject({ name: "prod", accountId: "111111111111", regions: ["eu-west-1"] });
    expect(environments[0].build?.privilegedProject.projectName).toBe("codebuild-sample-dckr-push-ecr");
  });

  test("accepts a project's dockerfile and buildContext relative to the source root", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.build.privilegedProject.dockerfile = "docker/Dockerfile";
    raw.environments.prod.build.privilegedProject.buildContext = "docker";
    raw.environments.prod.build.dindProject.buildContext = ".";

    // WHEN
    const [, prod] = validateConfig(raw, FILE);

    // THEN
    expect(prod.build?.privilegedProject).toMatchObject({ dockerfile: "docker/Dockerfile", buildContext: "docker" });
    expect(prod.build?.dindProject.buildContext).toBe(".");
  });

  test("accepts a $schema key at the top level", () => {
    // GIVEN
    const raw = { $schema: "./environments.schema.json", ...validConfig() };

    // WHEN
    const environments = validateConfig(raw, FILE);

    // THEN
    expect(environments).toHaveLength(2);
  });

  test("rejects an unknown region", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.regions = ["eu-west-9"];

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "prod": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`]);
  });

  test("rejects an account ID that is not 12 digits", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.accountId = "11111111111";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "prod": accountId "11111111111" must be exactly 12 digits (an AWS account ID)`]);
  });

  test("rejects a region listed twice", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.regions = ["eu-central-1", "us-east-1", "eu-central-1"];

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": regions[2] "eu-central-1" is a duplicate region`]);
  });

  test("rejects an empty region list", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.regions = [];

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": regions [] must have at least 1 item(s)`]);
  });

  // The repository's own rules (EcrRepo), reported at the config field.
  test.each([
    ["My_Repo", "must be lowercase (ECR naming rules)"],
    ["a//b", "must be parts of letters and digits separated by single '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)"],
    ["a", "must be 2-256 characters long (ECR naming rules)"],
  ])("rejects the repository name %j", (name, rule) => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.repositoryName = name;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.repositoryName ${JSON.stringify(name)} ${rule}`]);
  });

  test("rejects an unknown key at the top level", () => {
    // GIVEN
    const raw = { ...validConfig(), environment: {} };

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment {} is an unknown key (known: $schema, environments)`]);
  });

  test("rejects an unknown key in an environment", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.region = "eu-west-1";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "prod": region "eu-west-1" is an unknown key (known: description, local, accountId, regions, assumeRoleArn, ci, state, tags, pullFrom, registryScanning, build)`,
    ]);
  });

  test("rejects an unknown key nested in a project", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.privilegedProject.foo = 1;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": build.privilegedProject.foo 1 is an unknown key ` +
        "(known: projectName, imageTag, dockerfile, buildContext, image, computeType, buildTimeoutMinutes, queuedTimeoutMinutes, logRetentionDays, concurrentBuildLimit, badge, source, triggers, environmentVariables)",
    ]);
  });

  test("rejects regions given as a string", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.regions = "eu-central-1";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": regions "eu-central-1" must be an array, not string`]);
  });

  test("a wrong type hides no construct rule of another field, and its field gets no second line", () => {
    // GIVEN a badge of the wrong type (the schema's) and a bad image tag (the project's rule)
    const raw = validConfig();
    raw.environments.local.build.privilegedProject.badge = "yes";
    raw.environments.local.build.privilegedProject.imageTag = ".v1";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": build.privilegedProject.badge "yes" must be true or false, not string`,
      `${FILE}: environment "local": build.privilegedProject.imageTag ".v1" must be a Docker tag: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
    ]);
  });

  test("rejects a badge given as a string", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.privilegedProject.badge = "yes";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.privilegedProject.badge "yes" must be true or false, not string`]);
  });

  test("rejects a fractional buildTimeoutMinutes", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.privilegedProject.buildTimeoutMinutes = 3.5;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.privilegedProject.buildTimeoutMinutes 3.5 must be a whole number from 5 to 2160 minutes`]);
  });

  test("rejects a buildTimeoutMinutes out of range", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.dindProject.buildTimeoutMinutes = 3;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.dindProject.buildTimeoutMinutes 3 must be a whole number from 5 to 2160 minutes`]);
  });

  test("rejects a missing required field", () => {
    // GIVEN
    const raw = validConfig();
    delete raw.environments.prod.state;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "prod": state is required`]);
  });

  test("rejects a missing required nested field", () => {
    // GIVEN
    const raw = validConfig();
    delete raw.environments.prod.build.dindProject.projectName;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "prod": build.dindProject.projectName is required`]);
  });

  test("accepts a local environment in another account with a role to assume in it", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.accountId = "111111111111";
    raw.environments.local.assumeRoleArn = "arn:aws:iam::111111111111:role/deploy";

    // WHEN
    const [local] = validateConfig(raw, FILE);

    // THEN
    expect(local).toMatchObject({ accountId: "111111111111", assumeRoleArn: "arn:aws:iam::111111111111:role/deploy" });
  });

  test("rejects an assumeRoleArn in another account than the environment's", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.assumeRoleArn = "arn:aws:iam::222222222222:role/cdktf-deploy";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "prod": assumeRoleArn "arn:aws:iam::222222222222:role/cdktf-deploy" must be a role in the environment's account 111111111111`,
    ]);
  });

  test("requires bucketName and objectKey for an S3 source, and refuses git fields on it", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.dindProject.source = { type: "S3", bucketName: "src-bucket", location: "https://github.com/a/b" };

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": build.dindProject.source.objectKey is required for a S3 source`,
      `${FILE}: environment "local": build.dindProject.source.location "https://github.com/a/b" does not apply to a S3 source`,
    ]);
  });

  test("requires a source's type", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.dindProject.source = { location: "https://github.com/a/b" };

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.dindProject.source.type is required`]);
  });

  test("requires a location for a git source, and refuses S3 fields on it", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.dindProject.source = { type: "GITHUB", objectKey: "a.zip" };

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": build.dindProject.source.location is required for a GITHUB source`,
      `${FILE}: environment "local": build.dindProject.source.objectKey "a.zip" does not apply to a GITHUB source`,
    ]);
  });

  test("rejects equal project names", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.build.dindProject.projectName = "codebuild-sample-dckr-push-ecr";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "prod": build.dindProject.projectName "codebuild-sample-dckr-push-ecr" must differ from build.privilegedProject.projectName`,
    ]);
  });

  test("rejects a tag key starting with aws:", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.tags["aws:foo"] = "bar";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "prod": tags.aws:foo "aws:foo" is not a valid key: AWS tag keys are 1-128 characters and must not start with aws:`,
    ]);
  });

  test("rejects a logRetentionDays that CloudWatch does not offer", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.prod.build.privilegedProject.logRetentionDays = 2;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "prod": build.privilegedProject.logRetentionDays 2 must be one of CloudWatch's retention values ` +
        "(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
    ]);
  });

  test.each<[string, (env: RawConfig["environments"][string]) => void, string]>([
    ["state.bucket", (e) => (e.state.bucket = "Bucket_1"), `state.bucket "Bucket_1" must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')`],
    ["state.region", (e) => (e.state.region = "moon-1"), `state.region "moon-1" is not a known AWS region (see config/regions.ts)`],
    ["state.keyPrefix", (e) => (e.state.keyPrefix = "envs/"), `state.keyPrefix "envs/" must be an S3 key prefix without a trailing '/'`],
    ["state.dynamodbTable", (e) => (e.state.dynamodbTable = "t"), `state.dynamodbTable "t" must be a DynamoDB table name (3-255 letters, digits, '_', '-', '.')`],
    ["state.kmsKeyArn", (e) => (e.state.kmsKeyArn = "alias/tfstate"), `state.kmsKeyArn "alias/tfstate" must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)`],
    ["state.roleArn", (e) => (e.state.roleArn = "tfstate-access"), `state.roleArn "tfstate-access" must be an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)`],
    ["assumeRoleArn", (e) => (e.assumeRoleArn = "arn:aws:iam::111111111111:user/me"), `assumeRoleArn "arn:aws:iam::111111111111:user/me" must be an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)`],
    ["tag value", (e) => (e.tags.Owner = "x".repeat(257)), `tags.Owner "${"x".repeat(257)}" must be at most 256 characters (AWS tag values)`],
    ["repository.tagMutability", (e) => (e.build.repository.tagMutability = "immutable"), `build.repository.tagMutability "immutable" must be one of IMMUTABLE, MUTABLE`],
    ["repository.pullOrganizationId", (e) => (e.build.repository.pullOrganizationId = "o-1"), `build.repository.pullOrganizationId "o-1" must be an AWS Organization ID ("o-" and 10-32 lowercase letters or digits)`],
    ["repository.pullAccountIds", (e) => (e.build.repository.pullAccountIds = ["222222222222", "222222222222"]), `build.repository.pullAccountIds[1] "222222222222" is a duplicate account ID`],
    [
      "repository.pullAccountIds naming the environment's own account",
      (e) => (e.build.repository.pullAccountIds = ["222222222222", "111111111111"]),
      `build.repository.pullAccountIds "111111111111" is the environment's own account: a repository policy entry for it would let every principal of the account pull; grant the roles that need it instead (their own IAM policies suffice in the same account)`,
    ],
    ["projectName", (e) => (e.build.privilegedProject.projectName = "-build"), `build.privilegedProject.projectName "-build" must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)`],
    ["imageTag", (e) => (e.build.privilegedProject.imageTag = ".v1"), `build.privilegedProject.imageTag ".v1" must be a Docker tag: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`],
    ["computeType", (e) => (e.build.privilegedProject.computeType = "BUILD_LAMBDA_1GB"), `build.privilegedProject.computeType "BUILD_LAMBDA_1GB" must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE (privileged builds need EC2 compute)`],
    ["source.type", (e) => (e.build.privilegedProject.source.type = "GIT"), `build.privilegedProject.source.type "GIT" must be one of GITHUB, GITHUB_ENTERPRISE, BITBUCKET, CODECOMMIT, S3`],
    ["source.location", (e) => (e.build.privilegedProject.source.location = "git@github.com:example/app.git"), `build.privilegedProject.source.location "git@github.com:example/app.git" must be https://github.com/<owner>/<repo>.git`],
    ["source.branch", (e) => (e.build.privilegedProject.source.branch = ""), `build.privilegedProject.source.branch "" must not be empty`],
    ["environment variable name", (e) => (e.build.privilegedProject.environmentVariables["1X"] = { value: "v" }), `build.privilegedProject.environmentVariables.1X "1X" must be letters, digits and '_', not starting with a digit`],
    ["environment variable type", (e) => (e.build.privilegedProject.environmentVariables.DB_URL.type = "SSM"), `build.privilegedProject.environmentVariables.DB_URL.type "SSM" must be one of PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER`],
    ["dindProject.registryCredentialSecretArn", (e) => (e.build.dindProject.registryCredentialSecretArn = "dockerhub"), `build.dindProject.registryCredentialSecretArn "dockerhub" must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`],
    ["empty dockerfile", (e) => (e.build.privilegedProject.dockerfile = ""), `build.privilegedProject.dockerfile "" must be a path relative to the source root, not empty`],
    ["absolute dockerfile", (e) => (e.build.dindProject.dockerfile = "/app/Dockerfile"), `build.dindProject.dockerfile "/app/Dockerfile" must be a path relative to the source root, not absolute`],
    ["buildContext outside the source", (e) => (e.build.privilegedProject.buildContext = "../app"), `build.privilegedProject.buildContext "../app" must be a path relative to the source root, without ".." segments (the build sees only its source)`],
    ["buildContext read as an option", (e) => (e.build.dindProject.buildContext = "-"), `build.dindProject.buildContext "-" must be a path relative to the source root, not starting with "-" (docker would read it as an option)`],
  ])("rejects a bad %s with the rule of that field", (_field, mutate, expected) => {
    // GIVEN
    const raw = validConfig();
    mutate(raw.environments.prod);

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "prod": ${expected}`]);
  });

  test("rejects an invalid environment name", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments["Prod_1"] = raw.environments.prod;
    delete raw.environments.prod;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "Prod_1" has an invalid name: must be 1-32 lowercase letters, digits or '-', starting with a letter`]);
  });

  test("rejects a config without environments", () => {
    // GIVEN
    const raw = { environments: {} };

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environments {} must declare at least one environment`]);
  });

  test("rejects environments that are not an object", () => {
    // GIVEN
    const raw = { environments: ["local"] };

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environments ["local"] must be an object of environments by name`]);
  });

  test("rejects a file without an environments key", () => {
    // GIVEN
    const raw = {};

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environments is required`]);
  });

  test("rejects a file that does not hold an object", () => {
    // GIVEN
    const raw = [validConfig()];

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: the file must hold a JSON object with an "environments" object`]);
  });

  test("reports every problem at once, one line each", () => {
    // GIVEN
    const raw: RawConfig = { ...validConfig(), extra: true };
    raw.environments.local.build.privilegedProject.badge = "yes";
    raw.environments.prod.accountId = "1234";
    raw.environments.prod.regions = ["eu-west-1", "eu-west-9"];

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: extra true is an unknown key (known: $schema, environments)`,
      `${FILE}: environment "local": build.privilegedProject.badge "yes" must be true or false, not string`,
      `${FILE}: environment "prod": accountId "1234" must be exactly 12 digits (an AWS account ID)`,
      `${FILE}: environment "prod": regions[1] "eu-west-9" is not a known AWS region (see config/regions.ts)`,
    ]);
  });

  test("throws a ConfigError whose message holds every line", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.regions = ["eu-west-9"];
    raw.environments.prod.regions = ["eu-west-8"];

    // WHEN
    const act = () => validateConfig(raw, FILE);

    // THEN
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(
      `${FILE}: environment "local": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)\n` +
        `${FILE}: environment "prod": regions[0] "eu-west-8" is not a known AWS region (see config/regions.ts)`,
    );
  });
});

describe("loadConfigFile", () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-test-"));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("reads and validates an environments file", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    fs.writeFileSync(file, JSON.stringify(validConfig()));

    // WHEN
    const environments = loadConfigFile(file);

    // THEN
    expect(environments.map((e) => e.name)).toEqual(["local", "prod"]);
  });

  test("reads the project's own config/environments.json: a local organization of three accounts", () => {
    // GIVEN
    const file = path.join(__dirname, "..", "..", "config", "environments.json");

    // WHEN
    const environments = loadConfigFile(file);

    // THEN
    expect(environments.map((e) => [e.name, e.accountId, e.regions, e.local, e.pullFrom])).toEqual([
      ["local", "123456789012", ["eu-central-1", "us-east-1"], true, undefined],
      ["local-staging", "210987654321", ["eu-central-1"], true, "local"],
      ["local-prod", "345678901234", ["eu-central-1", "us-east-1"], true, "local"],
    ]);
    const [owner] = environments;
    expect(owner.build).toMatchObject({ replicaRegions: ["us-east-1"], replicateToEnvironments: ["local-prod"] });
  });

  test("names the file and the line and column of the field in each problem line", () => {
    // GIVEN prod's accountId on a line of its own, its key at column 7
    const file = path.join(dir, "environments.json");
    const raw = validConfig();
    raw.environments.prod.accountId = "abc";
    const text = JSON.stringify(raw, null, 2);
    fs.writeFileSync(file, text);
    const line = text.split("\n").indexOf('      "accountId": "abc",') + 1;

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(line).toBeGreaterThan(0);
    expect(problems).toEqual([`${file}:${line}:7: environment "prod": accountId "abc" must be exactly 12 digits (an AWS account ID)`]);
  });

  test("places a missing field at the object that lacks it, and an unknown key at the key", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    fs.writeFileSync(
      file,
      [
        "{",
        '  "environments": {',
        '    "prod": {',
        '      "accountId": "111111111111",',
        '      "regions": ["eu-west-1"], "colour": "blue",',
        '      "build": { "repositoryName": "acme/app", "privilegedProject": { "projectName": "acme-app" }, "dindProject": {} }',
        "    }",
        "  }",
        "}",
      ].join("\n"),
    );

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([
      `${file}:3:5: environment "prod": state is required`,
      `${file}:6:100: environment "prod": build.dindProject.projectName is required`,
      expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:5:33: environment "prod": colour "blue" is an unknown key \\(known: description, `)),
    ]);
  });

  test("places a problem between environments at the field that names the other environment", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    const raw = validConfig();
    raw.environments.prod.pullFrom = "nowhere";
    const text = JSON.stringify(raw, null, 2);
    fs.writeFileSync(file, text);
    const line = text.split("\n").findIndex((l) => l.includes('"pullFrom"')) + 1;

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([`${file}:${line}:7: environment "prod": pullFrom "nowhere" is not an environment of this file (known: local, prod)`]);
  });

  test("never prints the value of an environment variable whose name looks like a secret, and places it", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    const raw = validConfig();
    raw.environments.prod.build.privilegedProject.environmentVariables = { DB_PASSWORD: { value: 42 } };
    const text = JSON.stringify(raw, null, 2);
    fs.writeFileSync(file, text);
    const line = text.split("\n").findIndex((l) => l.includes('"value": 42')) + 1;

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([
      `${file}:${line}:15: environment "prod": build.privilegedProject.environmentVariables.DB_PASSWORD.value (value not shown: the name looks like a secret) must be a string, not number`,
    ]);
    expect(problems.join("\n")).not.toContain("42");
  });

  test("refuses a value nested 5,000 deep in one line naming the file, the place and the field path", () => {
    // GIVEN a tag value of objects nested 5,000 deep
    const file = path.join(dir, "environments.json");
    const deep = `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`;
    fs.writeFileSync(file, `{ "environments": { "prod": { "tags": { "Owner": ${deep} } } } }`);

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN the outermost level past the limit (20) is reported: the file's 21st
    expect(problems).toEqual([
      `${file}:1:${50 + 5 * 16}: environment "prod": tags.Owner${".a".repeat(16)} is nested more than 20 levels deep (objects and arrays); a config value nests far less`,
    ]);
  });

  test("reports a syntax error with the file, line and column, and shows the offending line", () => {
    // GIVEN a comma missing at the end of line 3
    const file = path.join(dir, "environments.json");
    fs.writeFileSync(file, '{\n  "environments": {\n    "local": { "local": true }\n    "prod": {}\n  }\n}\n');

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([
      [
        `${file}:4:5: expected "," between two values, found '"prod"'`,
        `  4 |     "prod": {}`,
        `    |     ^`,
      ].join("\n"),
    ]);
  });

  test("reports an unclosed file at its end", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    fs.writeFileSync(file, '{ "environments": { ');

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([`${file}:1:21: expected "," or "}", found the end of the file\n  1 | { "environments": { \n    |                     ^`]);
  });

  test("accepts // and /* */ comments, and keeps // inside strings", () => {
    // GIVEN the shipped file with comments in the places the docs show them
    const file = path.join(dir, "environments.json");
    const shipped = fs.readFileSync(path.join(__dirname, "..", "..", "config", "environments.json"), "utf8");
    const commented = `// The environments of this repository.\n/* one block\n   over two lines */\n${shipped.replace('"accountId": "123456789012",', '"accountId": "123456789012", // moto\'s default account')}`;
    fs.writeFileSync(file, commented);

    // WHEN
    const withComments = loadConfigFile(file);

    // THEN the result is the file without the comments
    fs.writeFileSync(file, shipped);
    expect(withComments).toEqual(loadConfigFile(file));
    expect(commented).toContain("// moto's default account");
  });

  test.each<[string, string, string]>([
    ["a trailing comma", '{ "environments": {}, }', '1:21: a trailing comma is not allowed before }'],
    ["a trailing comma in an array", '{ "a": [1, ] }', "1:10: a trailing comma is not allowed before ]"],
    ["single quotes", "{ 'environments': {} }", `1:3: strings must be in double quotes ("), not single quotes`],
    ["an unquoted key", "{ environments: {} }", "1:3: expected a property name in double quotes, found 'environments'"],
    ["an unclosed block comment", '{ /* "environments": {} }', "1:3: a /* comment is not closed (*/)"],
    ["a key given twice", '{ "environments": {\n  "prod": {},\n  "prod": {}\n} }', '3:3: the key "prod" appears twice in this object'],
    ["text after the object", '{ "environments": {} } x', "1:24: expected the end of the file after the top-level value, found 'x'"],
  ])("refuses %s with its line and column", (_what, text, expected) => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    fs.writeFileSync(file, text);

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toHaveLength(1);
    expect(problems[0].split("\n")[0]).toBe(`${file}:${expected}`);
  });

  test("keeps a __proto__ key a key, refused as unknown, instead of replacing the object's prototype", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    const raw = validConfig();
    const text = JSON.stringify(raw).replace('"prod":{', '"prod":{"__proto__":{"polluted":true},');
    fs.writeFileSync(file, text);

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([expect.stringMatching(/:1:\d+: environment "prod": __proto__ \{"polluted":true\} is an unknown key \(known: description, /)]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("rejects a missing file", () => {
    // GIVEN
    const file = path.join(dir, "missing.json");

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([`${file}: cannot read the environments file (ENOENT)`]);
  });
});

describe("selectEnvironments", () => {
  const all: EnvironmentConfig[] = validateConfig(validConfig(), FILE);

  test.each([undefined])("selects every local environment, in file order, when the selection is %j", (selection) => {
    // GIVEN
    const raw = validConfig();
    raw.environments = {
      local: raw.environments.local,
      prod: raw.environments.prod,
      staging: {
        local: true,
        accountId: "210987654321",
        regions: ["eu-central-1"],
        assumeRoleArn: "arn:aws:iam::210987654321:role/deployer",
        state: { bucket: "codebuild-docker-tfstate-local", region: "eu-central-1" },
        pullFrom: "local",
      },
    };
    const org = validateConfig(raw, FILE);

    // WHEN
    const selected = selectEnvironments(org, selection, FILE);

    // THEN
    expect(selected.map((e) => e.name)).toEqual(["local", "staging"]);
  });

  test.each(["", "  "])("refuses ENVIRONMENTS set but empty (%j) in one line: unset it, or name environments", (selection) => {
    // WHEN
    const problems = configErrorOf(() => selectEnvironments(all, selection, FILE));

    // THEN
    expect(problems).toEqual([
      `ENVIRONMENTS is set but empty (${JSON.stringify(selection)}): unset it to select every local environment ("local": true), or name environments, comma-separated (known: local, prod), or all`,
    ]);
  });

  test("rejects an unset selection when the file declares no local environment, naming the known ones", () => {
    // GIVEN
    const realOnly = all.filter((e) => e.local !== true);

    // WHEN
    const problems = configErrorOf(() => selectEnvironments(realOnly, undefined, FILE));

    // THEN
    expect(problems).toEqual([
      `ENVIRONMENTS is unset, which selects every local environment ("local": true), but ${FILE} declares none (known: prod); set ENVIRONMENTS to a name or all`,
    ]);
  });

  test.each(["all", " all "])("selects every environment for %j", (selection) => {
    // WHEN
    const selected = selectEnvironments(all, selection, FILE);

    // THEN
    expect(selected.map((e) => e.name)).toEqual(["local", "prod"]);
  });

  test("selects the environments of a comma-separated list, in file order", () => {
    // WHEN
    const selected = selectEnvironments(all, "prod, local", FILE);

    // THEN
    expect(selected.map((e) => e.name)).toEqual(["local", "prod"]);
  });

  test("selects a single named environment", () => {
    // WHEN
    const selected = selectEnvironments(all, "prod", FILE);

    // THEN
    expect(selected.map((e) => e.name)).toEqual(["prod"]);
  });

  test("rejects an unknown environment name", () => {
    // WHEN
    const problems = configErrorOf(() => selectEnvironments(all, "prod,staging", FILE));

    // THEN
    expect(problems).toEqual([`ENVIRONMENTS: "staging" is not an environment of ${FILE} (known: local, prod, or all)`]);
  });

  test("reports every unknown environment name, one line each", () => {
    // WHEN
    const problems = configErrorOf(() => selectEnvironments(all, "staging,dev", FILE));

    // THEN
    expect(problems).toEqual([
      `ENVIRONMENTS: "staging" is not an environment of ${FILE} (known: local, prod, or all)`,
      `ENVIRONMENTS: "dev" is not an environment of ${FILE} (known: local, prod, or all)`,
    ]);
  });
});

describe("configFilePath", () => {
  test("defaults to config/environments.json", () => {
    // WHEN
    const file = configFilePath({});

    // THEN
    expect(file).toBe(path.join("config", "environments.json"));
  });

  test("takes CONFIG_FILE when it is set", () => {
    // WHEN
    const file = configFilePath({ CONFIG_FILE: "/etc/envs.json" });

    // THEN
    expect(file).toBe("/etc/envs.json");
  });
});

describe("projectRoot", () => {
  test("finds the folder that holds cdktf.json", () => {
    // WHEN
    const root = projectRoot();

    // THEN
    expect(root).toBe(path.join(__dirname, "..", ".."));
  });
});
