import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, loadConfigFile, validateConfig } from "../../../config/environments";
import { configProblems } from "../../support/config-problems";

/**
 * `ci` in the environments file: the plan and deploy roles GitHub Actions assumes with OIDC. Both
 * in the environment's account (any partition), distinct, never beside assumeRoleArn; each bad
 * field one line at its file:line:col.
 */

const FILE = "environments.json";
const at = `${FILE}: environment "prod": `;

/** A real-account environment with CI roles. */
function withCi(edit: (prod: any) => void = () => {}): any {
  const prod: any = {
    accountId: "111111111111",
    regions: ["eu-west-1"],
    state: { bucket: "acme-tfstate", region: "eu-west-1" },
    ci: { planRoleArn: "arn:aws:iam::111111111111:role/ci/terraform-plan", deployRoleArn: "arn:aws:iam::111111111111:role/ci/terraform-deploy", githubEnvironment: "production" },
    build: { repositoryName: "acme/app", privilegedProject: { projectName: "acme-app", imageTag: "r1" }, dindProject: { projectName: "acme-app-dind", imageTag: "d1" } },
  };
  edit(prod);
  return { environments: { prod } };
}

describe("ci in the environments file", () => {
  test("accepts both roles in the environment's account, and keeps them in the environment", () => {
    const [prod] = validateConfig(withCi(), FILE);
    expect(prod.ci).toEqual({
      planRoleArn: "arn:aws:iam::111111111111:role/ci/terraform-plan",
      deployRoleArn: "arn:aws:iam::111111111111:role/ci/terraform-deploy",
      githubEnvironment: "production",
    });
  });

  test("accepts roles of another partition, and no githubEnvironment", () => {
    const raw = withCi((p) => {
      p.ci = { planRoleArn: "arn:aws-us-gov:iam::111111111111:role/plan", deployRoleArn: "arn:aws-us-gov:iam::111111111111:role/deploy" };
    });
    const [prod] = validateConfig(raw, FILE);
    expect(prod.ci?.githubEnvironment).toBeUndefined();
  });

  test.each<[string, (p: any) => void, string]>([
    ["a plan role that is no role ARN", (p) => (p.ci.planRoleArn = "terraform-plan"), `ci.planRoleArn "terraform-plan" must be an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)`],
    [
      "a deploy role in another account",
      (p) => (p.ci.deployRoleArn = "arn:aws:iam::222222222222:role/deploy"),
      `ci.deployRoleArn "arn:aws:iam::222222222222:role/deploy" must be a role in the environment's account 111111111111`,
    ],
    [
      "the same role for plan and deploy",
      (p) => (p.ci.deployRoleArn = p.ci.planRoleArn),
      `ci.deployRoleArn "arn:aws:iam::111111111111:role/ci/terraform-plan" must differ from ci.planRoleArn (pull requests plan with the plan role and must not hold deploy rights)`,
    ],
    ["a missing deploy role", (p) => delete p.ci.deployRoleArn, `ci.deployRoleArn is required`],
    ["a bad GitHub environment name", (p) => (p.ci.githubEnvironment = "prod/eu"), `ci.githubEnvironment "prod/eu" must be a GitHub environment name: 1-255 letters, digits, space, '-', '_' or '.'`],
    ["an unknown key", (p) => (p.ci.roleArn = "x"), `ci.roleArn "x" is an unknown key (known: planRoleArn, deployRoleArn, githubEnvironment)`],
  ])("refuses %s in one line", (_what, edit, rule) => {
    expect(configProblems(withCi(edit), FILE)).toEqual([`${at}${rule}`]);
  });

  test("refuses ci beside assumeRoleArn, in one line that says why", () => {
    const problems = configProblems(
      withCi((p) => (p.assumeRoleArn = "arn:aws:iam::111111111111:role/deployer")),
      FILE,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^environments\.json: environment "prod": ci \{.*\} must not be set with assumeRoleArn: CI jobs authenticate straight into the account with OIDC/);
  });

  test("names the file, line and column of the bad role", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-config-"));
    const file = path.join(dir, "environments.json");
    const text = JSON.stringify(withCi((p) => (p.ci.planRoleArn = "arn:aws:iam::333333333333:role/plan")), null, 2);
    fs.writeFileSync(file, text);
    const line = text.split("\n").findIndex((l) => l.includes('"planRoleArn"')) + 1;
    let lines: readonly string[] = [];
    try {
      loadConfigFile(file);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      lines = e.problems;
    }
    expect(line).toBeGreaterThan(0);
    expect(lines).toEqual([`${file}:${line}:9: environment "prod": ci.planRoleArn "arn:aws:iam::333333333333:role/plan" must be a role in the environment's account 111111111111`]);
  });
});
