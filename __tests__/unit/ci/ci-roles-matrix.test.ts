import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { matrixFor, parseStackList } from "../../../scripts/plan-review/ci-matrix";
import { listStacks } from "../../../scripts/stacks/list";

/**
 * The CI roles travel from the config to the workflow's matrices: the stack list carries each
 * environment's ci roles, the plan jobs read their stack's plan role from plan_roles, each deploy
 * row carries its environment's deploy role, and the plan matrix is cut at GitHub's 256 jobs.
 */

const ROOT = path.resolve(__dirname, "..", "..", "..");
const PLAN = "arn:aws:iam::111111111111:role/ci/terraform-plan";
const DEPLOY = "arn:aws:iam::111111111111:role/ci/terraform-deploy";

describe("the CI roles in the stack list and the matrices", () => {
  test("the stack list carries the ci roles and GitHub environment of an environment that has them, and nothing for one without", () => {
    // GIVEN
    const environments = {
      prod: {
        accountId: "111111111111",
        regions: ["eu-west-1"],
        state: { bucket: "acme-tfstate", region: "eu-west-1" },
        ci: { planRoleArn: PLAN, deployRoleArn: DEPLOY, githubEnvironment: "production" },
        build: { repositoryName: "acme/app", privilegedProject: { projectName: "acme-app", imageTag: "r1" }, dindProject: { projectName: "acme-app-dind", imageTag: "d1" } },
      },
      staging: { accountId: "222222222222", regions: ["eu-west-1"], state: { bucket: "acme-tfstate-staging", region: "eu-west-1" }, pullFrom: "prod" },
    };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ci-roles-")), "environments.json");
    fs.writeFileSync(file, JSON.stringify({ environments }));

    // WHEN
    const stacks = listStacks({ env: { CONFIG_FILE: file, ENVIRONMENTS: "prod,staging" }, cwd: ROOT, root: ROOT });

    // THEN
    expect(stacks.find((s) => s.name === "prod-eu-west-1")).toMatchObject({ planRoleArn: PLAN, deployRoleArn: DEPLOY, githubEnvironment: "production" });
    const staging = stacks.find((s) => s.name === "staging-eu-west-1")!;
    expect(["planRoleArn", "deployRoleArn", "githubEnvironment"].filter((k) => k in staging)).toEqual([]);
  });

  test("plan_roles maps each stack to its plan role; a deploy row carries the deploy role, and ci.githubEnvironment wins over --classes", () => {
    // GIVEN
    const stacks = parseStackList(
      JSON.stringify([
        { name: "prod-eu-west-1", environment: "prod", wave: 0, planRoleArn: PLAN, deployRoleArn: DEPLOY, githubEnvironment: "production" },
        { name: "dev-eu-west-1", environment: "dev", wave: 0 },
      ]),
      "stacks.json",
    );

    // WHEN
    const out = matrixFor(stacks, 3, { prod: "prod-class", dev: "dev-class" }, [], []);

    // THEN
    expect(JSON.parse(out.plan_roles)).toEqual({ "prod-eu-west-1": PLAN, "dev-eu-west-1": "" });
    expect(JSON.parse(out.wave0)).toEqual([
      expect.objectContaining({ environment: "prod", github_environment: "production", deploy_role: DEPLOY }),
      expect.objectContaining({ environment: "dev", github_environment: "dev-class", deploy_role: "" }),
    ]);
  });
});
