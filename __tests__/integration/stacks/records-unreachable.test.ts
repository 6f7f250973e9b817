import * as path from "path";
import { ROOT } from "../../support/app";
import { runScript } from "../../support/stacks-cli";

/**
 * The commands that read the state records beside the states, when the state bucket cannot be
 * reached (here: an endpoint where nothing listens): each says so in one warning line and goes
 * on, in seconds, instead of hanging or failing. And a runner's GITHUB_SHA that is not a commit
 * stops a plan before anything runs. The records read and written for real: e2e/plan-review/records-in-ci.
 */
const STACKS_JS = path.join(ROOT, "dist", "scripts", "stacks", "stacks.js");
const PLAN_JS = path.join(ROOT, "dist", "scripts", "plan-review", "plan.js");
const DEAD = "http://127.0.0.1:9";
const STACKS = ["local-eu-central-1", "local-us-east-1"];

describe("records that cannot be read", () => {
  test("--pending lists every stack it cannot compare, with one warning line each, and exits 0", () => {
    const start = Date.now();
    const r = runScript(STACKS_JS, ["--json", "--pending"], { ENVIRONMENTS: "local", AWS_ENDPOINT_URL: DEAD, GITHUB_SHA: undefined });
    expect(Date.now() - start).toBeLessThan(60_000);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name)).toEqual(STACKS);
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("(node:") && l.trim() !== "" && !/NodeVersionSupportWarning|trace-warnings/.test(l));
    expect(lines).toEqual(
      STACKS.flatMap((s) => {
        const region = s.replace("local-", "");
        return [expect.stringMatching(new RegExp(`^warning: ${s}: the state record s3://codebuild-docker-tfstate-local/local/${region}/terraform\\.tfstate\\.record\\.json cannot be read \\(.+\\)$`))];
      }).concat(STACKS.map((s) => `pending: ${s}: its state record cannot be read (the warning above): listed so that a deploy decides`)),
    );
  });

  test("--orphans says which bucket it cannot list, in one line, and finds none there", () => {
    const r = runScript(STACKS_JS, ["--orphans"], { ENVIRONMENTS: "local", AWS_ENDPOINT_URL: DEAD });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("no orphaned stacks\n");
    expect(r.stderr).toMatch(/^warning: s3:\/\/codebuild-docker-tfstate-local cannot be listed \(.+\): orphaned stacks there are not found\n$/m);
  });

  test("a GITHUB_SHA that is not a commit stops npm run plan in one line before anything is planned", () => {
    const r = runScript(PLAN_JS, ["--out", "/nonexistent/plans"], { ENVIRONMENTS: "local", AWS_ENDPOINT_URL: DEAD, GITHUB_SHA: "main" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: GITHUB_SHA "main" is not a commit: it must be 40 hexadecimal digits (the commit a runner checked out)\n');
    expect(r.stdout).not.toContain("planning");
  });
});
