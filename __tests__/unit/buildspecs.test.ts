import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseBuildspec, PHASE_NAMES } from "../../scripts/build-runner/runner";
import { BuildSpec } from "../../modules/shared/buildspec";
import { ROOT } from "../support/app";
import { ECR_IMAGE_SH, HEREDOC_END, INCLUDE_LINE } from "../support/buildspecs";

const BUILDSPECS = fs.readdirSync(path.join(ROOT, "buildspecs")).filter((f) => f.endsWith(".yml"));

describe("buildspecs/", () => {
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
  // The workflow plans one stack per matrix job and deploys one environment's saved plans per wave job.
  for (const job of Object.keys(workflow.jobs).filter((j) => /^plan-\d+$/.test(j))) expect(runs(job)).toContain('npm run plan -- --stack "$STACK" --out "plans/$STACK"');
  for (const job of Object.keys(workflow.jobs).filter((j) => j.startsWith("deploy-wave-"))) {
    expect(runs(job)).toContain('npm run deploy -- --plans plans --stack "$STACKS" --parallelism "$PARALLELISM"');
  }
  expect(scripts.plan).toBe("node scripts/app/build.mjs && node dist/scripts/plan-review/plan.js");
  expect(scripts.deploy).toBe("node scripts/app/build.mjs && node dist/scripts/plan-review/plan.js --apply");
});

/**
 * Unset, ENVIRONMENTS selects the local environments, which plan against a local AWS that CI
 * does not have (`moto_server not found`): the workflow and the plan-review buildspec refuse
 * first, in one line that names the variable.
 */
describe("CI without ENVIRONMENTS", () => {
  const workflow = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "terraform.yml"), "utf8"));
  test("the stacks job, which every other job needs, checks ENVIRONMENTS in its first step, before checkout", () => {
    const steps = workflow.jobs.stacks.steps;
    expect(steps[0].id).toBe("guard");
    expect(steps[0].run).toContain("the repository variable ENVIRONMENTS is not set");
    expect(steps[1].uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
    expect(workflow.env.ENVIRONMENTS).toBe("${{ vars.ENVIRONMENTS }}");
    const needsStacks = (job: string): boolean => {
      const needs = [workflow.jobs[job].needs ?? []].flat() as string[];
      return needs.includes("stacks") || needs.some(needsStacks);
    };
    for (const job of Object.keys(workflow.jobs).filter((j) => j !== "stacks")) expect([job, needsStacks(job)]).toEqual([job, true]);
  });
});
