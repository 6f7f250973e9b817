import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseBuildspec, PHASE_NAMES } from "../scripts/build-runner/runner";
import { BuildSpec } from "../modules/shared/buildspec";
import { ROOT, tempDir } from "./support/app";
import { ECR_IMAGE_SH, HEREDOC_END, INCLUDE_LINE } from "./support/buildspecs";
import { requireTool } from "./support/containers";

const BUILDSPECS = fs.readdirSync(path.join(ROOT, "buildspecs")).filter((f) => f.endsWith(".yml"));
const SHELL_SCRIPTS = ["buildspecs/scripts/ecr-image.sh", "scripts/setup/test-prerequisites.sh", "scripts/image/build-image.sh", "scripts/git/remotes.sh", "bench/image.sh", "bench/synth.sh", "bench/org.sh", ".ci/run"];

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

describe("buildspecs/", () => {
  beforeAll(() => requireTool("shellcheck", "apt-get install -y shellcheck"));

  test("holds the image buildspecs (single image, docker:dind, multi-arch batch) and the plan-review buildspec", () => {
    expect(BUILDSPECS.sort()).toEqual(["docker-dind.yml", "docker-push-ecr-multiarch.yml", "docker-push-ecr.yml", "terraform-plan.yml"]);
  });

  describe.each(BUILDSPECS)("%s", (file) => {
    const text = fs.readFileSync(path.join(ROOT, "buildspecs", file), "utf8");

    test("is valid YAML of buildspec version 0.2 with known phases", () => {
      expect(parse(text).version).toBe(0.2);
      const spec = parseBuildspec(text, file);
      expect(Object.keys(spec.phases).every((p) => (PHASE_NAMES as readonly string[]).includes(p))).toBe(true);
      expect(spec.artifacts?.files).toEqual(file === "terraform-plan.yml" ? ["plans/**/*"] : ["imagedefinitions.json"]);
    });

    test("every command passes shellcheck in the buildspec's shell", () => {
      expect(shellcheckCommands(text, file)).toEqual({ status: 0, out: "" });
    });
  });

  describe.each(["docker-push-ecr.yml", "docker-dind.yml"])("%s as BuildSpec.bundled inlines it", (file) => {
    const inlined = BuildSpec.bundled(file).value;
    const spec = parseBuildspec(inlined, file);

    test("the file holds the include line once, in the first command of the install phase", () => {
      const text = fs.readFileSync(path.join(ROOT, "buildspecs", file), "utf8");
      expect(text.split(INCLUDE_LINE)).toHaveLength(2);
      expect(parseBuildspec(text, file).phases.install?.commands[0]).toContain(INCLUDE_LINE.trim());
    });

    test("its first command writes ecr-image.sh verbatim through a quoted heredoc, and publishes the file only when written whole", () => {
      const [first, ...rest] = spec.phases.install?.commands ?? [];
      expect(first).toBe(
        `steps="$(mktemp)" && cat >"$steps" <<'${HEREDOC_END}' && export ECR_IMAGE_SH="$steps"\n${ECR_IMAGE_SH}${HEREDOC_END}\n`,
      );
      expect(rest.every((c) => !c.includes("@include"))).toBe(true);
    });

    test("every later step runs the embedded script, none a file of the source", () => {
      const commands = Object.values(spec.phases).flatMap((p) => p?.commands ?? []).slice(1);
      expect(commands.filter((c) => c.includes("buildspecs/"))).toEqual([]);
      const steps = commands.filter((c) => c.startsWith("sh ")).map((c) => c.replace('sh "$ECR_IMAGE_SH" ', ""));
      expect(steps).toEqual([...(file === "docker-dind.yml" ? ["start-dockerd"] : []), "check", "login", "build", "push", "scan-gate"]);
    });

    test("every command passes shellcheck in the buildspec's shell", () => {
      expect(shellcheckCommands(inlined, file)).toEqual({ status: 0, out: "" });
    });
  });
});

test("ecr-image.sh has no line that would end the heredoc it is embedded with", () => {
  expect(ECR_IMAGE_SH.split("\n")).not.toContain(HEREDOC_END);
  expect(ECR_IMAGE_SH.endsWith("\n")).toBe(true);
});

test("the plan-review buildspec and the GitHub workflow run the same npm scripts", () => {
  const buildspec = fs.readFileSync(path.join(ROOT, "buildspecs", "terraform-plan.yml"), "utf8");
  const workflow = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "terraform.yml"), "utf8"));
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
  const runs = (job: string): string[] => workflow.jobs[job].steps.map((s: { run?: string }) => s.run ?? "");
  expect(buildspec).toContain("npm run plan -- --out plans");
  // The workflow plans one stack per matrix job and deploys one environment per wave job.
  expect(runs("plan")).toContain('npm run plan -- --stack "$STACK" --out "plans/$STACK"');
  for (const job of Object.keys(workflow.jobs).filter((j) => j.startsWith("deploy-wave-"))) {
    expect(runs(job)).toContain('npm run deploy -- --stack "$STACKS" --parallelism "$PARALLELISM" --out "plans/$TARGET"');
  }
  expect(scripts.plan).toBe("node scripts/app/build.mjs && node dist/scripts/plan-review/plan.js");
  expect(scripts.deploy).toBe("node scripts/app/build.mjs && node dist/scripts/plan-review/plan.js --apply");
});

describe.each(SHELL_SCRIPTS)("%s", (file) => {
  test("passes shellcheck", () => {
    requireTool("shellcheck", "apt-get install -y shellcheck");
    const r = shellcheck([path.join(ROOT, file)]);
    expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: "" });
  });
});

/**
 * Unset, ENVIRONMENTS selects the local environments, which plan against a local AWS that CI
 * does not have (`moto_server not found`): the workflow and the plan-review buildspec refuse
 * first, in one line that names the variable.
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

  test("the stacks job, which every other job needs, checks ENVIRONMENTS in its first step, before checkout", () => {
    const steps = workflow.jobs.stacks.steps;
    expect(steps[0].id).toBe("environments");
    expect(steps[1].uses).toBe("actions/checkout@v4");
    expect(workflow.env.ENVIRONMENTS).toBe("${{ vars.ENVIRONMENTS }}");
    const needsStacks = (job: string): boolean => {
      const needs = [workflow.jobs[job].needs ?? []].flat() as string[];
      return needs.includes("stacks") || needs.some(needsStacks);
    };
    for (const job of Object.keys(workflow.jobs).filter((j) => j !== "stacks")) expect([job, needsStacks(job)]).toEqual([job, true]);
  });

  test.each([undefined, "", "  "])("the workflow refuses ENVIRONMENTS=%j in one line naming the variable", (value) => {
    const r = runStep(workflow.jobs.stacks.steps[0].run, value);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 1, stdout: WORKFLOW_REFUSAL, stderr: "" });
  });

  test("the workflow goes on when ENVIRONMENTS names environments", () => {
    const r = runStep(workflow.jobs.stacks.steps[0].run, "staging,prod");
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "", stderr: "" });
  });

  test.each([undefined, "", " "])("the plan-review buildspec refuses ENVIRONMENTS=%j first, in one line naming the variable", (value) => {
    const first = buildspec.phases.install!.commands[0];
    const r = runStep(first, value);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 1, stdout: "", stderr: BUILDSPEC_REFUSAL });
    expect(runStep(first, "staging").status).toBe(0);
  });
});
