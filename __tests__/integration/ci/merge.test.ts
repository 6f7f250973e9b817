/**
 * npm run merge-reviews, run for real (dist/, built by `npm test` before jest): the per-stack
 * reviews of the matrix jobs, laid out as download-artifact lays them, merged into the summary
 * `npm run plan` would write for the same reviews; the guard, missing reviews, bad inputs (one
 * line each), the comment size limit, the nightly drift report, and the workflow's matrices.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { guard, reviewPlan, stackMarkdown, summaryJson, summaryMarkdown, SUMMARY_MAX_CHARS, type StackReview } from "../../../scripts/plan-review/review";
import { missingNote, NO_CHANGES, noChanges } from "../../../scripts/plan-review/merge";
import { parsePlanFlags } from "../../../scripts/plan-review/plan";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const MERGE = path.join(ROOT, "dist", "scripts", "plan-review", "merge.js");

const rc = (address: string, type: string, actions: string[], before: any = {}, after: any = {}) => ({ address, type, mode: "managed", change: { actions, before, after } });

/** Reviews of plan JSON as terraform show -json writes it (the fields reviewPlan reads). */
const PLANS: Record<string, any> = {
  "staging-eu-west-1": {
    resource_changes: [
      rc("aws_cloudwatch_log_group.LogGroup", "aws_cloudwatch_log_group", ["update"], { retention_in_days: 30 }, { retention_in_days: 7 }),
      rc("aws_iam_role_policy.Pull", "aws_iam_role_policy", ["update"], { policy: '{"Action":"ecr:BatchGetImage"}' }, { policy: '{"Action":"ecr:*"}' }),
    ],
  },
  "prod-eu-west-1": { resource_changes: [rc("aws_codebuild_project.P", "aws_codebuild_project", ["create"], null, { name: "p", environment: [{ privileged_mode: true }] })] },
  "prod-us-east-1": { resource_changes: [] },
};
const SYNTH = { resource: { aws_codebuild_project: { P: { "//": { policy_suppressions: [{ rule: "CKV_AWS_316", reason: "builds images with Docker" }] } } } } };
const review = (stack: string, plan: any = PLANS[stack]): StackReview => reviewPlan(stack, plan, SYNTH);
const REPLACED = "aws_ecr_repository.Repository_22E53BBD";
const destroying = () => review("prod-eu-west-1", { resource_changes: [rc(REPLACED, "aws_ecr_repository", ["delete", "create"], { name: "team/app" }, {})] });

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "merge-reviews-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes what one matrix job uploads, where download-artifact puts it: reviews/review-<stack>/. */
function artifact(r: StackReview, dir = path.join(tmp, "reviews")): string {
  const d = path.join(dir, `review-${r.stack}`);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, `${r.stack}.review.json`), `${JSON.stringify(r, null, 2)}\n`);
  fs.writeFileSync(path.join(d, `${r.stack}.md`), `${stackMarkdown(r)}\n`);
  return d;
}

function expectFile(stacks: string[]): string {
  const f = path.join(tmp, "expected.json");
  // As the stacks job passes it: the names; the full stack list works too.
  fs.writeFileSync(f, JSON.stringify(stacks));
  return f;
}

function merge(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MERGE, ...args], {
    cwd: tmp,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, GITHUB_SHA: SHA, ...env },
  });
  const out = path.join(tmp, "plans");
  const read = (f: string) => (fs.existsSync(path.join(out, f)) ? fs.readFileSync(path.join(out, f), "utf8") : undefined);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, md: read("summary.md"), json: read("summary.json") && JSON.parse(read("summary.json")!) };
}

const ORDER = ["staging-eu-west-1", "prod-eu-west-1", "prod-us-east-1"];
/** The commit the merge job runs at (GITHUB_SHA), shown under the title. */
const SHA = "a".repeat(40);
const CTX = { context: { commit: SHA, ci: false } };

