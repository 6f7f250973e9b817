import { GITHUB_COMMENT_LIMIT, SUMMARY_MAX_CHARS, guard, reviewPlan, stackMarkdown, summaryJson, summaryMarkdown } from "../../../scripts/plan-review/review";
import { parsePlanFlags } from "../../../scripts/plan-review/plan";
import { messageOf } from "../../support/synth";

const change = (address: string, type: string, actions: string[], before: any, after: any) => ({
  address,
  type,
  mode: "managed",
  change: { actions, before, after },
});

describe("reviewPlan", () => {
  test("counts adds, changes, destroys and replacements, ignoring reads and no-ops", () => {
    const plan = {
      resource_changes: [
        change("aws_cloudwatch_log_group.a", "aws_cloudwatch_log_group", ["create"], null, {}),
        change("aws_cloudwatch_log_group.b", "aws_cloudwatch_log_group", ["update"], {}, {}),
        change("aws_cloudwatch_log_group.c", "aws_cloudwatch_log_group", ["delete"], {}, null),
        change("aws_cloudwatch_log_group.d", "aws_cloudwatch_log_group", ["delete", "create"], {}, {}),
        change("aws_cloudwatch_log_group.e", "aws_cloudwatch_log_group", ["no-op"], {}, {}),
        { ...change("data.aws_region.r", "aws_region", ["read"], {}, {}), mode: "data" },
      ],
    };
    expect(reviewPlan("s", plan, {}).counts).toEqual({ add: 1, change: 1, destroy: 1, replace: 1 });
  });

  test("flags a replaced or deleted ECR repository: its images are lost", () => {
    const r = reviewPlan("s", { resource_changes: [change("aws_ecr_repository.r", "aws_ecr_repository", ["create", "delete"], { name: "team/app" }, {})] }, {});
    expect(r.risks).toEqual([{ kind: "repository-lost", address: "aws_ecr_repository.r", message: "ECR repository team/app is replaced: its images are lost" }]);
    expect(r.destructive).toEqual(["s:aws_ecr_repository.r"]);
  });

  test("flags IAM policy and trust changes, but not a tag-only change of a role", () => {
    const policy = (a: string) => JSON.stringify({ Statement: [{ Action: a }] });
    const r = reviewPlan(
      "s",
      {
        resource_changes: [
          change("aws_iam_role_policy.p", "aws_iam_role_policy", ["update"], { policy: policy("s3:GetObject") }, { policy: policy("s3:PutObject") }),
          change("aws_iam_role.trust", "aws_iam_role", ["update"], { assume_role_policy: policy("a") }, { assume_role_policy: policy("b") }),
          change("aws_iam_role.tags", "aws_iam_role", ["update"], { assume_role_policy: policy("a"), tags: {} }, { assume_role_policy: policy("a"), tags: { A: "b" } }),
        ],
      },
      {},
    );
    expect(r.risks.map((k) => [k.kind, k.address, k.message])).toEqual([
      ["iam-change", "aws_iam_role_policy.p", "IAM change of policy on aws_iam_role_policy aws_iam_role_policy.p"],
      ["iam-change", "aws_iam_role.trust", "IAM change of assume_role_policy on aws_iam_role aws_iam_role.trust"],
    ]);
  });

  test("flags a policy that becomes known only after apply", () => {
    const rc = { ...change("aws_iam_role_policy.p", "aws_iam_role_policy", ["update"], { policy: "{}" }, {}), };
    (rc.change as any).after_unknown = { policy: true };
    expect(reviewPlan("s", { resource_changes: [rc] }, {}).risks.map((k) => k.message)).toEqual([
      "IAM change of policy on aws_iam_role_policy aws_iam_role_policy.p",
    ]);
  });

  test("treats equivalent policy JSON as unchanged", () => {
    const r = reviewPlan(
      "s",
      { resource_changes: [change("aws_iam_role_policy.p", "aws_iam_role_policy", ["update"], { policy: '{"A": 1}' }, { policy: '{"A":1}' })] },
      {},
    );
    expect(r.risks).toEqual([]);
  });

  test("flags privileged mode turned on, for a new project and for an update", () => {
    const env = (p: boolean) => ({ name: "p", environment: [{ privileged_mode: p }] });
    const r = reviewPlan(
      "s",
      {
        resource_changes: [
          change("aws_codebuild_project.new", "aws_codebuild_project", ["create"], null, env(true)),
          change("aws_codebuild_project.on", "aws_codebuild_project", ["update"], env(false), env(true)),
          change("aws_codebuild_project.still", "aws_codebuild_project", ["update"], env(true), env(true)),
        ],
      },
      {},
    );
    expect(r.risks.map((k) => k.address)).toEqual(["aws_codebuild_project.new", "aws_codebuild_project.on"]);
  });

  test("flags a backend change against the previous backend settings", () => {
    const r = reviewPlan("s", { resource_changes: [] }, { terraform: { backend: { s3: { bucket: "b2", key: "k", encrypt: true } } } }, { bucket: "b1", key: "k" });
    expect(r.risks).toEqual([{ kind: "backend-change", address: "terraform.backend.s3", message: 'state backend changes: bucket "b1" -> "b2"' }]);
  });

  test("lists the policy-pack suppressions of the synthesized stack", () => {
    const synthesized = { resource: { aws_codebuild_project: { P: { "//": { policy_suppressions: [{ rule: "CKV_AWS_316", reason: "needs docker" }] } } } } };
    expect(reviewPlan("s", { resource_changes: [] }, synthesized).suppressions).toEqual([
      { address: "aws_codebuild_project.P", rule: "CKV_AWS_316", reason: "needs docker" },
    ]);
  });
});

