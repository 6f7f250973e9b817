import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireBuiltApp, ROOT, tempDir } from "../support/app";
import { prodEnvironment, singleAccountLocal } from "../support/environments";

/**
 * The local-endpoint guard in the commands that run it (`npm run plan` / `deploy`, the app as
 * `cdktf synth` and `cdktf deploy` run it): a real environment is refused while an AWS endpoint
 * variable points elsewhere, before anything is synthesized or planned. The guard's rules
 * in-process: unit/local-endpoint-guard.
 */

const ENDPOINT = "http://127.0.0.1:5000";

/** The refusal `npm run plan` prints for prod with AWS_ENDPOINT_URL set. */
const PLAN_REFUSAL =
  `error: environment "prod" is not local ("local": true), but AWS_ENDPOINT_URL=${ENDPOINT} is set: ` +
  "Terraform would send its calls there instead of to its AWS account. " +
  "Unset AWS_ENDPOINT_URL, or pass --allow-local-endpoint to run it against that endpoint on purpose\n";

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

/** Variables of the caller that would change what the entry points do; every run starts without them. */
function callerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { CHECKPOINT_DISABLE: "1" };
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(AWS_ENDPOINT_URL|ALLOW_LOCAL_ENDPOINT|ALLOW_DESTROY|CONFIG_FILE|ENVIRONMENTS|CDKTF_OUTDIR)/.test(k)) env[k] = v;
  }
  return env;
}

/** A folder with a config holding the shipped local environment (as a single account) and a real one, prod. */
function setup(): { dir: string; config: string; outdir: string } {
  const dir = tempDir("local-endpoint-guard");
  const local = singleAccountLocal();
  const { name: _p, ...prod } = prodEnvironment();
  const config = path.join(dir, "environments.json");
  fs.writeFileSync(config, JSON.stringify({ environments: { local, prod } }));
  return { dir, config, outdir: path.join(dir, "cdktf.out") };
}

function run(args: string[], vars: Record<string, string>) {
  requireBuiltApp();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env: { ...callerEnv(), ...vars }, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run plan and npm run deploy (node dist/scripts/plan-review/plan.js)", () => {
  const plan = (args: string[], vars: Record<string, string>) => run([path.join("dist", "scripts", "plan-review", "plan.js"), ...args], vars);

  test("refuse a real environment while AWS_ENDPOINT_URL is set: one line, exit 1, nothing synthesized or planned", () => {
    const { dir, config, outdir } = setup();
    const out = path.join(dir, "plans");
    const r = plan(["--out", out], { CONFIG_FILE: config, ENVIRONMENTS: "prod", CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: ENDPOINT });
    expect(r).toEqual({ status: 1, stdout: "", stderr: PLAN_REFUSAL });
    expect([fs.existsSync(outdir), fs.existsSync(out)]).toEqual([false, false]);
  });

  test("refuse it for a service-specific AWS_ENDPOINT_URL_ECR too, in a deploy of local and prod", () => {
    const { dir, config, outdir } = setup();
    const out = path.join(dir, "plans");
    const r = plan(["--apply", "--out", out], { CONFIG_FILE: config, ENVIRONMENTS: "local,prod", CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL_ECR: ENDPOINT });
    expect(r).toEqual({
      status: 1,
      stdout: "",
      stderr:
        `error: environment "prod" is not local ("local": true), but AWS_ENDPOINT_URL_ECR=${ENDPOINT} is set: ` +
        "Terraform would send its calls there instead of to its AWS account. " +
        "Unset AWS_ENDPOINT_URL_ECR, or pass --allow-local-endpoint to run it against that endpoint on purpose\n",
    });
    expect([fs.existsSync(outdir), fs.existsSync(out)]).toEqual([false, false]);
  });

  test("a bad ALLOW_LOCAL_ENDPOINT is one line and exit code 2", () => {
    expect(plan([], { ALLOW_LOCAL_ENDPOINT: "yes" })).toEqual({ status: 2, stdout: "", stderr: 'error: ALLOW_LOCAL_ENDPOINT "yes" must be 1 or unset\n' });
  });
});