describe("merge-reviews", () => {
  test("writes the summary npm run plan writes for the same reviews: same renderer, same order, same JSON", () => {
    const reviews = ORDER.map((s) => review(s));
    // Downloaded in another order than the stack list: the list's order (the waves) wins.
    for (const r of [...reviews].reverse()) artifact(r);
    const r = merge(["reviews", "--expect", expectFile(ORDER), "--out", "plans"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const decision = guard(reviews, []);
    expect(r.md).toBe(`${summaryMarkdown(reviews, decision, undefined, CTX)}\n`);
    expect(r.json).toEqual({ ...JSON.parse(JSON.stringify(summaryJson(reviews, decision))), missing: [] });
    // Every stack's own review goes into the merged artifact too.
    for (const s of ORDER) expect(fs.readFileSync(path.join(tmp, "plans", `${s}.md`), "utf8")).toBe(`${stackMarkdown(reviews[ORDER.indexOf(s)])}\n`);
    expect(r.md).toContain("privileged-on");
    expect(r.md).toContain(":white_check_mark: No unallowed deletion or replacement");
  });

  test("takes review files too, and without --expect orders the stacks by name", () => {
    const reviews = ORDER.map((s) => review(s));
    const files = reviews.map((x) => path.join(artifact(x), `${x.stack}.review.json`));
    const r = merge([...files, "--out", "plans"]);
    expect(r.code).toBe(0);
    const byName = [...reviews].sort((a, b) => a.stack.localeCompare(b.stack));
    expect(r.md).toBe(`${summaryMarkdown(byName, guard(byName, []), undefined, CTX)}\n`);
  });

  test("the guard blocks the replacement of a repository (exit 1), as npm run plan does", () => {
    const reviews = [review("staging-eu-west-1"), destroying()];
    reviews.forEach((x) => artifact(x));
    const r = merge(["reviews", "--expect", expectFile(reviews.map((x) => x.stack)), "--out", "plans"]);
    expect(r.code).toBe(1);
    expect(r.md).toBe(`${summaryMarkdown(reviews, guard(reviews, []), undefined, CTX)}\n`);
    expect(r.md).toContain(`:no_entry: **Blocked**: the plan deletes or replaces \`prod-eu-west-1:${REPLACED}\``);
    expect(r.json.ok).toBe(false);
    expect(r.json.blocked).toEqual([`prod-eu-west-1:${REPLACED}`]);
  });

  test("passes with ALLOW_DESTROY (or --allow-destroy) naming exactly that repository", () => {
    const reviews = [review("staging-eu-west-1"), destroying()];
    reviews.forEach((x) => artifact(x));
    const args = ["reviews", "--expect", expectFile(reviews.map((x) => x.stack)), "--out", "plans"];
    const viaEnv = merge(args, { ALLOW_DESTROY: `prod-eu-west-1:${REPLACED}` });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.md).toBe(`${summaryMarkdown(reviews, guard(reviews, [`prod-eu-west-1:${REPLACED}`]), undefined, CTX)}\n`);
    expect(merge([...args, "--allow-destroy", `prod-eu-west-1:${REPLACED}`]).code).toBe(0);
    // An allowance that matches nothing fails, as in npm run plan.
    const stale = merge(args, { ALLOW_DESTROY: `prod-eu-west-1:${REPLACED} staging-eu-west-1:aws_iam_role.Gone` });
    expect(stale.code).toBe(1);
    expect(stale.json.unusedAllowances).toEqual(["staging-eu-west-1:aws_iam_role.Gone"]);
  });

  test("reads ALLOW_DESTROY and ALLOW_EMPTY_STATE with npm run plan's rules: a malformed one is the same error line, exit 2", () => {
    artifact(review("prod-us-east-1"));
    for (const [name, value] of [
      ["ALLOW_DESTROY", "not-an-address"],
      ["ALLOW_EMPTY_STATE", "Prod"],
    ]) {
      let expected = "";
      try {
        parsePlanFlags([], { [name]: value });
      } catch (e) {
        expected = (e as Error).message;
      }
      expect(expected).not.toBe("");
      const r = merge(["reviews", "--out", "plans"], { [name]: value });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`error: ${expected}\n`);
    }
  });

  test("a stack of --expect without a review (its plan job failed) blocks, said first; the rest is rendered as usual", () => {
    const reviews = [review("staging-eu-west-1"), review("prod-us-east-1")];
    reviews.forEach((x) => artifact(x));
    const r = merge(["reviews", "--expect", expectFile(ORDER), "--out", "plans"]);
    expect(r.code).toBe(1);
    const lines = r.md!.split("\n");
    expect(lines.slice(0, 3)).toEqual(["# Terraform plan review", "", missingNote(["prod-eu-west-1"])]);
    expect(lines[2]).toContain("`prod-eu-west-1`");
    const decision = { ...guard(reviews, []), ok: false };
    expect([...lines.slice(0, 2), ...lines.slice(4)].join("\n")).toBe(`${summaryMarkdown(reviews, decision, undefined, CTX)}\n`);
    expect(r.md).not.toContain(":white_check_mark:");
    expect(r.json.ok).toBe(false);
    expect(r.json.missing).toEqual(["prod-eu-west-1"]);
  });

  test("an empty stack list (no stack changes): the no-changes review, exit 0", () => {
    fs.mkdirSync(path.join(tmp, "reviews"));
    const r = merge(["reviews", "--expect", expectFile([]), "--out", "plans"]);
    expect(r.code).toBe(0);
    expect(r.md).toBe(`${noChanges({ commit: SHA })}\n`);
    expect(r.md).toBe(`${NO_CHANGES.replace("\n\n", `\n\nCommit \`${SHA.slice(0, 12)}\`\n\n`)}\n`);
    expect(r.json.ok).toBe(true);
  });

  test("the stack list of npm run -s stacks -- --json works as --expect", () => {
    const reviews = ORDER.map((s) => review(s));
    reviews.forEach((x) => artifact(x));
    const f = path.join(tmp, "stacks.json");
    fs.writeFileSync(f, JSON.stringify(ORDER.map((name, i) => ({ name, environment: name.split("-")[0], accountId: "123456789012", region: "eu-west-1", dir: `cdktf.out/stacks/${name}`, local: false, wave: i }))));
    const r = merge(["reviews", "--expect", f, "--out", "plans"]);
    expect(r.code).toBe(0);
    expect(r.md).toBe(`${summaryMarkdown(reviews, guard(reviews, []), undefined, CTX)}\n`);
  });

  describe("bad inputs: one clear line, non-zero exit", () => {
    const oneLine = (r: { code: number | null; stderr: string }, pattern: RegExp, code = 1) => {
      expect(r.code).toBe(code);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    };

    test("a corrupt review file", () => {
      const d = artifact(review("prod-us-east-1"));
      fs.writeFileSync(path.join(d, "prod-us-east-1.review.json"), '{"stack": "prod-us-east-1", "counts": ');
      oneLine(merge(["reviews", "--out", "plans"]), /^error: .*review-prod-us-east-1\/prod-us-east-1\.review\.json is not valid JSON \(.*\): the review of a matrix job is damaged, re-run that job$/);
      expect(fs.existsSync(path.join(tmp, "plans", "summary.md"))).toBe(false);
    });

    test("a JSON file that is not a review", () => {
      const d = artifact(review("prod-us-east-1"));
      fs.writeFileSync(path.join(d, "prod-us-east-1.review.json"), JSON.stringify({ stack: "prod-us-east-1", counts: { add: 1 } }));
      oneLine(merge(["reviews", "--out", "plans"]), /is not a stack review: "counts" must hold add, change, destroy and replace$/);
    });

    test("a review whose file name names another stack", () => {
      const d = artifact(review("prod-us-east-1"));
      fs.renameSync(path.join(d, "prod-us-east-1.review.json"), path.join(d, "prod-eu-west-1.review.json"));
      oneLine(merge(["reviews", "--out", "plans"]), /holds the review of stack prod-us-east-1, not prod-eu-west-1$/);
    });

    test("a stack reviewed twice", () => {
      artifact(review("prod-us-east-1"));
      artifact(review("prod-us-east-1"), path.join(tmp, "again"));
      oneLine(merge(["reviews", "again", "--out", "plans"]), /^error: stack prod-us-east-1 is reviewed twice: .* and .* \(one review per stack\)$/);
    });

    test("a review of a stack that --expect does not list", () => {
      artifact(review("prod-us-east-1"));
      oneLine(merge(["reviews", "--expect", expectFile(["prod-eu-west-1"]), "--out", "plans"]), /reviews stack prod-us-east-1, which --expect does not list/);
    });

    test("a folder that does not exist, a folder without reviews, a broken --expect", () => {
      oneLine(merge(["nowhere", "--out", "plans"]), /^error: nowhere does not exist/);
      fs.mkdirSync(path.join(tmp, "empty"));
      oneLine(merge(["empty", "--out", "plans"]), /^error: no <stack>\.review\.json in empty$/);
      fs.writeFileSync(path.join(tmp, "bad.json"), '{"name": "x"}');
      oneLine(merge(["empty", "--expect", "bad.json", "--out", "plans"]), /^error: --expect bad\.json must hold a JSON array/);
      oneLine(merge(["empty", "--expect", "missing.json", "--out", "plans"]), /^error: --expect missing\.json: no such file$/);
    });

    test("no --out, an unknown flag", () => {
      oneLine(merge(["reviews"]), /^error: --out DIR is required/, 2);
      oneLine(merge(["reviews", "--out", "plans", "--bogus"]), /^error: unknown flag "--bogus"/, 2);
    });
  });

  test("the size limit of a pull-request comment applies, with or without missing stacks", () => {
    const many = Array.from({ length: 40 }, (_, i) => `prod${String(i).padStart(2, "0")}-eu-west-1`);
    const reviews = many.map((s) =>
      review(s, { resource_changes: Array.from({ length: 30 }, (_, j) => rc(`aws_cloudwatch_log_group.LogGroup${j}_ABCDEF${j}`, "aws_cloudwatch_log_group", ["create"], null, {})) }),
    );
    reviews.forEach((x) => artifact(x));
    const full = merge(["reviews", "--expect", expectFile(many), "--out", "plans"]);
    expect(full.code).toBe(0);
    const unlimited = summaryMarkdown(reviews, guard(reviews, []), undefined, { ...CTX, maxChars: Number.MAX_SAFE_INTEGER });
    expect(unlimited.length).toBeGreaterThan(SUMMARY_MAX_CHARS);
    expect(full.md).toBe(`${summaryMarkdown(reviews, guard(reviews, []), undefined, CTX)}\n`);
    expect(full.md!.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS + 1);
    expect(full.md).toContain(":scissors: **Truncated to fit a pull-request comment**");

    const missing = merge(["reviews", "--expect", expectFile([...many, "prod99-eu-west-1"]), "--out", "plans"]);
    expect(missing.code).toBe(1);
    expect(missing.md!.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS + 1);
    expect(missing.md).toContain(missingNote(["prod99-eu-west-1"]));
  });

  describe("the reviewed allowances file (deploy-allowances.json)", () => {
    const allowancesFile = (v: unknown) => {
      const f = path.join(tmp, "deploy-allowances.json");
      fs.writeFileSync(f, typeof v === "string" ? v : JSON.stringify(v, null, 2));
      return f;
    };

    test("allows exactly the destruction it names, is shown in the comment with its reason, and is recorded in summary.json for the deploy", () => {
      const reviews = [review("staging-eu-west-1"), destroying()];
      reviews.forEach((x) => artifact(x));
      const file = allowancesFile({ allowDestroy: [`prod-eu-west-1:${REPLACED}`, "staging-eu-west-1:aws_iam_role.Gone"], reason: "the repository is renamed" });
      const r = merge(["reviews", "--expect", expectFile(reviews.map((x) => x.stack)), "--out", "plans", "--allowances", file]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.md).toContain(`**Allowed in \`${file}\`** (reviewed with this pull request): the repository is renamed`);
      expect(r.md).toContain(`- may be deleted or replaced: \`prod-eu-west-1:${REPLACED}\``);
      // The entry that matches nothing is stale: shown, not blocking.
      expect(r.md).toContain("- :warning: **stale** (matches nothing in these plans; remove it): `staging-eu-west-1:aws_iam_role.Gone`");
      expect(r.json).toMatchObject({
        ok: true,
        blocked: [],
        staleAllowances: { allowDestroy: ["staging-eu-west-1:aws_iam_role.Gone"], allowEmptyState: [] },
        allowances: { flags: { allowDestroy: [], allowEmptyState: [] }, file: { file, allowDestroy: [`prod-eu-west-1:${REPLACED}`, "staging-eu-west-1:aws_iam_role.Gone"], reason: "the repository is renamed" } },
      });
      // ALLOWANCES_FILE names it too.
      expect(merge(["reviews", "--expect", expectFile(reviews.map((x) => x.stack)), "--out", "plans"], { ALLOWANCES_FILE: file }).code).toBe(0);
    });

    test("a bad file is one line per problem with file, line and column, exit 2", () => {
      artifact(review("prod-us-east-1"));
      const file = allowancesFile('{\n  "allowDestroy": ["prod"],\n  "reason": ""\n}');
      const r = merge(["reviews", "--out", "plans", "--allowances", file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `error: ${file}:2:20: allowDestroy[0] "prod" must be <stack>:<resource address>, e.g. prod-eu-west-1:aws_ecr_repository.Repository_22E53BBD\n`,
      );
      const r2 = merge(["reviews", "--out", "plans", "--allowances", allowancesFile({ allowEmptyState: ["prod-us-east-1"] })]);
      expect(r2.stderr).toBe(`error: ${file}:1:1: reason must say why (a non-empty string) when anything is allowed\n`);
    });

    test("in CI the blocked line advises the file, never --allow-destroy; the comment links the run and its artifacts and names the commit; the step summary gets it too", () => {
      const reviews = [review("staging-eu-west-1"), destroying()];
      reviews.forEach((x) => artifact(x));
      const summary = path.join(tmp, "step-summary.md");
      const r = merge(["reviews", "--expect", expectFile(reviews.map((x) => x.stack)), "--out", "plans"], {
        GITHUB_ACTIONS: "true",
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_REPOSITORY: "acme/infra",
        GITHUB_RUN_ID: "42",
        GITHUB_STEP_SUMMARY: summary,
      });
      expect(r.code).toBe(1);
      expect(r.md).not.toContain("--allow-destroy");
      expect(r.md).toContain("add each `<stack>:<address>` to `allowDestroy` in `deploy-allowances.json` (with a `reason`) in this pull request");
      expect(r.md).toContain(`Commit \`${SHA.slice(0, 12)}\` · [run](https://github.com/acme/infra/actions/runs/42) · [plans artifact](https://github.com/acme/infra/actions/runs/42#artifacts)`);
      expect(fs.readFileSync(summary, "utf8")).toBe(r.md);
    });
  });

  test("copies each stack's saved plan and binding beside its review into --out: the folder npm run deploy -- --plans applies", () => {
    const r0 = review("prod-us-east-1");
    const d = artifact(r0);
    fs.writeFileSync(path.join(d, "prod-us-east-1.tfplan"), "plan");
    fs.writeFileSync(path.join(d, "prod-us-east-1.binding.json"), "{}");
    fs.writeFileSync(path.join(d, "prod-us-east-1.json"), "{}");
    expect(merge(["reviews", "--out", "plans"]).code).toBe(0);
    // The plan's JSON (values) is not copied: the review, the saved plan and its binding are what the deploy needs.
    expect(fs.readdirSync(path.join(tmp, "plans")).sort()).toEqual([
      "prod-us-east-1.binding.json",
      "prod-us-east-1.md",
      "prod-us-east-1.review.json",
      "prod-us-east-1.tfplan",
      "summary.json",
      "summary.md",
    ]);
  });

  describe("--drift-summary (the nightly run)", () => {
    const drifted = () =>
      review("prod-eu-west-1", {
        resource_drift: [{ address: "aws_cloudwatch_log_group.LogGroup", type: "aws_cloudwatch_log_group", mode: "managed", change: { actions: ["update"], before: { retention_in_days: 30 }, after: { retention_in_days: 7 } } }],
        resource_changes: [rc("aws_cloudwatch_log_group.LogGroup", "aws_cloudwatch_log_group", ["update"])],
      });

    test("writes what drifted into the job summary and exits 1", () => {
      [review("prod-us-east-1"), drifted()].forEach((x) => artifact(x));
      const summary = path.join(tmp, "step-summary.md");
      const r = merge(["reviews", "--expect", expectFile(["prod-eu-west-1", "prod-us-east-1"]), "--out", "plans", "--drift-summary"], { GITHUB_STEP_SUMMARY: summary });
      expect(r.code).toBe(1);
      const text = fs.readFileSync(summary, "utf8");
      expect(text).toContain("# Drift report");
      expect(text).toContain("| prod-eu-west-1 | `aws_cloudwatch_log_group.LogGroup` | changed | retention_in_days | changes it back |");
      expect(text).not.toContain("30");
      expect(r.json.drift).toHaveLength(1);
    });

    test("says there is none and exits 0; a missing review still fails", () => {
      [review("prod-us-east-1")].forEach((x) => artifact(x));
      const summary = path.join(tmp, "step-summary.md");
      const ok = merge(["reviews", "--expect", expectFile(["prod-us-east-1"]), "--out", "plans", "--drift-summary"], { GITHUB_STEP_SUMMARY: summary });
      expect(ok.code).toBe(0);
      expect(fs.readFileSync(summary, "utf8")).toContain(":white_check_mark: No drift in 1 stack");
      const missing = merge(["reviews", "--expect", expectFile(["prod-us-east-1", "prod-eu-west-1"]), "--out", "plans", "--drift-summary"], { GITHUB_STEP_SUMMARY: summary });
      expect(missing.code).toBe(1);
      expect(fs.readFileSync(summary, "utf8")).toContain(missingNote(["prod-eu-west-1"]));
    });
  });
});

