import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, checkConfig, loadConfigFile } from "../../config/environments";
import { main } from "../../main";
import { singleAccountLocal } from "../support/environments";
import { configProblems } from "../support/config-problems";

/**
 * One pass reports everything: schema, cross-field and construct checks run
 * for every environment that can be built at all, so one problem hides no other, and a problem
 * shared by the regions of one environment is one line naming all its stacks.
 */

/** The file name the problem lines of validateConfig carry; it never reads it. */
const FILE = "config/test-environments.json";

/** A parsed environments file. Raw JSON on purpose: the tests put bad values into it. */
type RawConfig = { environments: Record<string, any> };

const DIND_IMAGE_RULE =
  "must be an image reference pinned to a version tag or sha256 digest (not untagged, not a moving tag such as dind or latest), e.g. docker:27.3.1-dind";

/** A real-account environment with one region, valid on its own. */
function prodEnvironment(): Record<string, any> {
  return {
    accountId: "111111111111",
    regions: ["eu-west-1"],
    assumeRoleArn: "arn:aws:iam::111111111111:role/cdktf-deploy",
    state: { bucket: "codebuild-docker-tfstate-prod", region: "eu-west-1" },
    build: {
      repositoryName: "codebuild-sample/dckr-push-ecr",
      privilegedProject: {
        projectName: "codebuild-sample-dckr-push-ecr",
        imageTag: "v1.0.0",
        source: { type: "GITHUB", location: "https://github.com/example/app.git", branch: "main" },
      },
      dindProject: { projectName: "codebuild-sample-dckr-dind", imageTag: "v1.0.0-dind", image: "docker:27.3.1-dind" },
    },
  };
}

/** The single-account local environment (two regions, both build) and prod. */
function twoEnvironments(): RawConfig {
  return { environments: { local: singleAccountLocal(), prod: prodEnvironment() } };
}

const problemsOf = (raw: unknown) => configProblems(raw, FILE);

