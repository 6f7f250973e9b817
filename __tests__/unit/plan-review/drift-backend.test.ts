import { guard, reviewPlan, stackMarkdown, summaryJson, summaryMarkdown } from "../../../scripts/plan-review/review";
import { parsePlanFlags } from "../../../scripts/plan-review/plan";
import { sameLocalAws, stateContents } from "../../../scripts/plan-review/state-record";
import { messageOf } from "../../support/synth";

/** Fixtures shaped as `terraform show -json <planfile>` writes them (Terraform 1.11). */
const STACK = "prod-eu-west-1";
const BACKEND = { bucket: "acme-tfstate", key: "platform/prod/eu-west-1/terraform.tfstate", region: "eu-central-1", encrypt: true, use_lockfile: true };
const synthesized = (backend: Record<string, unknown> = BACKEND) => ({ terraform: { backend: { s3: backend } } });
const rc = (address: string, actions: string[], mode = "managed") => ({
  address,
  mode,
  type: address.split(".")[0],
  name: address.split(".")[1],
  change: { actions, before: actions[0] === "create" ? null : {}, after: actions[0] === "delete" ? null : {}, after_unknown: {} },
});
const drift = (address: string, actions: string[], before: any, after: any, mode = "managed") => ({
  address,
  mode,
  type: address.split(".")[0],
  name: address.split(".")[1],
  change: { actions, before, after, before_sensitive: {}, after_sensitive: {} },
});
const APPLIED = { outputs: ["repository_url", "privileged_project_name", "dind_project_name"], resources: 23, after: "apply" as const, at: "2026-11-20T10:00:00.000Z" };

/** The plan of a stack whose state is empty: everything is created. */
const allCreated = {
  format_version: "1.2",
  resource_changes: [
    rc("aws_ecr_repository.Repository_22E53BBD", ["create"]),
    rc("aws_cloudwatch_log_group.LogGroup", ["create"]),
    rc("data.aws_caller_identity.current", ["read"], "data"),
  ],
};

