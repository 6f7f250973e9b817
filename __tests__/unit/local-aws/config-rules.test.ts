import * as fs from "fs";
import * as path from "path";
import { ENVIRONMENT_SCHEMA, validateConfig, type EnvironmentConfig } from "../../../config/environments";
import { LOCAL_ACCOUNT_ID, localConfigLines, localEnvironmentProblems } from "../../../scripts/local-aws/config-rules";
import { tempDir } from "../../support/app";
import { shippedConfig } from "../../support/environments";
import { docsMultiArchExample } from "../../support/multi-arch";

/**
 * The shipped owner environment (`local`), after `change`, as the schema reads it (its shape: the
 * constructs' own rules, such as triggers needing a git source, are not what these tests are about).
 */
function localOwner(change: (raw: any) => void = () => undefined): EnvironmentConfig {
  const raw = shippedConfig();
  change(raw.environments.local);
  return { ...ENVIRONMENT_SCHEMA.parse(raw.environments.local), name: "local" };
}

describe("localEnvironmentProblems", () => {
  test("finds none in the shipped organization (three local accounts)", () => {
    // GIVEN
    const environments = validateConfig(shippedConfig(), "environments.json");

    // WHEN
    const problems = environments.flatMap(localEnvironmentProblems);

    // THEN
    expect(environments.map((e) => e.local)).toEqual([true, true, true]);
    expect(problems).toEqual([]);
  });

  test("finds none in a real environment, whatever it sets", () => {
    // GIVEN the docs' multi-arch environment (a real account that sets platforms)
    const [tools] = validateConfig(docsMultiArchExample(), "environments.json");

    // WHEN
    const problems = localEnvironmentProblems(tools);

    // THEN
    expect(tools.build?.platforms).toBeDefined();
    expect(problems).toEqual([]);
  });

  test("refuses another account than the local AWS's default without a role to assume there", () => {
    // GIVEN
    const env = localOwner((e) => (e.accountId = "111111111111"));

    // WHEN
    const problems = localEnvironmentProblems(env);

    // THEN
    expect(problems).toEqual([
      {
        path: "accountId",
        value: "111111111111",
        rule: `needs assumeRoleArn (a role in 111111111111) in a local environment: moto answers as ${LOCAL_ACCOUNT_ID}, or as the account of a role assumed through its STS`,
      },
    ]);
  });

  test("accepts another account with a role to assume in it", () => {
    // GIVEN
    const env = localOwner((e) => {
      e.accountId = "111111111111";
      e.assumeRoleArn = "arn:aws:iam::111111111111:role/deploy";
    });

    // WHEN
    const problems = localEnvironmentProblems(env);

    // THEN
    expect(problems).toEqual([]);
  });

  test("refuses an assumeRoleArn in the default account", () => {
    // GIVEN
    const env = localOwner((e) => (e.assumeRoleArn = "arn:aws:iam::123456789012:role/deploy"));

    // WHEN
    const problems = localEnvironmentProblems(env);

    // THEN
    expect(problems).toEqual([
      { path: "assumeRoleArn", value: "arn:aws:iam::123456789012:role/deploy", rule: "must not be set in a local environment of moto's default account 123456789012" },
    ]);
  });

  test("refuses what the local AWS lacks: webhooks, batch builds, the pull-through cache; one problem each", () => {
    // GIVEN
    const env = localOwner((e) => {
      e.build.dindProject.triggers = {};
      e.build.platforms = ["linux/amd64", "linux/arm64"];
      e.build.pullThroughCache = { rules: [{ upstream: "ecr-public" }] };
    });

    // WHEN
    const problems = localEnvironmentProblems(env);

    // THEN
    expect(problems).toEqual([
      { path: "build.dindProject.triggers", value: {}, rule: "must not be set in a local environment: moto has no webhooks (they deploy to AWS only)" },
      {
        path: "build.platforms",
        value: undefined,
        rule: "must not be set in a local environment: moto has no CodeBuild batch builds, which multi-arch images are (set it in real environments only)",
      },
      { path: "build.pullThroughCache", value: undefined, rule: "must not be set in a local environment: moto has no ECR pull-through cache (set it in real environments only)" },
    ]);
  });
});

describe("localConfigLines", () => {
  test("says each problem in the config's own line format, at the field's line and column", () => {
    // GIVEN a file whose local owner (in the local AWS's default account) names a role to assume, one key per line
    const raw = shippedConfig();
    raw.environments.local.assumeRoleArn = "arn:aws:iam::123456789012:role/deployer";
    const dir = tempDir("local-config-lines");
    fs.writeFileSync(path.join(dir, "environments.json"), JSON.stringify(raw, null, 2));
    const envs = validateConfig(raw, "environments.json");
    const lines0 = JSON.stringify(raw, null, 2).split("\n");
    const line = lines0.findIndex((l) => l.includes('"assumeRoleArn"')) + 1;
    const column = lines0[line - 1].indexOf('"assumeRoleArn"') + 1;

    // WHEN
    const lines = localConfigLines(envs, "environments.json", dir);

    // THEN
    expect(lines).toEqual([
      `environments.json:${line}:${column}: environment "local": assumeRoleArn "arn:aws:iam::123456789012:role/deployer" must not be set in a local environment of moto's default account 123456789012`,
    ]);
  });

  test("says nothing, and reads no file, when the local AWS can serve every environment", () => {
    expect(localConfigLines(validateConfig(shippedConfig(), "environments.json"), "missing.json", "/nonexistent")).toEqual([]);
  });
});