describe("the app as cdktf runs it (cdktf synth, cdktf deploy)", () => {
  const APP_REFUSAL =
    `error: environment "prod" is not local ("local": true), but AWS_ENDPOINT_URL=${ENDPOINT} is set: ` +
    "Terraform would send its calls there instead of to its AWS account. " +
    "Unset AWS_ENDPOINT_URL, or set ALLOW_LOCAL_ENDPOINT=1 to run it against that endpoint on purpose\n";

  test("scripts/app/synth.js refuses a real environment while AWS_ENDPOINT_URL is set, and writes nothing", () => {
    const { config, outdir } = setup();
    const r = run([path.join("scripts", "app", "synth.js")], { CONFIG_FILE: config, ENVIRONMENTS: "prod", CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: ENDPOINT });
    expect(r).toEqual({ status: 1, stdout: "", stderr: `${APP_REFUSAL}synth failed: 1 problem(s); nothing was written to ${outdir}\n` });
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test("cdktf deploy of a real environment stops at synth, before Terraform runs", () => {
    const { config, outdir } = setup();
    const cdktf = path.join(ROOT, "node_modules", ".bin", "cdktf");
    const r = spawnSync(cdktf, ["deploy", "prod-eu-west-1", "--auto-approve", "--output", outdir], {
      cwd: ROOT,
      env: { ...callerEnv(), CONFIG_FILE: config, ENVIRONMENTS: "prod", AWS_ENDPOINT_URL: ENDPOINT, CI: "1" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(APP_REFUSAL.slice("error: ".length, -1));
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test("ALLOW_LOCAL_ENDPOINT=1 synthesizes the real environment, with a warning", () => {
    const { config, outdir } = setup();
    const r = run([path.join("dist", "main.js")], { CONFIG_FILE: config, ENVIRONMENTS: "prod", CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: ENDPOINT, ALLOW_LOCAL_ENDPOINT: "1" });
    expect(r.status).toBe(0);
    expect(withoutConstructWarnings(r.stderr)).toBe(
      `warning: environment "prod" is not local ("local": true) and synthesized with AWS_ENDPOINT_URL=${ENDPOINT} set (ALLOW_LOCAL_ENDPOINT=1): ` +
        "Terraform run with these variables (cdktf deploy) sends its calls there, not to AWS\n",
    );
    expect(fs.readdirSync(path.join(outdir, "stacks")).sort()).toEqual(["prod-eu-west-1", "prod-us-west-2"]);
  });

  test("local environments synthesize with the endpoint variables set, as before", () => {
    const { config, outdir } = setup();
    const r = run([path.join("dist", "main.js")], { CONFIG_FILE: config, ENVIRONMENTS: "local", CDKTF_OUTDIR: outdir, AWS_ENDPOINT_URL: ENDPOINT, AWS_ENDPOINT_URL_ECR: ENDPOINT });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(fs.readdirSync(path.join(outdir, "stacks")).sort()).toEqual(["local-eu-central-1", "local-us-east-1"]);
  });

  test.each(["yes", ""])("ALLOW_LOCAL_ENDPOINT=%j is refused in one line, and nothing is written", (value) => {
    const { config, outdir } = setup();
    const r = run([path.join("dist", "main.js")], { CONFIG_FILE: config, ENVIRONMENTS: "local", CDKTF_OUTDIR: outdir, ALLOW_LOCAL_ENDPOINT: value });
    expect(r).toEqual({
      status: 1,
      stdout: "",
      stderr: `error: ALLOW_LOCAL_ENDPOINT ${JSON.stringify(value)} must be 1 or unset\nsynth failed: 1 problem(s); nothing was written to ${outdir}\n`,
    });
    expect(fs.existsSync(outdir)).toBe(false);
  });
});
