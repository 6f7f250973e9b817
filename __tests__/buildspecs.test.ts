import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseBuildspec, PHASE_NAMES } from "../scripts/buildspec-runner";
import { ROOT, tempDir } from "./support/app";
import { requireTool } from "./support/containers";

const BUILDSPECS = fs.readdirSync(path.join(ROOT, "buildspecs")).filter((f) => f.endsWith(".yml"));
const SHELL_SCRIPTS = ["buildspecs/scripts/ecr-image.sh", "scripts/image/build-image.sh", "scripts/git-remotes.sh", "bench/image.sh", "bench/synth.sh", ".ci/run"];

function shellcheck(args: string[]) {
  return spawnSync("shellcheck", args, { encoding: "utf8" });
}

describe("buildspecs/", () => {
  beforeAll(() => requireTool("shellcheck", "apt-get install -y shellcheck"));

  test("holds the two image buildspecs and the plan-review buildspec", () => {
    expect(BUILDSPECS.sort()).toEqual(["docker-dind.yml", "docker-push-ecr.yml", "terraform-plan.yml"]);
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
      const spec = parseBuildspec(text, file);
      const commands = Object.values(spec.phases).flatMap((p) => [...(p?.commands ?? []), ...(p?.finally ?? [])]);
      expect(commands.length).toBeGreaterThan(0);
      const dir = tempDir("shellcheck");
      const script = path.join(dir, "commands.sh");
      // One script, as CodeBuild runs them in one shell; the shebang tells shellcheck the dialect.
      fs.writeFileSync(script, `#!/bin/${spec.shell}\n${commands.join("\n")}\n`);
      const r = shellcheck([script]);
      expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: "" });
    });
  });
});

test("the plan-review buildspec and the GitHub workflow run the same npm scripts", () => {
  const buildspec = fs.readFileSync(path.join(ROOT, "buildspecs", "terraform-plan.yml"), "utf8");
  const workflow = fs.readFileSync(path.join(ROOT, ".github", "workflows", "terraform.yml"), "utf8");
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
  expect(buildspec).toContain("npm run plan -- --out plans");
  expect(workflow).toContain("npm run plan -- --out plans");
  expect(workflow).toContain("npm run deploy -- --out plans");
  expect(scripts.plan).toBe("node scripts/build.mjs && node dist/scripts/plan.js");
  expect(scripts.deploy).toBe("node scripts/build.mjs && node dist/scripts/plan.js --apply");
  expect(parse(workflow).jobs.deploy.environment).toBe("production");
});

describe.each(SHELL_SCRIPTS)("%s", (file) => {
  test("passes shellcheck", () => {
    requireTool("shellcheck", "apt-get install -y shellcheck");
    const r = shellcheck([path.join(ROOT, file)]);
    expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: "" });
  });
});
