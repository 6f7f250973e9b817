import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DescribeRepositoriesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { clientConfig } from "../../../scripts/local-aws/clients";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { unsupportedCallLine } from "../../../scripts/plan-review/apply";
import { requireBuiltApp, ROOT, tempDir } from "../../support/app";
import { writeSingleAccountConfig } from "../../support/environments";

/**
 * `npm run deploy`, a re-deploy after a change to a CodeBuild project and `npm run destroy`
 * (node dist/scripts/plan-review/plan.js --apply / --destroy, as package.json runs them) against
 * one local AWS, as a user with a kept-running local AWS runs them: one stack, one region.
 */
jest.setTimeout(400_000);

const REPOSITORY = "codebuild-sample/dckr-push-ecr";
let aws: LocalAws;
let dir: string;
let config: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

function planJs(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  requireBuiltApp();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, CONFIG_FILE: config, ENVIRONMENTS: "local", CDKTF_OUTDIR: path.join(dir, "cdktf.out"), ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "scripts", "plan-review", "plan.js"), ...args], { cwd: ROOT, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr, seconds: (Date.now() - start) / 1000 }));
  });
}
const noNodeWarning = (s: string) => s.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?trace-warnings[^\n]*\n/, "");

beforeAll(async () => {
  aws = await startLocalAws();
  dir = tempDir("deploy-destroy");
  config = writeSingleAccountConfig(dir, ["eu-central-1"]);
});

afterAll(async () => {
  await aws?.stop();
});

describe("npm run deploy, a change to a project, npm run destroy, on a kept-running local AWS", () => {
  test("npm run deploy shows each stack's phases and prints the outputs after the apply", async () => {
    const r = await planJs(["--apply", "--out", path.join(dir, "plans")], { AWS_ENDPOINT_URL: aws.endpoint });
    expect({ code: r.code, stderr: noNodeWarning(r.stderr) }).toEqual({ code: 0, stderr: "" });
    for (const phase of ["init", "plan", "apply"]) {
      expect(r.stdout).toContain(`  local-eu-central-1: terraform ${phase} started\n`);
      expect(r.stdout).toMatch(new RegExp(`  local-eu-central-1: terraform ${phase} done in \\d+\\.\\d s\\n`));
    }
    const outputs = r.stdout.slice(r.stdout.indexOf("\nOutputs\n"));
    expect(outputs).toContain("\nOutputs\n  local-eu-central-1\n");
    expect(outputs).toContain(`    repository_url = 123456789012.dkr.ecr.eu-central-1.amazonaws.com/${REPOSITORY}\n`);
    expect(outputs).toContain("    privileged_project_name = codebuild-sample-dckr-push-ecr\n");
  });

  test("a change to a deployed project fails at once with the plain message (moto has no UpdateProject), instead of retrying for 20 minutes", async () => {
    // GIVEN the deployed project's build timeout changed in the config
    const changed = JSON.parse(fs.readFileSync(config, "utf8"));
    changed.environments.local.build.privilegedProject.buildTimeoutMinutes = 33;
    const file = path.join(dir, "changed.json");
    fs.writeFileSync(file, JSON.stringify(changed));

    // WHEN deployed again
    const r = await planJs(["--apply", "--out", path.join(dir, "plans-changed")], { AWS_ENDPOINT_URL: aws.endpoint, CONFIG_FILE: file });

    // THEN
    expect(r.code).toBe(1);
    // The run's summary line, then the stack's cause: the plain message, not the provider's retries
    // (a hang would end in the test's timeout instead).
    expect(noNodeWarning(r.stderr).split("\n").slice(0, 2)).toEqual([
      "error: apply failed for local-eu-central-1 (wave 1 of 1); applied: none; not applied: local-eu-central-1",
      `local-eu-central-1: ${unsupportedCallLine("CodeBuild", "UpdateProject")}`,
    ]);
    expect(r.stderr).toContain("operation error CodeBuild: UpdateProject");
    expect(r.stdout).toMatch(/local-eu-central-1: terraform apply failed after \d+\.\d s/);
  });

  test("npm run destroy shows what goes, destroys it (local: no confirmation) and the repository is gone", async () => {
    const r = await planJs(["--destroy", "--out", path.join(dir, "plans-destroy")], { AWS_ENDPOINT_URL: aws.endpoint });
    expect({ code: r.code, stderr: noNodeWarning(r.stderr) }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain("# Terraform destroy review");
    expect(r.stdout).toMatch(/\| local-eu-central-1 \| [1-9]\d* \| /);
    expect(r.stdout).toContain("| `-` delete | `aws_ecr_repository.Repository_22E53BBD` |");
    expect(r.stdout).toContain("destroying the reviewed plan of local-eu-central-1\n");
    expect(r.stdout).toContain("destroyed everything reviewed above\n");
    const ecr = new ECRClient(clientConfig({ region: "eu-central-1", endpoint: aws.endpoint }));
    await expect(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [REPOSITORY] }))).rejects.toThrow(/does not exist|not found/i);
  });

  test("npm run destroy of local environments with no local AWS running says there is nothing to destroy, and runs nothing", async () => {
    const r = await planJs(["--destroy"], { AWS_ENDPOINT_URL: undefined, LOCAL_AWS_STATE_DIR: tempDir("no-kept"), CDKTF_OUTDIR: path.join(dir, "untouched") });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
    expect(noNodeWarning(r.stderr)).toBe(
      "error: nothing to destroy: no local AWS is running (AWS_ENDPOINT_URL is unset and npm run status shows none); a local AWS started for a run is gone with it\n",
    );
    expect(fs.existsSync(path.join(dir, "untouched"))).toBe(false);
  });
});
