import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireBuiltApp, ROOT, tempDir } from "../../support/app";
import { runScript, withoutNodeWarnings } from "../../support/e2e-run";

/**
 * `npm run plan`, `deploy` and `destroy` as processes (the compiled dist/scripts/plan-review/plan.js
 * that package.json runs): a bad flag is one error line and an exit code, before anything runs;
 * `--help` prints the command's own usage. The flags themselves: unit/plan-review/.
 */
describe("the plan command refuses bad flags before it runs anything", () => {
  test("a bad --parallelism is one error line, exit 2, nothing run", async () => {
    const r = await runScript("plan-review/plan", ["--parallelism", "0"], { PARALLELISM: undefined });
    expect({ code: r.code, stdout: r.stdout, stderr: withoutNodeWarnings(r.stderr) }).toEqual({
      code: 2,
      stdout: "",
      stderr: 'error: --parallelism "0" must be an integer from 1 to 64 (how many stacks run terraform at once)\n',
    });
  });

  test("an unknown --stack is one error line, exit 1, nothing run (no local AWS started, no synth)", async () => {
    const outdir = path.join(tempDir("stack-unknown"), "cdktf.out");
    const r = await runScript("plan-review/plan", ["--stack", "local-eu-west-1"], { ENVIRONMENTS: "local", CONFIG_FILE: undefined, CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: undefined });
    expect({ code: r.code, stdout: r.stdout, stderr: withoutNodeWarnings(r.stderr) }).toEqual({
      code: 1,
      stdout: "",
      stderr: 'error: --stack "local-eu-west-1": not a stack of the selected environments (ENVIRONMENTS=local); known stacks: local-eu-central-1, local-us-east-1\n',
    });
    expect(fs.existsSync(outdir)).toBe(false);
  });
});

describe("--help of deploy and destroy", () => {
  test.each([
    ["deploy", /^Usage: npm run deploy /],
    ["destroy", /^Usage: npm run destroy /],
  ])("`npm run %s -- --help` prints its own usage and runs nothing", (script, usage) => {
    // The package.json script's command after its build step (the build is left out: it would
    // rewrite dist/ under the other suites' feet).
    requireBuiltApp();
    const command = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts[script] as string;
    const [node, ...args] = command.split("&&").pop()!.trim().split(/\s+/);
    expect(node).toBe("node");
    const r = spawnSync(process.execPath, [...args, "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(usage);
  });
});

describe("npm run plan of a local environment", () => {
  test("with no local AWS to plan against says so in one line, starts nothing and synthesizes nothing", async () => {
    const dir = tempDir("plan-no-local-aws");
    const r = await runScript("plan-review/plan", [], {
      AWS_ENDPOINT_URL: undefined,
      ENVIRONMENTS: "local",
      CONFIG_FILE: undefined,
      CDKTF_OUTDIR: path.join(dir, "cdktf.out"),
      LOCAL_AWS_STATE_DIR: path.join(dir, "kept"),
    });
    expect({ code: r.code, stdout: r.stdout, stderr: withoutNodeWarnings(r.stderr) }).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "error: nothing to plan against: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none); " +
        "the local environments need one: start it with npm start -- --keep-running\n",
    });
    expect(fs.existsSync(path.join(dir, "cdktf.out"))).toBe(false);
  });
});