describe("drift: resources changed outside Terraform (the plan's resource_drift)", () => {
  const secret = "ghp_s3cr3tT0ken";
  const plan = {
    resource_drift: [
      drift(
        "aws_cloudwatch_log_group.LogGroup",
        ["update"],
        { name: "/aws/codebuild/p", retention_in_days: 30, tags: { A: "1" }, kms_key_id: "" },
        { name: "/aws/codebuild/p", retention_in_days: 7, tags: { A: "1", B: "2" }, kms_key_id: null },
      ),
      // No tags read back as {}, no inline policy as []: nothing changed.
      drift("aws_ecr_repository.Repository_22E53BBD", ["update"], { tags: null, name: "r" }, { tags: {}, name: "r" }),
      drift("aws_codebuild_project.P", ["update"], { name: "p", environment: [{ environment_variable: [{ name: "TOKEN", value: "x" }] }] }, { name: "p", environment: [{ environment_variable: [{ name: "TOKEN", value: secret }] }] }),
      drift("aws_iam_role_policy.Pull", ["delete"], { name: "ecr-pull", policy: "{}" }, null),
      // Equivalent policy JSON: a change of representation, not of the resource.
      drift("aws_iam_role.ServiceRole", ["update"], { assume_role_policy: '{"A": 1}' }, { assume_role_policy: '{"A":1}' }),
      drift("data.aws_region.current", ["update"], { name: "a" }, { name: "b" }, "data"),
    ],
    resource_changes: [rc("aws_cloudwatch_log_group.LogGroup", ["update"]), rc("aws_iam_role_policy.Pull", ["create"]), rc("aws_ecr_repository.Repository_22E53BBD", ["no-op"])],
  };
  const review = reviewPlan(STACK, plan, synthesized(), BACKEND, APPLIED);

  test("lists each changed or deleted resource with the names of the changed attributes", () => {
    expect(review.drift).toEqual([
      { address: "aws_cloudwatch_log_group.LogGroup", type: "aws_cloudwatch_log_group", action: "update", attributes: ["retention_in_days", "tags"], corrected: true },
      { address: "aws_codebuild_project.P", type: "aws_codebuild_project", action: "update", attributes: ["environment"], corrected: false },
      { address: "aws_iam_role_policy.Pull", type: "aws_iam_role_policy", action: "delete", attributes: [], corrected: true },
    ]);
  });

  test("flags each as a drift risk, which does not block", () => {
    expect(review.risks.filter((k) => k.kind === "drift")).toEqual([
      { kind: "drift", address: "aws_cloudwatch_log_group.LogGroup", message: "aws_cloudwatch_log_group.LogGroup was changed outside Terraform: retention_in_days, tags (the plan changes it back)" },
      { kind: "drift", address: "aws_codebuild_project.P", message: "aws_codebuild_project.P was changed outside Terraform: environment (the plan keeps the change)" },
      { kind: "drift", address: "aws_iam_role_policy.Pull", message: "aws_iam_role_policy.Pull was deleted outside Terraform (the plan creates it again)" },
    ]);
    expect(guard([review], []).ok).toBe(true);
  });

  test("the stack's review has a Drift section; the summary lists the drift under the verdict; summary.json has the list", () => {
    expect(stackMarkdown(review)).toContain(
      [
        "Drift (changed outside Terraform):",
        "",
        "| resource | outside Terraform | attributes | this plan |",
        "|---|---|---|---|",
        "| `aws_cloudwatch_log_group.LogGroup` | changed | retention_in_days, tags | changes it back |",
        "| `aws_codebuild_project.P` | changed | environment | keeps the change |",
        "| `aws_iam_role_policy.Pull` | deleted |  | creates it again |",
        "",
      ].join("\n"),
    );
    const summary = summaryMarkdown([review], guard([review], []));
    expect(summary).toContain(
      ":white_check_mark: No unallowed deletion or replacement of a repository or role.\n\n" +
        "Drift (changed outside Terraform):\n\n" +
        "- `prod-eu-west-1`: `aws_cloudwatch_log_group.LogGroup` changed (retention_in_days, tags): this plan changes it back\n" +
        "- `prod-eu-west-1`: `aws_codebuild_project.P` changed (environment)\n" +
        "- `prod-eu-west-1`: `aws_iam_role_policy.Pull` deleted: this plan creates it again\n",
    );
    expect(summary).toContain("| prod-eu-west-1 | 1 | 1 | 0 | 0 | drift, iam-change |");
    expect((summaryJson([review], guard([review], [])) as any).drift).toEqual(review.drift.map((d) => ({ stack: STACK, ...d })));
  });

  test("never prints a value, only the attributes' names", () => {
    const all = JSON.stringify([stackMarkdown(review), summaryMarkdown([review], guard([review], [])), review.risks]);
    for (const value of [secret, "30", "ecr-pull", "/aws/codebuild/p"]) expect(all).not.toContain(value);
  });

  test("a plan without resource_drift has none, and says nothing about it", () => {
    const r = reviewPlan(STACK, { resource_changes: [] }, synthesized());
    expect(r.drift).toEqual([]);
    expect(stackMarkdown(r)).not.toContain("Drift");
    expect(summaryMarkdown([r], guard([r], []))).not.toContain("Drift");
  });

  test("the summary lists at most 20 drifted resources, then how many more", () => {
    const many = reviewPlan(
      STACK,
      { resource_drift: Array.from({ length: 25 }, (_, i) => drift(`aws_cloudwatch_log_group.G${i}`, ["update"], { retention_in_days: 30 }, { retention_in_days: 7 })) },
      synthesized(),
    );
    const summary = summaryMarkdown([many], guard([many], []));
    expect(summary.split("\n").filter((l) => l.startsWith("- `prod-eu-west-1`: "))).toHaveLength(20);
    expect(summary).toContain("- … and 5 more (see the plans artifact)\n");
  });
});

