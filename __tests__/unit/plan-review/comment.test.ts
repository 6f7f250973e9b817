import { driftMarkdown, missingNote } from "../../../scripts/plan-review/merge";
import { pendingSection } from "../../../scripts/plan-review/merge-records";
import { GITHUB_COMMENT_LIMIT, LIST_ITEMS, SUMMARY_MAX_CHARS, guard, reviewPlan, runContext, stackMarkdown, summaryMarkdown, type StackReview } from "../../../scripts/plan-review/review";

/**
 * The pull-request comment a reviewer can trust: bounded whatever the number of stacks and of
 * blocked resources (every list of the verdict shortened with "… and N more"), with the account of
 * each stack, the commit and the run's links, the names (never values) of the attributes an update
 * changes, the policy-pack suppressions once, and advice that fits where it runs.
 */

const rc = (address: string, type: string, actions: string[], before: any = {}, after: any = {}, extra: any = {}) => ({ address, type, mode: "managed", change: { actions, before, after, ...extra } });
const SYNTH = { resource: { aws_codebuild_project: { P: { "//": { policy_suppressions: [{ rule: "CKV_AWS_316", reason: "builds images with Docker" }] } } } } };

/** A stack whose plan replaces its repository and deletes two roles: three blocked resources. */
function blockedStack(i: number): StackReview {
  const name = `team-${String(i).padStart(3, "0")}-eu-west-1`;
  return reviewPlan(
    name,
    {
      resource_changes: [
        rc("aws_ecr_repository.Repository_22E53BBD", "aws_ecr_repository", ["delete", "create"], { name: `team-${i}/app` }),
        rc("aws_iam_role.PrivilegedProject_Role_A1B2C3D4", "aws_iam_role", ["delete"]),
        rc("aws_iam_role.DindProject_Role_E5F6A7B8", "aws_iam_role", ["delete"]),
        ...Array.from({ length: 25 }, (_, j) => rc(`aws_cloudwatch_log_group.codebuild_sample_log_group_${j}`, "aws_cloudwatch_log_group", ["create"], null, {})),
      ],
    },
    SYNTH,
    undefined,
    undefined,
    { account: String(100000000000 + i) },
  );
}