describe("merge-reviews --matrix: the workflow's matrices from the stack list", () => {
  let lists = 0;
  const list = (stacks: [string, string, number][]) => {
    const f = path.join(tmp, `stacks-${++lists}.json`);
    fs.writeFileSync(f, JSON.stringify(stacks.map(([name, environment, wave]) => ({ name, environment, accountId: "123456789012", region: "eu-west-1", dir: "", local: false, wave }))));
    return f;
  };
  const outputs = (args: string[], env: Record<string, string> = {}) => {
    const file = path.join(tmp, "github-output");
    fs.rmSync(file, { force: true });
    const r = merge(args, { GITHUB_OUTPUT: file, ...env });
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    return { ...r, out: Object.fromEntries(text.trimEnd().split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])) };
  };

  test("the plan matrix, and one deploy entry per environment of each wave; waves without stacks are skipped", () => {
    const f = list([
      ["staging-eu-west-1", "staging", 0],
      ["staging-us-east-1", "staging", 0],
      ["prod-eu-west-1", "prod", 0],
      ["tools-eu-west-1", "tools", 2],
    ]);
    const r = outputs(["--matrix", f, "--waves", "3", "--classes", '{"prod":"production"}'], { ALLOW_DESTROY: "tools-eu-west-1:aws_ecr_repository.R" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.stacks)).toEqual(["staging-eu-west-1", "staging-us-east-1", "prod-eu-west-1", "tools-eu-west-1"]);
    expect(r.out.count).toBe("4");
    expect(JSON.parse(r.out.wave0)).toEqual([
      { environment: "staging", github_environment: "staging", stacks: "staging-eu-west-1,staging-us-east-1", allow_destroy: "", allow_empty_state: "", deploy_role: "" },
      { environment: "prod", github_environment: "production", stacks: "prod-eu-west-1", allow_destroy: "", allow_empty_state: "", deploy_role: "" },
    ]);
    expect(JSON.parse(r.out.wave1)).toEqual([{ environment: "tools", github_environment: "tools", stacks: "tools-eu-west-1", allow_destroy: "tools-eu-west-1:aws_ecr_repository.R", allow_empty_state: "", deploy_role: "" }]);
    expect(r.out.wave2).toBe("[]");
  });

  test("an empty list: count 0, every wave empty (and --classes empty, as the workflow passes an unset variable)", () => {
    const r = outputs(["--matrix", list([]), "--waves", "3", "--classes", ""]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual({ stacks: "[]", count: "0", plan0: "[]", plan1: "[]", plan2: "[]", plan3: "[]", plan_roles: "{}", wave0: "[]", wave1: "[]", wave2: "[]" });
  });

  test("more waves than the workflow has jobs for: one line naming the job to add", () => {
    const r = outputs(["--matrix", list([["a-eu-west-1", "a", 0], ["b-eu-west-1", "b", 1], ["c-eu-west-1", "c", 2], ["d-eu-west-1", "d", 3]]), "--waves", "3"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: the stacks need 4 deploy waves (waves 0, 1, 2, 3) but .github/workflows/terraform.yml has jobs for 3: add deploy-wave-3 (a copy of deploy-wave-2 that needs it) and pass --waves 4\n");
    expect(r.out).toEqual({});
  });

  test("bad lists, classes and allowances: one line each", () => {
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [["--matrix", "nope.json", "--waves", "3"], /^error: --matrix nope\.json: no such file/],
      [["--matrix", list([["a-eu-west-1", "a", -1]]), "--waves", "3"], /stack a-eu-west-1 has no "wave"/],
      [["--matrix", list([["a-eu-west-1", "a", 0], ["a-eu-west-1", "a", 0]]), "--waves", "3"], /lists stack a-eu-west-1 twice$/],
      [["--matrix", list([["a-eu-west-1", "a", 0]]), "--waves", "3", "--classes", "[1]"], /^error: --classes must be a JSON object/],
      [["--matrix", list([["a-eu-west-1", "a", 0]]), "--waves", "3", "--classes", '{"a":"bad/name"}'], /the GitHub environment of a must be a name/],
      [["--matrix", list([["a-eu-west-1", "a", 0]]), "--waves", "3"], /names b-eu-west-1:aws_iam_role\.R, of stacks this run does not plan or deploy/, { ALLOW_DESTROY: "b-eu-west-1:aws_iam_role.R" }],
    ];
    for (const [args, pattern, env] of cases) {
      const r = outputs(args, env);
      expect([args.join(" "), r.code]).not.toEqual([args.join(" "), 0]);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(pattern);
    }
    const noWaves = outputs(["--matrix", "x.json"]);
    expect(noWaves.code).toBe(2);
    expect(noWaves.stderr).toBe("error: --matrix needs --waves N (how many deploy-wave-N jobs the workflow has)\n");
  });
});