describe("guard", () => {
  const review = reviewPlan("s", { resource_changes: [change("aws_iam_role.r", "aws_iam_role", ["delete"], {}, null)] }, {});

  test("blocks a deleted role that no allowance names", () => {
    expect(guard([review], [])).toEqual({ blocked: ["s:aws_iam_role.r"], unusedAllowances: [], emptyState: [], unusedEmptyStateAllowances: [], ok: false });
  });

  test("passes when the allowance names exactly that resource", () => {
    expect(guard([review], ["s:aws_iam_role.r"]).ok).toBe(true);
  });

  test("fails when an allowance names a resource the plan does not destroy", () => {
    expect(guard([review], ["s:aws_iam_role.r", "s:aws_ecr_repository.x"])).toEqual({
      blocked: [],
      unusedAllowances: ["s:aws_ecr_repository.x"],
      emptyState: [],
      unusedEmptyStateAllowances: [],
      ok: false,
    });
  });

  test("the summary says what is blocked and how to allow it", () => {
    expect(summaryMarkdown([review], guard([review], []))).toContain(
      ":no_entry: **Blocked**: the plan deletes or replaces `s:aws_iam_role.r`. Re-run with `--allow-destroy <stack>:<address>` naming exactly the resources allowed to go.",
    );
  });
});

describe("a real environment planned against a local endpoint", () => {
  const prod = reviewPlan("prod-eu-west-1", { resource_changes: [] }, {});
  const local = reviewPlan("local-eu-central-1", { resource_changes: [] }, {});
  const localEndpoint = { environments: ["prod"], variables: { AWS_ENDPOINT_URL: "http://127.0.0.1:5000" }, stacks: ["prod-eu-west-1"] };
  const NOTICE =
    ":warning: **Planned against a local endpoint, not AWS**: environment `prod` (not local) was planned with " +
    "`AWS_ENDPOINT_URL=http://127.0.0.1:5000` (allowed on purpose); this plan says nothing about its AWS account.";

  test("is stated at the top of the summary, right under its title", () => {
    const lines = summaryMarkdown([local, prod], guard([local, prod], []), localEndpoint).split("\n");
    expect(lines.slice(0, 4)).toEqual(["# Terraform plan review", "", NOTICE, ""]);
  });

  test("is stated at the top of that stack's review, and only there", () => {
    expect(stackMarkdown(prod, localEndpoint).split("\n").slice(0, 3)).toEqual(["## prod-eu-west-1", "", NOTICE]);
    expect(stackMarkdown(local, localEndpoint)).not.toContain("local endpoint");
  });

  test("is the first key of summary.json, null when no real environment was", () => {
    const json = summaryJson([local, prod], guard([local, prod], []), localEndpoint);
    expect(Object.keys(json)[0]).toBe("localEndpoint");
    expect((json as any).localEndpoint).toEqual({ notice: NOTICE, ...localEndpoint });
    expect(summaryJson([local], guard([local], []))).toMatchObject({ localEndpoint: null, ok: true, stacks: [local] });
  });

  test("names every environment when there are several", () => {
    expect(summaryMarkdown([], guard([], []), { ...localEndpoint, environments: ["prod", "staging"], stacks: [] })).toContain(
      "environments `prod`, `staging` (not local) were planned with `AWS_ENDPOINT_URL=http://127.0.0.1:5000` (allowed on purpose); this plan says nothing about their AWS accounts.",
    );
  });

  test("is not mentioned in a review without it", () => {
    expect(summaryMarkdown([local], guard([local], []))).not.toContain("local endpoint");
  });
});