describe("the comment is bounded in every case", () => {
  test.each([340, 600])("%d stacks with 3 blocked resources each: under GitHub's limit, every list shortened with how many more", (n) => {
    // GIVEN
    const reviews = Array.from({ length: n }, (_, i) => blockedStack(i));
    const decision = guard(reviews, []);
    expect(decision.blocked).toHaveLength(3 * n);

    // WHEN
    const md = summaryMarkdown(reviews, decision, undefined, { context: { commit: "c".repeat(40), runUrl: "https://github.com/acme/infra/actions/runs/7", ci: true } });

    // THEN
    expect(md.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    expect(SUMMARY_MAX_CHARS).toBeLessThan(GITHUB_COMMENT_LIMIT);
    const blockedLine = md.split("\n").find((l) => l.startsWith(":no_entry: **Blocked**"))!;
    expect(blockedLine).toContain(`… and ${3 * n - LIST_ITEMS} more (see the plans artifact)`);
    expect(blockedLine.match(/`team-\d+-eu-west-1:/g)).toHaveLength(LIST_ITEMS);
    // The verdict, the run's links and the truncation note survive; rows are cut as needed, whole.
    expect(md).toContain("[plans artifact](https://github.com/acme/infra/actions/runs/7#artifacts)");
    expect(md).toContain(":scissors: **Truncated to fit a pull-request comment**");
    const rows = md.split("\n").filter((l) => /^\| team-\d+-eu-west-1 \| \d{12} \|/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    if (rows.length < n) expect(md).toContain(`the table lists the first ${rows.length} of ${n} stacks`);
  });

  test("a limit smaller than the verdict itself still holds: whole lines, then a line saying it was cut", () => {
    const reviews = Array.from({ length: 5 }, (_, i) => blockedStack(i));
    const md = summaryMarkdown(reviews, guard(reviews, []), undefined, { maxChars: 700 });
    expect(md.length).toBeLessThanOrEqual(700);
    expect(md.endsWith(":scissors: … cut here to fit the size limit (see the plans artifact).")).toBe(true);
  });
});

describe("what the comment shows", () => {
  const updated = reviewPlan(
    "prod-eu-west-1",
    {
      resource_changes: [
        rc(
          "aws_codebuild_project.P",
          "aws_codebuild_project",
          ["update"],
          { description: "old", timeout: 60, environment: [{ privileged_mode: true }], secret: "hunter2", tags: {} },
          { description: "new", timeout: 60, environment: [{ privileged_mode: true }], secret: "hunter3", tags: null },
          { before_sensitive: { secret: true }, after_sensitive: { secret: true }, after_unknown: { arn: true } },
        ),
      ],
    },
    SYNTH,
    undefined,
    undefined,
    { account: "210987654321" },
  );

  test("an update lists the names of the attributes it changes, never a value; a sensitive one only counted", () => {
    expect(updated.changes[0]).toMatchObject({ attributes: ["arn", "description"], sensitive: 1 });
    const md = stackMarkdown(updated);
    expect(md).toContain("| `~` update | `aws_codebuild_project.P` | arn, description and 1 sensitive |");
    for (const value of ["old", "new", "hunter2", "hunter3", "secret"]) expect(md).not.toContain(value);
  });

  test("each stack's account is in the table and its heading", () => {
    const md = summaryMarkdown([updated], guard([updated], []));
    expect(md).toContain("| stack | account | add | change | destroy | replace | risks |");
    expect(md).toContain("| prod-eu-west-1 | 210987654321 | 0 | 1 | 0 | 0 | none |");
    expect(md).toContain("## prod-eu-west-1 (account 210987654321)");
  });

  test("the suppressions table comes once, naming how many stacks hold each suppression; each stack's own review keeps its own", () => {
    const reviews = [updated, { ...updated, stack: "prod-us-east-1" }];
    const md = summaryMarkdown(reviews, guard(reviews, []));
    expect(md.split("Policy-pack suppressions:")).toHaveLength(2);
    expect(md).toContain("| CKV_AWS_316 | builds images with Docker | `aws_codebuild_project.P` | 2 stacks |");
    expect(stackMarkdown(updated)).toContain("Policy-pack suppressions:");
  });

  test("outside CI the blocked line advises --allow-destroy; in CI the allowances file", () => {
    const reviews = [blockedStack(1)];
    expect(summaryMarkdown(reviews, guard(reviews, []))).toContain("Re-run with `--allow-destroy <stack>:<address>`");
    const ci = summaryMarkdown(reviews, guard(reviews, []), undefined, { context: runContext({ GITHUB_ACTIONS: "true" }, null) });
    expect(ci).not.toContain("--allow-destroy");
    expect(ci).toContain("to `allowDestroy` in `deploy-allowances.json`");
  });

  test("the run's links come from GitHub's variables, the commit from the run", () => {
    expect(runContext({ GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/infra", GITHUB_RUN_ID: "9", GITHUB_ACTIONS: "true" }, "b".repeat(40))).toEqual({
      commit: "b".repeat(40),
      ci: true,
      runUrl: "https://github.com/acme/infra/actions/runs/9",
    });
    expect(runContext({}, null)).toEqual({ commit: null, ci: false });
    const md = summaryMarkdown([updated], guard([updated], []), undefined, { context: { commit: "b".repeat(40) } });
    expect(md.split("\n").slice(0, 4)).toEqual(["# Terraform plan review", "", `Commit \`${"b".repeat(12)}\``, ""]);
  });

  test("a state-empty risk planned in CI advises the allowances file", () => {
    const plan = { resource_changes: [rc("aws_cloudwatch_log_group.G", "aws_cloudwatch_log_group", ["create"], null, {})] };
    const last = { outputs: [], resources: 3, after: "apply" as const, at: "2026-01-01T00:00:00Z" };
    expect(reviewPlan("prod-eu-west-1", plan, {}, undefined, last, { ci: true }).risks[0].message).toContain(
      'if the stack is meant to start empty, add "prod-eu-west-1" to allowEmptyState in deploy-allowances.json in this pull request',
    );
  });
});

describe("the merged comment's own lists are bounded too", () => {
  test("600 stacks without a review: the first 20 named, then how many more", () => {
    const missing = Array.from({ length: 600 }, (_, i) => `team-${String(i).padStart(3, "0")}-eu-west-1`);
    const note = missingNote(missing);
    expect(note).toContain("… and 580 more (see the plans artifact)");
    expect(note.length).toBeLessThan(2000);
  });

  test("the nightly report names at most 200 stacks with pending changes", () => {
    const reviews = Array.from({ length: 600 }, (_, i) => blockedStack(i));
    const md = `${driftMarkdown(reviews, [])}\n${pendingSection(reviews)}`;
    expect(md).toContain("Pending changes not deployed** in 600 stacks");
    expect(md.match(/^- `/gm)).toHaveLength(200);
    expect(md).toContain("- … and 400 more");
    expect(md.length).toBeLessThan(1024 * 1024);
  });
});
