import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shippedLocalStacks, singleAccountLocal } from "../support/environments";
import { OUTPUT_MARKER } from "../../config/output-folder";

/** The project root: the app runs from here, as `npm run synth` runs it. */
const ROOT = path.join(__dirname, "..", "..");
/** The compiled entry point; `npm test` builds it before jest runs. */
const MAIN_JS = path.join("dist", "main.js");
/** Variables of the caller that would change what the app does; every run starts without them. */
const APP_VARIABLES = ["CONFIG_FILE", "ENVIRONMENTS", "CDKTF_OUTDIR", "AWS_ENDPOINT_URL", "ALLOW_LOCAL_ENDPOINT", "CDKTF_CONTEXT_JSON", "CDKTF_TARGET_STACK_ID", "SYNTH_HCL_OUTPUT"];

/** A parsed environments file. Raw JSON on purpose: the tests put bad values into it. */
type RawConfig = { environments: Record<string, any>; [key: string]: unknown };

/** What one run of the app left behind. */
interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/main.js` in the project root with the given variables (and none of the caller's). */
function runMain(vars: { readonly CDKTF_OUTDIR: string; readonly CONFIG_FILE?: string; readonly ENVIRONMENTS?: string; readonly AWS_ENDPOINT_URL?: string }): Run {
  if (!fs.existsSync(path.join(ROOT, MAIN_JS))) {
    throw new Error(`${path.join(ROOT, MAIN_JS)} is missing: run \`npm run build\` first (\`npm test\` builds before running jest)`);
  }
  const env: NodeJS.ProcessEnv = {};
  // Service-specific endpoints too: with one exported, the app refuses real environments.
  for (const [k, v] of Object.entries(process.env)) if (!APP_VARIABLES.includes(k) && !k.startsWith("AWS_ENDPOINT_URL_")) env[k] = v;
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  const result = spawnSync(process.execPath, [MAIN_JS], { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A real-account environment with one region. */
function prodEnvironment(): Record<string, any> {
  return {
    description: "Production account.",
    accountId: "111111111111",
    regions: ["eu-west-1"],
    assumeRoleArn: "arn:aws:iam::111111111111:role/cdktf-deploy",
    state: { bucket: "codebuild-docker-tfstate-prod", region: "eu-west-1", dynamodbTable: "terraform-locks" },
    tags: { Project: "codebuild-docker", Environment: "prod" },
    build: {
      repositoryName: "codebuild-sample/dckr-push-ecr",
      privilegedProject: {
        projectName: "codebuild-sample-dckr-push-ecr",
        imageTag: "v1.0.0",
        source: { type: "GITHUB", location: "https://github.com/example/app.git", branch: "main" },
        badge: true,
      },
      dindProject: { projectName: "codebuild-sample-dckr-dind", imageTag: "v1.0.0-dind", image: "docker:27.3.1-dind" },
    },
  };
}

/**
 * A config with a single-account local environment (the shipped one without replication, so both
 * its regions build) and prod.
 */
function twoEnvironments(): RawConfig {
  return { environments: { local: singleAccountLocal(), prod: prodEnvironment() } };
}

/** The stack folders of a synthesized output folder, sorted. */
function stackFolders(outdir: string): string[] {
  return fs.readdirSync(path.join(outdir, "stacks")).sort();
}

/** The stacks the manifest of a synthesized output folder lists, sorted. */
function manifestStacks(outdir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8"));
  return Object.keys(manifest.stacks).sort();
}

/**
 * `stderr` without the construct warnings (`warning: <file>: stack <name>: …`), for tests about
 * something else: the fixtures carry some (fixed tags on IMMUTABLE repositories, projects without
 * a source). The warnings themselves are tested in synth-app.test.ts.
 */
function withoutConstructWarnings(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !/^warning: .*: stack [a-z0-9-]+: /.test(l))
    .join("\n");
}

describe("main (node dist/main.js)", () => {
  let dir: string;
  let outdir: string;
  let configFile: string;

  /** Writes `config` as the environments file of this test. */
  function writeConfig(config: unknown): string {
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    return configFile;
  }

  /** Staging folders (`<outdir>.partial-<pid>`) left next to the output folder. */
  function stagingFolders(): string[] {
    return fs.readdirSync(path.dirname(outdir)).filter((n) => n.startsWith(`${path.basename(outdir)}.partial-`));
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "main-test-"));
    outdir = path.join(dir, "cdktf.out");
    configFile = path.join(dir, "environments.json");
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("with a valid config", () => {
    test("writes exactly the five stacks of the local organization (every local environment) from the default config", () => {
      // GIVEN
      const organization = [...shippedLocalStacks()].sort();

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir });

      // THEN
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(organization).toHaveLength(5);
      expect(organization).toEqual(expect.arrayContaining(["local-eu-central-1", "local-us-east-1"]));
      expect(manifestStacks(outdir)).toEqual(organization);
      expect(stackFolders(outdir)).toEqual(organization);
      for (const stack of stackFolders(outdir)) expect(fs.existsSync(path.join(outdir, "stacks", stack, "cdk.tf.json"))).toBe(true);
      expect(stagingFolders()).toEqual([]);
    });

    test("writes one stack per environment and region when ENVIRONMENTS is all", () => {
      // GIVEN
      const file = writeConfig(twoEnvironments());

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file, ENVIRONMENTS: "all" });

      // THEN
      expect(withoutConstructWarnings(run.stderr)).toBe("");
      expect(run.status).toBe(0);
      expect(manifestStacks(outdir)).toEqual(["local-eu-central-1", "local-us-east-1", "prod-eu-west-1"]);
      expect(stackFolders(outdir)).toEqual(["local-eu-central-1", "local-us-east-1", "prod-eu-west-1"]);
      const prod = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "prod-eu-west-1", "cdk.tf.json"), "utf8"));
      expect(prod.provider.aws[0]).toMatchObject({ region: "eu-west-1", allowed_account_ids: ["111111111111"] });
      expect(stagingFolders()).toEqual([]);
    });

    test("writes only the stacks of the environments ENVIRONMENTS names", () => {
      // GIVEN
      const file = writeConfig(twoEnvironments());

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file, ENVIRONMENTS: "prod" });

      // THEN
      expect(run.status).toBe(0);
      expect(manifestStacks(outdir)).toEqual(["prod-eu-west-1"]);
      expect(stackFolders(outdir)).toEqual(["prod-eu-west-1"]);
    });

    test("replaces a previous output folder given with a trailing slash", () => {
      // GIVEN
      fs.mkdirSync(outdir);
      fs.writeFileSync(path.join(outdir, OUTPUT_MARKER), "{}\n"); // what makes it a previous output
      fs.writeFileSync(path.join(outdir, "marker"), "previous synth");

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: `${outdir}/` });

      // THEN
      expect(run.status).toBe(0);
      expect(fs.existsSync(path.join(outdir, "marker"))).toBe(false);
      expect(stackFolders(outdir)).toEqual([...shippedLocalStacks()].sort());
      expect(fs.readdirSync(dir).filter((n) => n.includes(".partial-") || n.includes(".previous-"))).toEqual([]);
    });

    test("replaces a previous output folder", () => {
      // GIVEN
      fs.mkdirSync(path.join(outdir, "stacks", "gone-eu-west-1"), { recursive: true });
      fs.writeFileSync(path.join(outdir, OUTPUT_MARKER), "{}\n"); // what makes it a previous output
      fs.writeFileSync(path.join(outdir, "marker"), "previous synth");

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir });

      // THEN
      expect(run.status).toBe(0);
      expect(fs.existsSync(path.join(outdir, "marker"))).toBe(false);
      expect(stackFolders(outdir)).toEqual([...shippedLocalStacks()].sort());
      expect(stagingFolders()).toEqual([]);
    });
  });

  describe("with bad input", () => {
    interface BadInput {
      /** Changes a valid two-environment config; unset runs the config unchanged. */
      readonly change?: (config: RawConfig) => void;
      /** The ENVIRONMENTS variable. */
      readonly environments?: string;
      /** The lines stderr must hold, after `error: `; `at(text, nth)` is `<file>:<line>:<column>` of the nth `text` in the file. */
      readonly lines: (file: string, at: (text: string, nth?: number) => string) => string[];
    }

    const DIND_IMAGE_RULE =
      "must be an image reference pinned to a version tag or sha256 digest (not untagged, not a moving tag such as dind or latest), e.g. docker:27.3.1-dind";

    const CASES: Array<[string, BadInput]> = [
      [
        "an unknown region",
        {
          change: (c) => (c.environments.prod.regions = ["eu-west-9"]),
          lines: (_f, at) => [`${at('"eu-west-9"')}: environment "prod": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`],
        },
      ],
      [
        "an account ID that is not 12 digits",
        {
          change: (c) => (c.environments.prod.accountId = "1111-1111-1111"),
          lines: (_f, at) => [`${at('"accountId": "1111-1111-1111"')}: environment "prod": accountId "1111-1111-1111" must be exactly 12 digits (an AWS account ID)`],
        },
      ],
      [
        "a duplicate region",
        {
          change: (c) => (c.environments.local.regions = ["eu-central-1", "eu-central-1"]),
          lines: (_f, at) => [`${at('"eu-central-1"', 2)}: environment "local": regions[1] "eu-central-1" is a duplicate region`],
        },
      ],
      [
        "a bad repository name",
        {
          change: (c) => (c.environments.local.build.repositoryName = "My_Repo"),
          lines: (_f, at) => [
            `${at('"repositoryName": "My_Repo"')}: environment "local": build.repositoryName "My_Repo" must be lowercase (ECR naming rules)`,
          ],
        },
      ],
      [
        "an unknown key",
        {
          change: (c) => (c.environments.local.build.privilegedProject.foo = "bar"),
          lines: (_f, at) => [
            `${at('"foo"')}: environment "local": build.privilegedProject.foo "bar" is an unknown key ` +
              "(known: projectName, imageTag, dockerfile, buildContext, image, computeType, buildTimeoutMinutes, queuedTimeoutMinutes, logRetentionDays, concurrentBuildLimit, badge, source, triggers, environmentVariables)",
          ],
        },
      ],
      [
        "a value of the wrong type",
        {
          change: (c) => (c.environments.local.regions = "eu-central-1"),
          lines: (_f, at) => [`${at('"regions": "eu-central-1"')}: environment "local": regions "eu-central-1" must be an array, not string`],
        },
      ],
      [
        "several problems at once",
        {
          change: (c) => {
            c.environments.local.build.privilegedProject.badge = "yes";
            c.environments.prod.regions = ["eu-west-9"];
          },
          lines: (_f, at) => [
            `${at('"badge": "yes"')}: environment "local": build.privilegedProject.badge "yes" must be true or false, not string`,
            `${at('"eu-west-9"')}: environment "prod": regions[0] "eu-west-9" is not a known AWS region (see config/regions.ts)`,
          ],
        },
      ],
      [
        "an unknown ENVIRONMENTS name",
        {
          environments: "local,staging",
          lines: (f) => [`ENVIRONMENTS: "staging" is not an environment of ${f} (known: local, prod, or all)`],
        },
      ],
      [
        "a dind image on a moving tag (caught by the construct, reported at the field)",
        {
          change: (c) => (c.environments.local.build.dindProject.image = "docker:dind"),
          lines: (_f, at) => [
            // One line for the problem of both stacks (the environment's two regions), at the config field.
            `${at('"image": "docker:dind"')}: environment "local": build.dindProject.image "docker:dind" ${DIND_IMAGE_RULE}`,
          ],
        },
      ],
      [
        "a badge without a source (caught by the construct, reported at the field)",
        {
          change: (c) => (c.environments.local.build.privilegedProject.badge = true),
          lines: (_f, at) => [
            `${at('"badge": true')}: environment "local": build.privilegedProject.badge true needs a GITHUB or CODECOMMIT source (CodeBuild has no badge for S3)`,
          ],
        },
      ],
    ];

    test.each(CASES)("exits 1, names the problem and writes no output for %s", (_name, bad) => {
      // GIVEN
      const config = twoEnvironments();
      bad.change?.(config);
      const file = writeConfig(config);

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file, ENVIRONMENTS: bad.environments });

      // THEN
      expect(run.status).toBe(1);
      const text = fs.readFileSync(file, "utf8");
      const at = (needle: string, nth = 1): string => {
        let offset = -1;
        for (let i = 0; i < nth; i++) offset = text.indexOf(needle, offset + 1);
        if (offset < 0) throw new Error(`${needle} (${nth}) is not in ${file}`);
        const before = text.slice(0, offset).split("\n");
        return `${file}:${before.length}:${(before[before.length - 1] as string).length + 1}`;
      };
      const lines = bad.lines(file, at);
      for (const line of lines) expect(run.stderr).toContain(`error: ${line}\n`);
      expect(run.stderr).toContain(`synth failed: ${lines.length} problem(s); nothing was written to ${outdir}\n`);
      expect(fs.existsSync(outdir)).toBe(false);
      expect(stagingFolders()).toEqual([]);
    });

    test("reports the problems of every construct of a stack in one run", () => {
      // GIVEN
      const config = twoEnvironments();
      config.environments.local.build.privilegedProject.badge = true;
      config.environments.local.build.dindProject.image = "docker:dind";
      const file = writeConfig(config);

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file });

      // THEN
      expect(run.status).toBe(1);
      const text = fs.readFileSync(file, "utf8").split("\n");
      const at = (field: string) => {
        const line = text.findIndex((l) => l.trimStart().startsWith(field));
        return `${file}:${line + 1}:${(text[line] as string).indexOf(field) + 1}`;
      };
      expect(run.stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([
        `error: ${at('"badge": true')}: environment "local": build.privilegedProject.badge true needs a GITHUB or CODECOMMIT source (CodeBuild has no badge for S3)`,
        `error: ${at('"image": "docker:dind"')}: environment "local": build.dindProject.image "docker:dind" ${DIND_IMAGE_RULE}`,
      ]);
    });

    test("fails on a policy-pack violation in every stack it occurs in, and writes nothing", () => {
      // GIVEN scan on push turned off, which the config allows but the policy pack does not
      const config = twoEnvironments();
      config.environments.local.build.repository = { scanOnPush: false };
      const file = writeConfig(config);

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file });

      // THEN
      expect(run.status).toBe(1);
      const errors = run.stderr.split("\n").filter((l) => l.startsWith("error: "));
      expect(errors).toEqual(
        ["local-eu-central-1", "local-us-east-1"].map(
          (stack) =>
            `error: ${file}: stack ${stack}: CKV_AWS_163 violated at ${stack}/Repository/Resource: ECR repositories scan images on push (scan_on_push is not true). Fix: set scanOnPush to true (the EcrRepo default). Mirrors checkov CKV_AWS_163.`,
        ),
      );
      expect(fs.existsSync(outdir)).toBe(false);
      expect(stagingFolders()).toEqual([]);
    });

    test("refuses an AWS_ENDPOINT_URL that is not an http(s) URL", () => {
      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: "localhost:5000" });

      // THEN
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`error: AWS_ENDPOINT_URL "localhost:5000" must be an http(s) URL such as http://127.0.0.1:5000\n`);
      expect(fs.existsSync(outdir)).toBe(false);
    });

    test("says what an unset ENVIRONMENTS selects when the file has no local environment", () => {
      // GIVEN
      const file = writeConfig({ environments: { prod: prodEnvironment() } });

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file });

      // THEN
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `error: ENVIRONMENTS is unset, which selects every local environment ("local": true), but ${file} declares none (known: prod); set ENVIRONMENTS to a name or all\n`,
      );
      expect(fs.existsSync(outdir)).toBe(false);
    });

    test("prints one error line per problem and a summary, nothing else", () => {
      // GIVEN
      const config = twoEnvironments();
      config.environments.prod.accountId = "1";
      const file = writeConfig(config);
      const line = fs.readFileSync(file, "utf8").split("\n").indexOf('      "accountId": "1",') + 1;
      expect(line).toBeGreaterThan(0);

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file, ENVIRONMENTS: "all" });

      // THEN
      expect(run.status).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(
        `error: ${file}:${line}:7: environment "prod": accountId "1" must be exactly 12 digits (an AWS account ID)\n` +
          `synth failed: 1 problem(s); nothing was written to ${outdir}\n`,
      );
    });

    test("exits 1 and names the file when CONFIG_FILE does not exist", () => {
      // GIVEN
      const file = path.join(dir, "missing.json");

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file });

      // THEN
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`error: ${file}: cannot read the environments file (ENOENT)\n`);
      expect(fs.existsSync(outdir)).toBe(false);
      expect(stagingFolders()).toEqual([]);
    });

    test("exits 1 and names the file, line and column when it is not valid JSON", () => {
      // GIVEN
      fs.writeFileSync(configFile, "{ environments: }");

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: configFile });

      // THEN
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `error: ${configFile}:1:3: expected a property name in double quotes, found 'environments'\n  1 | { environments: }\n    |   ^\nsynth failed: 1 problem(s)`,
      );
      expect(fs.existsSync(outdir)).toBe(false);
      expect(stagingFolders()).toEqual([]);
    });

    test.each<[string, (c: RawConfig) => void]>([
      ["a config error", (c) => (c.environments.local.regions = ["eu-west-9"])],
      ["a construct error", (c) => (c.environments.local.build.dindProject.image = "docker:dind")],
    ])("leaves a previous output folder as it was after %s", (_name, change) => {
      // GIVEN
      fs.mkdirSync(path.join(outdir, "stacks", "local-eu-central-1"), { recursive: true });
      fs.writeFileSync(path.join(outdir, "marker"), "previous synth");
      fs.writeFileSync(path.join(outdir, "stacks", "local-eu-central-1", "cdk.tf.json"), "{}");
      const config = twoEnvironments();
      change(config);
      const file = writeConfig(config);

      // WHEN
      const run = runMain({ CDKTF_OUTDIR: outdir, CONFIG_FILE: file });

      // THEN
      expect(run.status).toBe(1);
      expect(fs.readdirSync(outdir).sort()).toEqual(["marker", "stacks"]);
      expect(fs.readFileSync(path.join(outdir, "marker"), "utf8")).toBe("previous synth");
      expect(stackFolders(outdir)).toEqual(["local-eu-central-1"]);
      expect(fs.readFileSync(path.join(outdir, "stacks", "local-eu-central-1", "cdk.tf.json"), "utf8")).toBe("{}");
      expect(stagingFolders()).toEqual([]);
    });
  });
});