describe("npm run plan flags", () => {
  test("parse --allow-destroy lists, --out, --apply", () => {
    expect(parsePlanFlags(["--allow-destroy", "local-eu-central-1:aws_ecr_repository.R,local-us-east-1:aws_iam_role.X", "--out", "p", "--apply"])).toEqual({
      allowDestroy: ["local-eu-central-1:aws_ecr_repository.R", "local-us-east-1:aws_iam_role.X"],
      allowEmptyState: [],
      out: "p",
      baseline: undefined,
      apply: true,
      allowLocalEndpoint: false,
      stacks: [],
    });
  });

  test("--allow-local-endpoint and ALLOW_LOCAL_ENDPOINT=1 allow a real environment on a local endpoint", () => {
    expect(parsePlanFlags(["--allow-local-endpoint"])).toMatchObject({ allowLocalEndpoint: true });
    expect(parsePlanFlags([], { ALLOW_LOCAL_ENDPOINT: "1" })).toMatchObject({ allowLocalEndpoint: true });
  });

  test("ALLOW_LOCAL_ENDPOINT other than 1 is refused", () => {
    expect(messageOf(() => parsePlanFlags(["--allow-local-endpoint"], { ALLOW_LOCAL_ENDPOINT: "true" }))).toBe('ALLOW_LOCAL_ENDPOINT "true" must be 1 or unset');
  });

  test("ALLOW_DESTROY adds allowances from the environment", () => {
    expect(parsePlanFlags([], { ALLOW_DESTROY: "prod-eu-west-1:aws_iam_role.A prod-eu-west-1:aws_iam_role.B" })).toMatchObject({
      allowDestroy: ["prod-eu-west-1:aws_iam_role.A", "prod-eu-west-1:aws_iam_role.B"],
    });
    expect(messageOf(() => parsePlanFlags([], { ALLOW_DESTROY: "x" }))).toBe(
      'ALLOW_DESTROY "x" must be <stack>:<resource address>, e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD',
    );
  });

  test.each([
    [["--allow-destroy", "aws_ecr_repository.R"], '--allow-destroy "aws_ecr_repository.R" must be <stack>:<resource address>, e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD'],
    [["--out"], "option --out needs a value"],
    [["--baseline", "/nonexistent"], '--baseline "/nonexistent" is not a synth output folder (no stacks/ inside)'],
    [["--force"], 'unknown flag "--force" (known: --allow-destroy, --allow-empty-state, --out, --baseline, --apply, --plans, --check-only, --parallelism, --stack, --allow-local-endpoint, --help)'],
    [["--allow-local-endpoint=1"], 'unknown flag "--allow-local-endpoint=1" (known: --allow-destroy, --allow-empty-state, --out, --baseline, --apply, --plans, --check-only, --parallelism, --stack, --allow-local-endpoint, --help)'],
  ])("%j is refused", (argv, message) => {
    expect(messageOf(() => parsePlanFlags(argv))).toBe(message);
  });
});

describe("the summary as a pull-request comment", () => {
  /** The review of a new stack: the regional stack's ~30 resources, all created (~2 KB of details). */
  const newStack = (name: string) =>
    reviewPlan(
      name,
      {
        resource_changes: Array.from({ length: 30 }, (_, i) =>
          change(`aws_cloudwatch_log_group.codebuild_sample_dckr_push_ecr_log_group_${i}`, "aws_cloudwatch_log_group", ["create"], null, {}),
        ),
      },
      {},
    );
  const stacks = (n: number) => Array.from({ length: n }, (_, i) => newStack(`team-${String(i).padStart(3, "0")}-eu-west-1`));

  test("is not cut when it fits", () => {
    const reviews = stacks(3);
    const md = summaryMarkdown(reviews, guard(reviews, []));
    expect(md).not.toContain("Truncated");
    for (const r of reviews) expect(md).toContain(stackMarkdown(r));
  });

  test("of 40 new stacks stays within GitHub's comment limit: whole details are left out, with a pointer to the plans artifact", () => {
    // GIVEN more than 65,536 characters of review
    const reviews = stacks(40);
    const uncut = summaryMarkdown(reviews, guard(reviews, []), undefined, { maxChars: Infinity });
    expect(uncut.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);

    // WHEN
    const md = summaryMarkdown(reviews, guard(reviews, []));

    // THEN it fits, with every row of the table and the verdict, and the note right after them
    expect(md.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    expect(SUMMARY_MAX_CHARS).toBeLessThan(GITHUB_COMMENT_LIMIT);
    for (const r of reviews) expect(md).toContain(`| ${r.stack} | 30 | 0 | 0 | 0 | none |`);
    const kept = reviews.filter((r) => md.includes(`## ${r.stack}\n`));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(40);
    expect(md).toContain(
      ":white_check_mark: No unallowed deletion or replacement of a repository or role.\n\n" +
        `:scissors: **Truncated to fit a pull-request comment** (GitHub's limit is 65,536 characters): the details of ${40 - kept.length} of 40 stacks are left out. ` +
        "Every stack's review is in the `plans` artifact of this run (`<stack>.md`, and `summary.json` for all of them).\n",
    );
    // AND the details it keeps are whole, the first ones in order
    expect(md.endsWith(stackMarkdown(reviews[kept.length - 1]))).toBe(true);
    expect(kept).toEqual(reviews.slice(0, kept.length));
  });

  test("cuts rows of the table too when even the table does not fit, and says how many it lists", () => {
    const reviews = stacks(40);
    const md = summaryMarkdown(reviews, guard(reviews, []), undefined, { maxChars: 2000 });
    expect(md.length).toBeLessThanOrEqual(2000);
    const rows = md.split("\n").filter((l) => /^\| team-\d+-eu-west-1 \|/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    expect(md).toContain(`the table lists the first ${rows.length} of 40 stacks and the details of 40 of 40 stacks are left out.`);
  });
});