describe("drift: a role's inline policies read back from the stack's own aws_iam_role_policy", () => {
  const rolePolicy = (role: string, name: string) => ({ address: `aws_iam_role_policy.${name}`, mode: "managed", type: "aws_iam_role_policy", values: { role, name } });
  const roleDrift = (names: string[]) =>
    drift("aws_iam_role.Role", ["update"], { name: "cb-app", inline_policy: [] }, { name: "cb-app", inline_policy: names.map((name) => ({ name, policy: "{}" })) });

  test("are not drift: every name is a policy the stack manages for that role", () => {
    const plan = { resource_drift: [roleDrift(["app-policy"])], prior_state: { values: { root_module: { resources: [rolePolicy("cb-app", "app-policy")] } } } };
    expect(reviewPlan(STACK, plan, synthesized()).drift).toEqual([]);
  });

  test("an inline policy added outside Terraform is drift", () => {
    const plan = { resource_drift: [roleDrift(["app-policy", "added-by-hand"])], prior_state: { values: { root_module: { resources: [rolePolicy("cb-app", "app-policy")] } } } };
    expect(reviewPlan(STACK, plan, synthesized()).drift).toEqual([{ address: "aws_iam_role.Role", type: "aws_iam_role", action: "update", attributes: ["inline_policy"], corrected: false }]);
  });

  test("a policy of the same name managed for another role does not count", () => {
    const plan = { resource_drift: [roleDrift(["app-policy"])], planned_values: { root_module: { resources: [rolePolicy("cb-other", "app-policy")] } } };
    expect(reviewPlan(STACK, plan, synthesized()).drift.map((d) => d.attributes)).toEqual([["inline_policy"]]);
  });
});

