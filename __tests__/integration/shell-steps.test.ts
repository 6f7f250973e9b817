import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { parseBuildspec } from "../../scripts/build-runner/runner";
import { BuildSpec } from "../../modules/shared/buildspec";
import { ROOT, tempDir } from "../support/app";
import { requireTool } from "../support/containers";

/**
 * The shell the project ships, run by the real tools: shellcheck on every buildspec's commands
 * (as written and as BuildSpec.bundled inlines them), every shell script and every run step of
 * the GitHub workflow; the ENVIRONMENTS refusal of CI run in bash as GitHub and CodeBuild run it.
 */

const BUILDSPECS = fs.readdirSync(path.join(ROOT, "buildspecs")).filter((f) => f.endsWith(".yml"));
const SHELL_SCRIPTS = ["buildspecs/scripts/ecr-image.sh", "scripts/setup/test-prerequisites.sh", "scripts/local-aws/require-server.sh", "scripts/image/build-image.sh", "scripts/image/image-steps.sh", "scripts/git/remotes.sh", "bench/image.sh", "bench/synth.sh", "bench/org.sh", ".ci/run"];

function shellcheck(args: string[]) {
  return spawnSync("shellcheck", args, { encoding: "utf8" });
}

/** shellcheck's verdict on a buildspec's commands, run as one script in the buildspec's shell. */
function shellcheckCommands(text: string, file: string) {
  const spec = parseBuildspec(text, file);
  const commands = Object.values(spec.phases).flatMap((p) => [...(p?.commands ?? []), ...(p?.finally ?? [])]);
  expect(commands.length).toBeGreaterThan(0);
  const script = path.join(tempDir("shellcheck"), "commands.sh");
  // One script, as CodeBuild runs them in one shell; the shebang tells shellcheck the dialect.
  fs.writeFileSync(script, `#!/bin/${spec.shell}\n${commands.join("\n")}\n`);
  const r = shellcheck([script]);
  return { status: r.status, out: r.stdout };
}
beforeAll(() => requireTool("shellcheck", "apt-get install -y shellcheck"));

describe.each(BUILDSPECS)("buildspecs/%s", (file) => {
  test("every command passes shellcheck in the buildspec's shell", () => {
    expect(shellcheckCommands(fs.readFileSync(path.join(ROOT, "buildspecs", file), "utf8"), file)).toEqual({ status: 0, out: "" });
  });
});

describe.each(["docker-push-ecr.yml", "docker-dind.yml"])("%s as BuildSpec.bundled inlines it", (file) => {
  test("every command passes shellcheck in the buildspec's shell", () => {
    expect(shellcheckCommands(BuildSpec.bundled(file).value, file)).toEqual({ status: 0, out: "" });
  });
});

describe.each(SHELL_SCRIPTS)("%s", (file) => {
  test("passes shellcheck", () => {
    const r = shellcheck([path.join(ROOT, file)]);
    expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: "" });
  });
});

describe("the workflow's run steps", () => {
  const JOBS: Record<string, any> = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "terraform.yml"), "utf8")).jobs;

  test("pass shellcheck, as GitHub runs them (bash -e, expressions replaced before the shell sees them)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-shellcheck-"));
    const scripts = Object.entries(JOBS).flatMap(([job, j]) => (j.steps as any[]).filter((st) => st.run).map((st, i) => [`${job}-${i}`, st.run as string] as const));
    expect(scripts.length).toBeGreaterThan(8);
    for (const [name, run] of scripts) {
      const file = path.join(dir, `${name}.sh`);
      fs.writeFileSync(file, `#!/bin/bash\nset -e\n${run.replace(/\$\{\{[^}]*\}\}/g, "EXPR")}\n`);
      const r = spawnSync("shellcheck", [file], { encoding: "utf8" });
      expect([name, r.status, r.stdout]).toEqual([name, 0, ""]);
    }
  });
});

/**
 * Unset, ENVIRONMENTS selects the local environments, which plan against a local AWS that CI
 * does not have: the workflow and the plan-review buildspec refuse first, in one line that names
 * the variable.
 */
describe("CI without ENVIRONMENTS", () => {
  const workflow = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "terraform.yml"), "utf8"));
  const buildspec = parseBuildspec(fs.readFileSync(path.join(ROOT, "buildspecs", "terraform-plan.yml"), "utf8"), "terraform-plan.yml");
  const WORKFLOW_REFUSAL =
    "::error::the repository variable ENVIRONMENTS is not set: set it to the environments to plan and deploy, e.g. staging,prod (Settings > Secrets and variables > Actions > Variables)\n";
  const BUILDSPEC_REFUSAL =
    "error: ENVIRONMENTS is not set: set it on the CodeBuild project or in start-build (--environment-variables-override) to the environments to plan, e.g. staging,prod\n";
  /** Runs a step's script as GitHub and CodeBuild do (bash, stop at the first failure). */
  const runStep = (script: string, environments: string | undefined) =>
    spawnSync("bash", ["--norc", "--noprofile", "-e", "-c", script], { env: { PATH: process.env.PATH, ...(environments === undefined ? {} : { ENVIRONMENTS: environments }) }, encoding: "utf8" });

  /** Runs the stacks job's guard step of a push to main, with the files a runner gives a step; returns what it wrote to them too. */
  const runGuard = (environments: string | undefined) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-guard-"));
    const files = { GITHUB_OUTPUT: path.join(dir, "output"), GITHUB_STEP_SUMMARY: path.join(dir, "summary") };
    const env = { PATH: process.env.PATH, EVENT: "push", GITHUB_REF: "refs/heads/main", GITHUB_REPOSITORY: "o/r", ...files, ...(environments === undefined ? {} : { ENVIRONMENTS: environments }) };
    const r = spawnSync("bash", ["--norc", "--noprofile", "-e", "-c", workflow.jobs.stacks.steps[0].run], { env, encoding: "utf8" });
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: read(files.GITHUB_OUTPUT), summary: read(files.GITHUB_STEP_SUMMARY) };
  };

  test.each([undefined, "", "  "])("the workflow refuses ENVIRONMENTS=%j in one line naming the variable, also as the job's reason and in the run summary", (value) => {
    const reason = WORKFLOW_REFUSAL.replace("::error::", "");
    expect(runGuard(value)).toEqual({ status: 1, stdout: WORKFLOW_REFUSAL, stderr: "", output: `reason=${reason}`, summary: reason });
  });

  test("the workflow goes on when ENVIRONMENTS names environments", () => {
    expect(runGuard("staging,prod")).toEqual({ status: 0, stdout: "", stderr: "", output: "", summary: "" });
  });

  test.each([undefined, "", " "])("the plan-review buildspec refuses ENVIRONMENTS=%j first, in one line naming the variable", (value) => {
    const first = buildspec.phases.install!.commands[0];
    const r = runStep(first, value);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 1, stdout: "", stderr: BUILDSPEC_REFUSAL });
    expect(runStep(first, "staging").status).toBe(0);
  });
});