describe("cross-field rules run beside schema problems", () => {
  test("an invalid region does not hide an assumeRoleArn in another account", () => {
    // GIVEN
    const raw = twoEnvironments();
    raw.environments.prod.regions = ["eu-west-9"];
    raw.environments.prod.assumeRoleArn = "arn:aws:iam::222222222222:role/cdktf-deploy";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "prod": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`,
      `${FILE}: environment "prod": assumeRoleArn "arn:aws:iam::222222222222:role/cdktf-deploy" must be a role in the environment's account 111111111111`,
    ]);
  });

  test("a bad field of a project does not hide a self-grant in pullAccountIds or equal project names", () => {
    // GIVEN
    const raw = twoEnvironments();
    const build = raw.environments.prod.build;
    build.privilegedProject.imageTag = ".bad";
    build.repository = { pullAccountIds: ["111111111111"] };
    build.dindProject.projectName = build.privilegedProject.projectName;

    // WHEN
    const problems = problemsOf(raw);

    // THEN the file's own rules first, then the constructs' (the project's imageTag)
    expect(problems).toEqual([
      expect.stringMatching(/^config\/test-environments\.json: environment "prod": build\.repository\.pullAccountIds "111111111111" is the environment's own account: /),
      `${FILE}: environment "prod": build.dindProject.projectName "codebuild-sample-dckr-push-ecr" must differ from build.privilegedProject.projectName`,
      `${FILE}: environment "prod": build.privilegedProject.imageTag ".bad" must be a Docker tag: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
    ]);
  });

  test("a replica region outside the regions is reported beside a bad item of replicaRegions", () => {
    // GIVEN
    const raw = twoEnvironments();
    raw.environments.local.build.replicaRegions = ["eu-west-9", "ap-south-1"];

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([
      `${FILE}: environment "local": build.replicaRegions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`,
      `${FILE}: environment "local": build.replicaRegions "ap-south-1" is not one of the environment's regions (eu-central-1, us-east-1)`,
    ]);
  });

  test("a rule whose input is itself invalid is skipped: a bad accountId gives one line, not a follow-on about assumeRoleArn", () => {
    // GIVEN
    const raw = twoEnvironments();
    raw.environments.prod.accountId = "1234";

    // WHEN
    const problems = problemsOf(raw);

    // THEN
    expect(problems).toEqual([`${FILE}: environment "prod": accountId "1234" must be exactly 12 digits (an AWS account ID)`]);
  });

  test("loadConfigFile still throws on a file where only some environments are bad", () => {
    // GIVEN
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "one-pass-load-"));
    const file = path.join(dir, "environments.json");
    const raw = twoEnvironments();
    raw.environments.prod.accountId = "1234";
    fs.writeFileSync(file, JSON.stringify(raw));

    try {
      // WHEN
      const act = () => loadConfigFile(file);

      // THEN
      expect(act).toThrow(ConfigError);
      const column = JSON.stringify(raw).indexOf('"accountId":"1234"') + 1;
      expect(act).toThrow(`${file}:1:${column}: environment "prod": accountId "1234" must be exactly 12 digits (an AWS account ID)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("checkConfig: the environments that can be built despite the problems", () => {
  /** A local environment of its own account that pulls from `owner`. */
  function consumer(owner: string, accountId: string): Record<string, any> {
    const { build: _build, ...rest } = prodEnvironment();
    return { ...rest, accountId, assumeRoleArn: `arn:aws:iam::${accountId}:role/cdktf-deploy`, pullFrom: owner };
  }

  test("are the valid ones, in file order, when another is bad on its own", () => {
    // GIVEN
    const raw = twoEnvironments();
    raw.environments.local.regions = ["eu-west-9"];

    // WHEN
    const checked = checkConfig(raw, FILE);

    // THEN
    expect(checked.problems).toHaveLength(1);
    expect(checked.environments.map((e) => e.name)).toEqual(["prod"]);
    expect(checked.declared).toEqual([
      { name: "local", local: true },
      { name: "prod", local: false },
    ]);
  });

  test("leave out one that breaks a rule between environments, and every one that refers to a left-out one", () => {
    // GIVEN a (an owner) pulls from a missing environment; b pulls from a; c and d pull from each other
    const raw = twoEnvironments();
    raw.environments.a = { ...prodEnvironment(), accountId: "210987654321", assumeRoleArn: "arn:aws:iam::210987654321:role/x", pullFrom: "missing" };
    raw.environments.b = consumer("a", "310987654321");
    raw.environments.c = { ...prodEnvironment(), accountId: "410987654321", assumeRoleArn: "arn:aws:iam::410987654321:role/x", pullFrom: "d" };
    raw.environments.d = { ...prodEnvironment(), accountId: "510987654321", assumeRoleArn: "arn:aws:iam::510987654321:role/x", pullFrom: "c" };

    // WHEN
    const checked = checkConfig(raw, FILE);

    // THEN
    expect(checked.problems).toEqual([
      expect.stringMatching(/environment "a": pullFrom "missing" is not an environment of this file/),
      expect.stringMatching(/environment "c": pullFrom "d" forms a cycle: c -> d -> c/),
    ]);
    expect(checked.environments.map((e) => e.name)).toEqual(["local", "prod"]);
  });

  test("leave out one with an invalid name", () => {
    // GIVEN
    const raw = twoEnvironments();
    raw.environments.Prod2 = { ...prodEnvironment(), accountId: "610987654321", assumeRoleArn: "arn:aws:iam::610987654321:role/x" };

    // WHEN
    const checked = checkConfig(raw, FILE);

    // THEN
    expect(checked.problems).toEqual([expect.stringMatching(/environment "Prod2" has an invalid name/)]);
    expect(checked.environments.map((e) => e.name)).toEqual(["local", "prod"]);
  });
});

describe("main (in-process): config and construct problems in one run", () => {
  let dir: string;
  let outdir: string;
  let stderr: string;

  /** Runs the app on `config` with the given ENVIRONMENTS; returns its exit code and fills `stderr`. */
  function run(config: RawConfig, environments?: string): number {
    const file = path.join(dir, "environments.json");
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    const vars: NodeJS.ProcessEnv = { CONFIG_FILE: file, CDKTF_OUTDIR: outdir };
    if (environments !== undefined) vars.ENVIRONMENTS = environments;
    const write = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    try {
      return main(vars);
    } finally {
      write.mockRestore();
    }
  }

  /** The `error: ` lines of the run, without the prefix. */
  function errors(): string[] {
    return stderr
      .split("\n")
      .filter((l) => l.startsWith("error: "))
      .map((l) => l.slice("error: ".length));
  }

  /** `<file>:<line>:<column>` of the first occurrence of `needle` in the file the run read. */
  function at(needle: string): string {
    const file = path.join(dir, "environments.json");
    const text = fs.readFileSync(file, "utf8");
    const offset = text.indexOf(needle);
    if (offset < 0) throw new Error(`${needle} is not in ${file}`);
    const before = text.slice(0, offset).split("\n");
    return `${file}:${before.length}:${(before[before.length - 1] as string).length + 1}`;
  }

  /** Whatever the run left next to the output folder (the output folder itself, staging folders). */
  function written(): string[] {
    return fs.readdirSync(dir).filter((n) => n !== "environments.json");
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "one-pass-"));
    outdir = path.join(dir, "cdktf.out");
    stderr = "";
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a bad account in one environment does not hide a moving dind image in another, printed once for both of its stacks", () => {
    // GIVEN
    const config = twoEnvironments();
    config.environments.prod.accountId = "1111-1111-1111";
    config.environments.local.build.dindProject.image = "docker:latest";

    // WHEN
    const status = run(config, "all");

    // THEN config problems first, then construct problems, one line each
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"accountId": "1111-1111-1111"')}: environment "prod": accountId "1111-1111-1111" must be exactly 12 digits (an AWS account ID)`,
      `${at('"image": "docker:latest"')}: environment "local": build.dindProject.image "docker:latest" ${DIND_IMAGE_RULE}`,
    ]);
    expect(stderr).toContain(`synth failed: 2 problem(s); nothing was written to ${outdir}\n`);
    expect(written()).toEqual([]);
  });

  test("a policy-pack violation is reported beside another environment's config problem", () => {
    // GIVEN scan on push off in local (the config allows it, the policy pack does not); prod's region unknown
    const config = twoEnvironments();
    config.environments.prod.regions = ["eu-west-9"];
    config.environments.local.build.repository = { scanOnPush: false };
    const file = path.join(dir, "environments.json");

    // WHEN
    const status = run(config, "all");

    // THEN
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"eu-west-9"')}: environment "prod": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`,
      ...["local-eu-central-1", "local-us-east-1"].map(
        (stack) =>
          `${file}: stack ${stack}: CKV_AWS_163 violated at ${stack}/Repository/Resource: ECR repositories scan images on push (scan_on_push is not true). Fix: set scanOnPush to true (the EcrRepo default). Mirrors checkov CKV_AWS_163.`,
      ),
    ]);
    expect(written()).toEqual([]);
  });

  test("a construct refusing its props in one environment does not hide a policy-pack violation in another", () => {
    // GIVEN local's dind image moves (refused when the stack is built); prod's repository does not scan on push (the policy pack)
    const config = twoEnvironments();
    config.environments.local.build.dindProject.image = "docker:latest";
    config.environments.prod.build.repository = { scanOnPush: false };
    const file = path.join(dir, "environments.json");

    // WHEN
    const status = run(config, "all");

    // THEN
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"image": "docker:latest"')}: environment "local": build.dindProject.image "docker:latest" ${DIND_IMAGE_RULE}`,
      `${file}: stack prod-eu-west-1: CKV_AWS_163 violated at prod-eu-west-1/Repository/Resource: ECR repositories scan images on push (scan_on_push is not true). Fix: set scanOnPush to true (the EcrRepo default). Mirrors checkov CKV_AWS_163.`,
    ]);
    expect(written()).toEqual([]);
  });

  test("a bad environment named in ENVIRONMENTS is reported by its own lines, not as unknown, beside the others' construct problems", () => {
    // GIVEN
    const config = twoEnvironments();
    config.environments.prod.accountId = "1";
    config.environments.local.build.dindProject.image = "docker:latest";

    // WHEN
    const status = run(config, "prod,local");

    // THEN
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"accountId": "1"')}: environment "prod": accountId "1" must be exactly 12 digits (an AWS account ID)`,
      `${at('"image": "docker:latest"')}: environment "local": build.dindProject.image "docker:latest" ${DIND_IMAGE_RULE}`,
    ]);
    expect(written()).toEqual([]);
  });

  test("checks the construct rules of every environment, one not selected too, at its field", () => {
    // GIVEN local selected (ENVIRONMENTS unset), prod bad in both its config and its constructs
    const config = twoEnvironments();
    config.environments.prod.regions = ["eu-west-9", "eu-west-1"];
    config.environments.prod.build.dindProject.image = "docker:latest";

    // WHEN
    const status = run(config);

    // THEN
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"eu-west-9"')}: environment "prod": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`,
      `${at('"image": "docker:latest"')}: environment "prod": build.dindProject.image "docker:latest" ${DIND_IMAGE_RULE}`,
    ]);
    expect(written()).toEqual([]);
  });

  test("a rule broken between environments does not hide a construct problem of another", () => {
    // GIVEN prod pulls from an environment the file lacks; local's dind image moves
    const config = twoEnvironments();
    config.environments.prod.pullFrom = "shared";
    config.environments.local.build.dindProject.image = "docker:latest";

    // WHEN
    const status = run(config, "all");

    // THEN
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"pullFrom"')}: environment "prod": pullFrom "shared" is not an environment of this file (known: local, prod)`,
      `${at('"image": "docker:latest"')}: environment "local": build.dindProject.image "docker:latest" ${DIND_IMAGE_RULE}`,
    ]);
    expect(written()).toEqual([]);
  });

  test("an environment that pulls from a bad one is not built, and its owner's problem is reported once", () => {
    // GIVEN staging pulls from local, whose repository name is bad
    const config = twoEnvironments();
    config.environments.local.build.repositoryName = "Bad_Name";
    const { build: _build, ...withoutBuild } = prodEnvironment();
    config.environments.staging = { ...withoutBuild, local: true, pullFrom: "local", accountId: "210987654321", assumeRoleArn: "arn:aws:iam::210987654321:role/cdktf-deploy" };

    // WHEN
    const status = run(config, "all");

    // THEN
    expect(status).toBe(1);
    expect(errors()).toEqual([
      `${at('"repositoryName": "Bad_Name"')}: environment "local": build.repositoryName "Bad_Name" must be lowercase (ECR naming rules)`,
    ]);
    expect(written()).toEqual([]);
  });
});