describe("state-empty: a plan that creates everything although the last apply left resources", () => {
  const MESSAGE =
    "the state at s3://acme-tfstate/platform/prod/eu-west-1/terraform.tfstate is empty (the plan creates all 2 resources) but the last apply recorded 23 resources " +
    "and 3 outputs (repository_url, privileged_project_name, dind_project_name) (2026-11-20T10:00:00.000Z): check state.keyPrefix, state.bucket and state.region " +
    "of the environment, or restore the state (docs/recovery.md); after an interrupted apply, adopt what it created with npm run recover -- --stack prod-eu-west-1; " +
    "if the stack is meant to start empty, re-run with --allow-empty-state prod-eu-west-1";

  test("is flagged, with where the state is and what to do", () => {
    expect(reviewPlan(STACK, allCreated, synthesized(), BACKEND, APPLIED).risks).toEqual([{ kind: "state-empty", address: "terraform.backend.s3", message: MESSAGE }]);
  });

  test("blocks the review (exit 1) unless --allow-empty-state names the stack; naming a stack without the risk fails too", () => {
    const empty = reviewPlan(STACK, allCreated, synthesized(), BACKEND, APPLIED);
    const fine = reviewPlan("prod-us-west-2", { resource_changes: [rc("aws_ecr_repository.R", ["no-op"])] }, synthesized(), BACKEND, APPLIED);
    expect(guard([empty, fine], [])).toEqual({ blocked: [], unusedAllowances: [], emptyState: [STACK], unusedEmptyStateAllowances: [], ok: false });
    expect(guard([empty, fine], [], [STACK]).ok).toBe(true);
    expect(summaryMarkdown([empty, fine], guard([empty, fine], [], [STACK]))).toContain(
      ":white_check_mark: No unallowed deletion or replacement of a repository or role.\n\n" +
        ":warning: **Empty state allowed**: `prod-eu-west-1` will be created again from nothing.\n",
    );
    expect(guard([empty, fine], [], [STACK, "prod-us-west-2"])).toEqual({
      blocked: [],
      unusedAllowances: [],
      emptyState: [],
      unusedEmptyStateAllowances: ["prod-us-west-2"],
      ok: false,
    });
  });

  test("the summary says what blocks and how to go on", () => {
    const empty = reviewPlan(STACK, allCreated, synthesized(), BACKEND, APPLIED);
    const summary = summaryMarkdown([empty], guard([empty], []));
    expect(summary).toContain(
      ":no_entry: **Blocked: empty state**: `prod-eu-west-1` plans to create everything again, although the last apply left resources in the state " +
        "(`state-empty` below). Check the environment's `state.keyPrefix`, `state.bucket` and `state.region`, or restore the state (docs/recovery.md); " +
        "after an interrupted apply, adopt what it created with `npm run recover -- --stack <stack>`; if the stack is meant to start empty, re-run with `--allow-empty-state <stack>`.",
    );
    expect(summary).not.toContain(":white_check_mark:");
    expect(summary).toContain(`| ${STACK} | 2 | 0 | 0 | 0 | state-empty |`);
    expect(summaryMarkdown([empty], guard([empty], [], ["prod-us-west-2"]))).toContain(
      ":no_entry: **--allow-empty-state names stacks whose state is not unexpectedly empty**: `prod-us-west-2`.",
    );
    expect(summaryJson([empty], guard([empty], []))).toMatchObject({ ok: false, emptyState: [STACK], unusedEmptyStateAllowances: [] });
  });

  test("is not flagged when the state holds something, when the last apply left nothing (a destroy), or when nothing is known", () => {
    const updates = { resource_changes: [rc("aws_ecr_repository.R", ["create"]), rc("aws_iam_role.R", ["update"])] };
    const replaces = { resource_changes: [rc("aws_ecr_repository.R", ["delete", "create"])] };
    expect(reviewPlan(STACK, updates, synthesized(), BACKEND, APPLIED).risks).toEqual([]);
    expect(reviewPlan(STACK, replaces, synthesized(), BACKEND, APPLIED).risks.map((k) => k.kind)).toEqual(["repository-lost"]);
    expect(reviewPlan(STACK, allCreated, synthesized(), BACKEND, { outputs: [], resources: 0, after: "destroy", at: "t" }).risks).toEqual([]);
    expect(reviewPlan(STACK, allCreated, synthesized(), BACKEND).risks).toEqual([]);
    expect(reviewPlan(STACK, { resource_changes: [] }, synthesized(), BACKEND, APPLIED).risks).toEqual([]);
  });

  test("after the record of a first init (no apply recorded on this machine) the message says so", () => {
    const r = reviewPlan(STACK, allCreated, synthesized(), BACKEND, { outputs: [], resources: 1, after: "init", at: "t" });
    expect(r.risks[0].message).toContain("is empty (the plan creates all 2 resources) but the first plan of this stack here found 1 resource (t): ");
  });
});

describe("backend-change against the record of the last apply", () => {
  test("a moved key prefix: the key is listed, before and after, with state-empty when the new state is empty", () => {
    const moved = { ...BACKEND, key: "moved/prod/eu-west-1/terraform.tfstate" };
    const r = reviewPlan(STACK, allCreated, synthesized(moved), BACKEND, APPLIED);
    expect(r.risks.map((k) => [k.kind, k.message.split(" is empty")[0]])).toEqual([
      ["backend-change", 'state backend changes: key "platform/prod/eu-west-1/terraform.tfstate" -> "moved/prod/eu-west-1/terraform.tfstate"'],
      ["state-empty", "the state at s3://acme-tfstate/moved/prod/eu-west-1/terraform.tfstate"],
    ]);
  });

  test("bucket and region too, each listed", () => {
    const r = reviewPlan(STACK, { resource_changes: [] }, synthesized({ ...BACKEND, bucket: "other", region: "eu-west-1" }), BACKEND);
    expect(r.risks).toEqual([
      { kind: "backend-change", address: "terraform.backend.s3", message: 'state backend changes: bucket "acme-tfstate" -> "other", region "eu-central-1" -> "eu-west-1"' },
    ]);
  });

  test("the nulls terraform init records for unset settings (endpoints.sso: null) are no change; a changed endpoint is", () => {
    const endpoints = { s3: "http://127.0.0.1:5000", sts: "http://127.0.0.1:5000" };
    const initialized = { ...BACKEND, endpoints: { ...endpoints, sso: null, dynamodb: null } };
    expect(reviewPlan(STACK, { resource_changes: [] }, synthesized({ ...BACKEND, endpoints }), initialized).risks).toEqual([]);
    const moved = reviewPlan(STACK, { resource_changes: [] }, synthesized({ ...BACKEND, endpoints: { ...endpoints, s3: "http://127.0.0.1:5001" } }), initialized);
    expect(moved.risks.map((k) => k.kind)).toEqual(["backend-change"]);
  });
});

