import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ConfigError,
  EnvironmentConfig,
  LOCAL_ACCOUNT_ID,
  configFilePath,
  loadConfigFile,
  projectRoot,
  selectEnvironments,
  validateConfig,
} from "../../config/environments";
import { SchemaProblem, Spec, check, s } from "../../config/schema";

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
        description: "The embedded local AWS (moto) started by npm start; no cloud account needed.",
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

/** The lines of the ConfigError that validateConfig throws for `raw`; fails when it throws none. */
function problemsOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("validateConfig accepted the config; expected a ConfigError");
}

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

  const REPO_RULE =
    "must be 2-256 lowercase characters: parts of letters and digits separated by '.', '_' or '-', with optional 'namespace/' prefixes (ECR naming rules)";

  test.each(["My_Repo", "a//b"])("rejects the repository name %j", (name) => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.repositoryName = name;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.repositoryName ${JSON.stringify(name)} ${REPO_RULE}`]);
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
      `${FILE}: environment "prod": region "eu-west-1" is an unknown key (known: description, local, accountId, regions, assumeRoleArn, state, tags, pullFrom, registryScanning, build)`,
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
    expect(problems).toEqual([`${FILE}: environment "local": build.privilegedProject.buildTimeoutMinutes 3.5 must be a whole number`]);
  });

  test("rejects a buildTimeoutMinutes out of range", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.build.dindProject.buildTimeoutMinutes = 3;

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "local": build.dindProject.buildTimeoutMinutes 3 must be from 5 to 2160`]);
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

  test("rejects a local environment in another account than moto's default without a role to assume there", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.accountId = "111111111111";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": accountId "111111111111" needs assumeRoleArn (a role in 111111111111) in a local environment: moto answers as ${LOCAL_ACCOUNT_ID}, or as the account of a role assumed through its STS`,
    ]);
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

  test("rejects an assumeRoleArn in a local environment of moto's default account", () => {
    // GIVEN
    const raw = validConfig();
    raw.environments.local.assumeRoleArn = "arn:aws:iam::123456789012:role/deploy";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": assumeRoleArn "arn:aws:iam::123456789012:role/deploy" must not be set in a local environment of moto's default account ${LOCAL_ACCOUNT_ID}`,
    ]);
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
      `${FILE}: environment "prod": build.privilegedProject.logRetentionDays 2 must be one of ` +
        "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
    ]);
  });

  test.each<[string, (env: RawConfig["environments"][string]) => void, string]>([
    ["state.bucket", (e) => (e.state.bucket = "Bucket_1"), `state.bucket "Bucket_1" must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')`],
    ["state.region", (e) => (e.state.region = "moon-1"), `state.region "moon-1" is not a known AWS region (see config/regions.ts)`],
    ["state.keyPrefix", (e) => (e.state.keyPrefix = "envs/"), `state.keyPrefix "envs/" must be an S3 key prefix without a trailing '/'`],
    ["state.dynamodbTable", (e) => (e.state.dynamodbTable = "t"), `state.dynamodbTable "t" must be a DynamoDB table name (3-255 letters, digits, '_', '-', '.')`],
    ["state.kmsKeyArn", (e) => (e.state.kmsKeyArn = "alias/tfstate"), `state.kmsKeyArn "alias/tfstate" must be a KMS key or alias ARN`],
    ["state.roleArn", (e) => (e.state.roleArn = "tfstate-access"), `state.roleArn "tfstate-access" must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`],
    ["assumeRoleArn", (e) => (e.assumeRoleArn = "arn:aws:iam::111111111111:user/me"), `assumeRoleArn "arn:aws:iam::111111111111:user/me" must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`],
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
    ["computeType", (e) => (e.build.privilegedProject.computeType = "BUILD_LAMBDA_1GB"), `build.privilegedProject.computeType "BUILD_LAMBDA_1GB" must be one of BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE`],
    ["source.type", (e) => (e.build.privilegedProject.source.type = "GIT"), `build.privilegedProject.source.type "GIT" must be one of GITHUB, GITHUB_ENTERPRISE, BITBUCKET, CODECOMMIT, S3`],
    ["source.location", (e) => (e.build.privilegedProject.source.location = "git@github.com:example/app.git"), `build.privilegedProject.source.location "git@github.com:example/app.git" must be an https:// clone URL`],
    ["source.branch", (e) => (e.build.privilegedProject.source.branch = ""), `build.privilegedProject.source.branch "" must not be empty`],
    ["environment variable name", (e) => (e.build.privilegedProject.environmentVariables["1X"] = { value: "v" }), `build.privilegedProject.environmentVariables.1X "1X" is not a valid key: letters, digits and '_', not starting with a digit`],
    ["environment variable type", (e) => (e.build.privilegedProject.environmentVariables.DB_URL.type = "SSM"), `build.privilegedProject.environmentVariables.DB_URL.type "SSM" must be one of PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER`],
    ["dindProject.registryCredentialSecretArn", (e) => (e.build.dindProject.registryCredentialSecretArn = "dockerhub"), `build.dindProject.registryCredentialSecretArn "dockerhub" must be a Secrets Manager secret ARN`],
    ["empty dockerfile", (e) => (e.build.privilegedProject.dockerfile = ""), `build.privilegedProject.dockerfile "" must be a path relative to the source root: not empty, not absolute, without ".." segments, not starting with "-"`],
    ["absolute dockerfile", (e) => (e.build.dindProject.dockerfile = "/app/Dockerfile"), `build.dindProject.dockerfile "/app/Dockerfile" must be a path relative to the source root: not empty, not absolute, without ".." segments, not starting with "-"`],
    ["buildContext outside the source", (e) => (e.build.privilegedProject.buildContext = "../app"), `build.privilegedProject.buildContext "../app" must be a path relative to the source root: not empty, not absolute, without ".." segments, not starting with "-"`],
    ["buildContext read as an option", (e) => (e.build.dindProject.buildContext = "-"), `build.dindProject.buildContext "-" must be a path relative to the source root: not empty, not absolute, without ".." segments, not starting with "-"`],
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
      ["local", LOCAL_ACCOUNT_ID, ["eu-central-1", "us-east-1"], true, undefined],
      ["local-staging", "210987654321", ["eu-central-1"], true, "local"],
      ["local-prod", "345678901234", ["eu-central-1", "us-east-1"], true, "local"],
    ]);
    const [owner] = environments;
    expect(owner.build).toMatchObject({ replicaRegions: ["us-east-1"], replicateToEnvironments: ["local-prod"] });
  });

  test("names the file in each problem line", () => {
    // GIVEN
    const file = path.join(dir, "environments.json");
    const raw = validConfig();
    raw.environments.prod.accountId = "abc";
    fs.writeFileSync(file, JSON.stringify(raw));

    // WHEN
    const problems = configErrorOf(() => loadConfigFile(file));

    // THEN
    expect(problems).toEqual([`${file}: environment "prod": accountId "abc" must be exactly 12 digits (an AWS account ID)`]);
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
        `${file}:4:5: expected "," or "}" after the value of "local", found '"'`,
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
    expect(problems).toEqual([`${file}:1:21: expected a property name in double quotes, found the end of the file\n  1 | { "environments": { \n    |                     ^`]);
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
    ["single quotes", "{ 'environments': {} }", `1:3: expected a property name in double quotes, found "'"`],
    ["an unquoted key", "{ environments: {} }", "1:3: expected a property name in double quotes, found 'e'"],
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

describe("check", () => {
  /** The problems `check` finds in `value`, checked at path "field". */
  function checked(spec: Spec, value: unknown): SchemaProblem[] {
    const out: SchemaProblem[] = [];
    check(spec, value, "field", out);
    return out;
  }

  test("accepts a value that matches its spec", () => {
    // GIVEN
    const spec = s.obj({
      name: s.req(s.str()),
      count: s.int(1, 3),
      on: s.bool(),
      kind: s.oneOf(["A"]),
      list: s.array(s.str(), { minItems: 1, unique: "item" }),
      map: s.map(s.int(0, 1), (k) => k.length === 1, "one letter"),
    });

    // WHEN
    const problems = checked(spec, { name: "x", count: 2, on: false, kind: "A", list: ["a", "b"], map: { k: 1 } });

    // THEN
    expect(problems).toEqual([]);
  });

  test.each<[string, unknown, string]>([
    ["a number", 5, "must be a string, not number"],
    ["null", null, "must be a string, not null"],
    ["an array", [], "must be a string, not array"],
  ])("rejects %s where a string is expected, naming its type", (_label, value, rule) => {
    // WHEN
    const problems = checked(s.str(), value);

    // THEN
    expect(problems).toEqual([{ path: "field", value, rule }]);
  });

  test("reports a string's rule when its test fails", () => {
    // GIVEN
    const spec = s.pattern(/^a/, "must start with a");

    // WHEN
    const problems = checked(spec, "b");

    // THEN
    expect(problems).toEqual([{ path: "field", value: "b", rule: "must start with a" }]);
  });

  test("says 'is not valid' when a string test has no rule", () => {
    // GIVEN
    const spec = s.str((v) => v === "a");

    // WHEN
    const problems = checked(spec, "b");

    // THEN
    expect(problems).toEqual([{ path: "field", value: "b", rule: "is not valid" }]);
  });

  test.each<[string, unknown, string]>([
    ["a string", "3", "must be a whole number, not string"],
    ["a fraction", 1.5, "must be a whole number"],
  ])("rejects %s where a whole number is expected", (_label, value, rule) => {
    // WHEN
    const problems = checked(s.int(1, 10), value);

    // THEN
    expect(problems).toEqual([{ path: "field", value, rule }]);
  });

  test("rejects a whole number out of range", () => {
    // WHEN
    const problems = checked(s.int(1, 10), 11);

    // THEN
    expect(problems).toEqual([{ path: "field", value: 11, rule: "must be from 1 to 10" }]);
  });

  test("reports the allowed values, not the range, when a number is not one of them", () => {
    // GIVEN
    const spec = s.int(1, 10, [1, 5]);

    // WHEN
    const problems = checked(spec, 20);

    // THEN
    expect(problems).toEqual([{ path: "field", value: 20, rule: "must be one of 1, 5" }]);
  });

  test("rejects a non-boolean", () => {
    // WHEN
    const problems = checked(s.bool(), "true");

    // THEN
    expect(problems).toEqual([{ path: "field", value: "true", rule: "must be true or false, not string" }]);
  });

  test("rejects a value outside an enum", () => {
    // WHEN
    const problems = checked(s.oneOf(["A", "B"]), "C");

    // THEN
    expect(problems).toEqual([{ path: "field", value: "C", rule: "must be one of A, B" }]);
  });

  test("rejects a non-array where an array is expected", () => {
    // WHEN
    const problems = checked(s.array(s.str()), "a");

    // THEN
    expect(problems).toEqual([{ path: "field", value: "a", rule: "must be an array, not string" }]);
  });

  test("rejects an array shorter than minItems", () => {
    // GIVEN
    const spec = s.array(s.str(), { minItems: 2 });

    // WHEN
    const problems = checked(spec, ["a"]);

    // THEN
    expect(problems).toEqual([{ path: "field", value: ["a"], rule: "must have at least 2 item(s)" }]);
  });

  test("checks each array item at its index", () => {
    // WHEN
    const problems = checked(s.array(s.str()), ["a", 1]);

    // THEN
    expect(problems).toEqual([{ path: "field[1]", value: 1, rule: "must be a string, not number" }]);
  });

  test("reports a repeated item of a unique array at the repeat's index", () => {
    // GIVEN
    const spec = s.array(s.str(), { unique: "name" });

    // WHEN
    const problems = checked(spec, ["a", "b", "a"]);

    // THEN
    expect(problems).toEqual([{ path: "field[2]", value: "a", rule: "is a duplicate name" }]);
  });

  test("rejects a non-object where a map is expected", () => {
    // WHEN
    const problems = checked(s.map(s.str()), []);

    // THEN
    expect(problems).toEqual([{ path: "field", value: [], rule: "must be an object, not array" }]);
  });

  test("checks each map value at its key", () => {
    // WHEN
    const problems = checked(s.map(s.int(0, 1)), { ok: 1, big: 2 });

    // THEN
    expect(problems).toEqual([{ path: "field.big", value: 2, rule: "must be from 0 to 1" }]);
  });

  test("rejects a map key that fails its test, with the key rule", () => {
    // GIVEN
    const spec = s.map(s.str(), (k) => k !== "bad", "keys must not be bad");

    // WHEN
    const problems = checked(spec, { bad: "v" });

    // THEN
    expect(problems).toEqual([{ path: "field.bad", value: "bad", rule: "is not a valid key: keys must not be bad" }]);
  });

  test("says 'bad key' when a map key test has no rule", () => {
    // GIVEN
    const spec = s.map(s.str(), () => false);

    // WHEN
    const problems = checked(spec, { k: "v" });

    // THEN
    expect(problems).toEqual([{ path: "field.k", value: "k", rule: "is not a valid key: bad key" }]);
  });

  test("rejects a non-object where an object is expected", () => {
    // WHEN
    const problems = checked(s.obj({}), null);

    // THEN
    expect(problems).toEqual([{ path: "field", value: null, rule: "must be an object, not null" }]);
  });

  test("rejects an unknown key, listing the known ones", () => {
    // GIVEN
    const spec = s.obj({ name: s.str(), size: s.int(0, 9) });

    // WHEN
    const problems = checked(spec, { other: true });

    // THEN
    expect(problems).toEqual([{ path: "field.other", value: true, rule: "is an unknown key (known: name, size)" }]);
  });

  test("rejects a missing required field without a value", () => {
    // GIVEN
    const spec = s.obj({ name: s.req(s.str()), size: s.int(0, 9) });

    // WHEN
    const problems = checked(spec, { size: 1 });

    // THEN
    expect(problems).toEqual([{ path: "field.name", value: undefined, rule: "is required" }]);
  });

  test("checks nested objects with dotted paths", () => {
    // GIVEN
    const spec = s.obj({ inner: s.obj({ size: s.int(0, 9) }) });

    // WHEN
    const problems = checked(spec, { inner: { size: 10 } });

    // THEN
    expect(problems).toEqual([{ path: "field.inner.size", value: 10, rule: "must be from 0 to 9" }]);
  });

  test("uses bare key names at the root path", () => {
    // GIVEN
    const out: SchemaProblem[] = [];

    // WHEN
    check(s.obj({ a: s.req(s.str()) }), { b: 1 }, "", out);

    // THEN
    expect(out).toEqual([
      { path: "b", value: 1, rule: "is an unknown key (known: a)" },
      { path: "a", value: undefined, rule: "is required" },
    ]);
  });
});
