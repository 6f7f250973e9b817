import * as fs from "fs";
import * as path from "path";
import { guard, reviewPlan, summaryJson, type StackReview } from "../../../scripts/plan-review/review";
import { tempDir } from "../../support/app";
import { runScript, withoutNodeWarnings } from "../../support/e2e-run";

/**
 * `npm run deploy -- --plans DIR` as a process: a plans folder that cannot be applied is refused
 * with one line per problem and exit 1 before anything runs (no synth, no terraform): no
 * summary, a decision that was not ok, a stack without its saved plan or binding, stacks outside
 * the selected environments. The checks against a real state: e2e/plan-review/saved-plans.
 */

const STACKS = ["local-eu-central-1", "local-us-east-1"];
const quiet = (stack: string) => reviewPlan(stack, { resource_changes: [] }, {});

function plansDir(reviews: StackReview[], allowDestroy: string[] = []): string {
  const dir = tempDir("saved-plans-refusals");
  const decision = guard(reviews, allowDestroy);
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ ...summaryJson(reviews, decision, undefined, { flags: { allowDestroy, allowEmptyState: [] }, file: null }), missing: [] }));
  return dir;
}

async function deploy(dir: string, extra: string[] = [], env: Record<string, string | undefined> = {}) {
  const outdir = path.join(dir, "cdktf.out");
  const r = await runScript("plan-review/plan", ["--apply", "--plans", dir, ...extra], {
    ENVIRONMENTS: "local",
    CONFIG_FILE: undefined,
    CDKTF_OUTDIR: outdir,
    // Never reached: every refusal comes before the endpoint is used.
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    ALLOW_DESTROY: undefined,
    ALLOW_EMPTY_STATE: undefined,
    ...env,
  });
  return { code: r.code, stderr: withoutNodeWarnings(r.stderr), synthesized: fs.existsSync(outdir) };
}

describe("npm run deploy -- --plans DIR refuses before anything runs", () => {
  test("a folder without summary.json", async () => {
    const dir = tempDir("no-summary");
    expect(await deploy(dir)).toEqual({ code: 1, stderr: `error: ${dir}/summary.json: no such file (--plans takes the folder npm run plan -- --out DIR or merge-reviews wrote)\n`, synthesized: false });
  });

  test("a reviewed decision that was not ok: one line, whichever stack is asked for", async () => {
    const replaced = reviewPlan("local-eu-central-1", { resource_changes: [{ address: "aws_ecr_repository.R", type: "aws_ecr_repository", mode: "managed", change: { actions: ["delete", "create"], before: {}, after: {} } }] }, {});
    const dir = plansDir([replaced, quiet("local-us-east-1")]);
    const r = await deploy(dir, ["--stack", "local-us-east-1"]);
    expect(r).toEqual({
      code: 1,
      stderr: `error: ${dir}/summary.json: the reviewed decision was not ok (blocked: local-eu-central-1:aws_ecr_repository.R): nothing applied; fix the change or allow it in deploy-allowances.json, then plan again\n`,
      synthesized: false,
    });
  });

  test("stacks without their saved plan or binding: one line each, then that nothing was applied", async () => {
    const dir = plansDir(STACKS.map(quiet));
    fs.writeFileSync(path.join(dir, "local-us-east-1.tfplan"), "");
    const r = await deploy(dir);
    expect(r).toEqual({
      code: 1,
      stderr: [
        `error: local-eu-central-1: ${dir}/local-eu-central-1.tfplan is missing: plan it (npm run plan -- --stack local-eu-central-1)`,
        `error: local-us-east-1: ${dir}/local-us-east-1.binding.json is missing (plans written without a binding cannot be checked): plan again`,
        "error: nothing applied: 2 of 2 stacks cannot be checked against their reviewed plans",
        "",
      ].join("\n"),
      synthesized: false,
    });
  });

  test("a review of stacks outside the selected environments", async () => {
    const dir = plansDir([quiet("prod-eu-west-1")]);
    expect((await deploy(dir)).stderr).toBe(
      `error: ${dir}/summary.json reviews prod-eu-west-1, outside the selected environments (ENVIRONMENTS=local): select the environments that were planned, or name the stacks to apply with --stack; nothing applied\n`,
    );
  });
});