describe("state records", () => {
  test("count managed resource instances and name the outputs of a pulled state", () => {
    const state = {
      version: 4,
      resources: [
        { mode: "managed", type: "aws_ecr_repository", name: "R", instances: [{}] },
        { mode: "managed", type: "aws_iam_role", name: "Pull", instances: [{}, {}] },
        { mode: "data", type: "aws_caller_identity", name: "c", instances: [{}] },
      ],
      outputs: { repository_url: { value: "u" }, dind_project_name: { value: "d" } },
    };
    expect(stateContents(state)).toEqual({ outputs: ["repository_url", "dind_project_name"], resources: 3 });
    expect(stateContents({})).toEqual({ outputs: [], resources: 0 });
  });

  test("of a local stack apply only to the same local AWS (its backend's endpoints); terraform init's nulls are no endpoints", () => {
    const local = (port: number) => ({ ...BACKEND, endpoints: { s3: `http://127.0.0.1:${port}`, sts: `http://127.0.0.1:${port}` } });
    expect(sameLocalAws(local(5000), local(5000))).toBe(true);
    expect(sameLocalAws(local(5000), local(5001))).toBe(false);
    expect(sameLocalAws(BACKEND, local(5000))).toBe(false);
    expect(sameLocalAws(BACKEND, BACKEND)).toBe(true);
    expect(sameLocalAws({ ...BACKEND, endpoints: null }, BACKEND)).toBe(true);
    expect(sameLocalAws({ ...BACKEND, endpoints: { s3: "http://127.0.0.1:5000", iam: null, sts: "http://127.0.0.1:5000" } }, local(5000))).toBe(true);
  });
});

describe("--allow-empty-state", () => {
  test("names stacks (repeatable, comma separated), and ALLOW_EMPTY_STATE adds more", () => {
    expect(parsePlanFlags(["--allow-empty-state", "local-eu-central-1,local-us-east-1", "--allow-empty-state", "prod-eu-west-1"], { ALLOW_EMPTY_STATE: "qa-eu-west-2 dev-us-gov-west-1" })).toMatchObject({
      allowEmptyState: ["qa-eu-west-2", "dev-us-gov-west-1", "local-eu-central-1", "local-us-east-1", "prod-eu-west-1"],
    });
    expect(parsePlanFlags([])).toMatchObject({ allowEmptyState: [] });
  });

  test.each([
    [["--allow-empty-state"], {}, "option --allow-empty-state needs a value"],
    [["--allow-empty-state", "local"], {}, '--allow-empty-state "local" must be a stack name <environment>-<region>, e.g. local-eu-central-1'],
    [[], { ALLOW_EMPTY_STATE: "local-eu-central-1:aws_iam_role.R" }, 'ALLOW_EMPTY_STATE "local-eu-central-1:aws_iam_role.R" must be a stack name <environment>-<region>, e.g. local-eu-central-1'],
  ])("%j with %j is refused: %s", (argv, env, message) => {
    expect(messageOf(() => parsePlanFlags(argv, env))).toBe(message);
  });
});
