import { recordLocation } from "../../../scripts/plan-review/record-store";
import { deployedCommit, parseRecord, stateBuckets, terraformDigest, type FoundRecord, type StateRecord } from "../../../scripts/plan-review/state-record";
import { orphanTerraformJson, parseOrphanFlags } from "../../../scripts/plan-review/destroy-orphan";
import { orphansSection, pendingReviews, pendingSection } from "../../../scripts/plan-review/merge-records";
import { reviewPlan } from "../../../scripts/plan-review/review";
import { orphansMarkdown, orphansOf, parseOrphans } from "../../../scripts/stacks/orphans";
import { pendingLine, pendingReason } from "../../../scripts/stacks/pending";
import { organization, prodEnvironment } from "../../support/environments";
import { messageOf } from "../../support/synth";

/**
 * The state records kept beside each state in its S3 backend (state-record.ts, record-store.ts)
 * and what is decided from them: pending stacks, orphaned stacks, the destroy of an orphan and
 * the nightly report's verdicts. In-process: the S3 calls run in e2e/plan-review/records-in-ci.
 */
const BACKEND = { bucket: "acme-tfstate", key: "platform/prod/eu-west-1/terraform.tfstate", region: "eu-central-1", encrypt: true, use_lockfile: true };
const SHA = "0123456789abcdef0123456789abcdef01234567";
const record = (over: Partial<StateRecord> = {}): StateRecord => ({
  stack: "prod-eu-west-1",
  backend: BACKEND,
  outputs: ["repository_url"],
  resources: 4,
  after: "apply",
  at: "2026-12-01T10:00:00.000Z",
  commit: SHA,
  digest: "d1",
  local: false,
  ...over,
});

describe("where a record is", () => {
  test("beside the state: the backend's bucket, <key>.record.json, its region; AWS unless an endpoint is set", () => {
    expect(recordLocation(BACKEND, {}, false)).toEqual({ bucket: "acme-tfstate", key: "platform/prod/eu-west-1/terraform.tfstate.record.json", region: "eu-central-1", endpoint: undefined, stsEndpoint: undefined, roleArn: undefined, local: false });
  });

  test("the backend's endpoints.s3 comes first, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL; assume_role is the backend's", () => {
    const env = { AWS_ENDPOINT_URL: "http://all:1", AWS_ENDPOINT_URL_S3: "http://s3:2" };
    expect(recordLocation({ ...BACKEND, endpoints: { s3: "http://own:3", sts: "http://sts:4" } }, env, true)).toMatchObject({ endpoint: "http://own:3", stsEndpoint: "http://sts:4", local: true });
    expect(recordLocation(BACKEND, env, false)).toMatchObject({ endpoint: "http://s3:2", stsEndpoint: "http://all:1" });
    expect(recordLocation(BACKEND, { AWS_ENDPOINT_URL: "http://all:1" }, false)).toMatchObject({ endpoint: "http://all:1" });
    expect(recordLocation({ ...BACKEND, assume_role: { role_arn: "arn:aws:iam::1:role/state" } }, {}, false)).toMatchObject({ roleArn: "arn:aws:iam::1:role/state" });
  });

  test("a backend block without bucket, key or region has none", () => {
    expect(recordLocation({ bucket: "b", region: "r" }, {}, false)).toBeUndefined();
  });

  test("the state buckets searched are each environment's once, with its region and role; a local one's endpoint is the run's", () => {
    const [tools, staging, prod] = organization();
    expect(stateBuckets([tools, staging, prod], undefined, {})).toEqual([
      { bucket: "acme-tfstate", region: "eu-central-1", endpoint: undefined, stsEndpoint: undefined, roleArn: "arn:aws:iam::999999999999:role/state-access", local: false },
      { bucket: "acme-tfstate", region: "eu-central-1", endpoint: undefined, stsEndpoint: undefined, roleArn: undefined, local: false },
    ]);
    const local = { ...prodEnvironment(), local: true, state: { bucket: "tfstate-local" } };
    expect(stateBuckets([local], "http://127.0.0.1:5000", {})).toEqual([
      { bucket: "tfstate-local", region: "eu-west-1", endpoint: "http://127.0.0.1:5000", stsEndpoint: "http://127.0.0.1:5000", roleArn: undefined, local: true },
    ]);
  });
});

describe("what a record holds", () => {
  test("a record is checked field by field, one line naming what is wrong; a record of an earlier version (no stack, commit, digest) is read", () => {
    expect(parseRecord({ backend: BACKEND, outputs: [], resources: 2, after: "apply", at: "t" }, "prod-eu-west-1")).toEqual({
      stack: "prod-eu-west-1",
      backend: BACKEND,
      outputs: [],
      resources: 2,
      after: "apply",
      at: "t",
      commit: null,
      digest: null,
      local: false,
    });
    expect(messageOf(() => parseRecord([]))).toBe("not a JSON object");
    expect(messageOf(() => parseRecord({ backend: BACKEND, outputs: [], resources: -1, after: "apply" }))).toBe('"resources" must be a whole number');
    expect(messageOf(() => parseRecord({ backend: BACKEND, outputs: [], resources: 1, after: "plan" }))).toBe('"after" must be apply, destroy or init');
    expect(messageOf(() => parseRecord({ backend: BACKEND, outputs: [], resources: 1, after: "apply" }))).toBe('"stack" must name the stack');
  });

  test("the commit is GITHUB_SHA when a runner sets it; one that is not 40 hexadecimal digits is refused in one line", () => {
    expect(deployedCommit({ GITHUB_SHA: SHA.toUpperCase() }, "/nowhere")).toBe(SHA);
    expect(messageOf(() => deployedCommit({ GITHUB_SHA: "main" }, "/nowhere"))).toBe('GITHUB_SHA "main" is not a commit: it must be 40 hexadecimal digits (the commit a runner checked out)');
  });

  test("the digest ignores cdktf's // comments and key order, and nothing else", () => {
    const a = { "//": { metadata: { version: "0.21.0" } }, resource: { aws_ecr_repository: { R: { name: "a", "//": { path: "x" } } } }, terraform: { backend: { s3: BACKEND } } };
    const b = { terraform: { backend: { s3: BACKEND } }, resource: { aws_ecr_repository: { R: { name: "a" } } } };
    expect(terraformDigest(a)).toBe(terraformDigest(b));
    expect(terraformDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(terraformDigest({ ...b, resource: { aws_ecr_repository: { R: { name: "b" } } } })).not.toBe(terraformDigest(b));
  });
});

describe("pending stacks", () => {
  test("pending: no record, another digest, a destroyed state, an unreadable record; not pending: the same digest", () => {
    expect(pendingReason(undefined, "d1")).toBe("never deployed");
    expect(pendingReason(record(), "d2")).toBe("changed");
    expect(pendingReason(record({ after: "destroy" }), "d1")).toBe("destroyed");
    expect(pendingReason("unreadable", "d1")).toBe("unreadable record");
    expect(pendingReason(record(), "d1")).toBeUndefined();
  });

  test("each is one line saying why and since which deployed commit", () => {
    const stack = { name: "prod-eu-west-1", environment: "prod", accountId: "1", region: "eu-west-1", dir: "d", local: false, wave: 0 };
    expect(pendingLine({ stack, reason: "changed", deployed: { commit: SHA, at: "T" } })).toBe(`pending: prod-eu-west-1: its synthesized Terraform differs from the one last deployed (deployed from ${SHA.slice(0, 12)} at T)`);
    expect(pendingLine({ stack, reason: "never deployed" })).toBe("pending: prod-eu-west-1: no state record at its backend: never deployed there");
  });

  test("the nightly report lists the reviews that change more than their drift, since which deployed commit", () => {
    const plan = (actions: string[]) => ({ resource_changes: [{ address: "aws_cloudwatch_log_group.L", mode: "managed", type: "aws_cloudwatch_log_group", change: { actions, before: {}, after: {} } }] });
    const changed = { ...reviewPlan("prod-eu-west-1", plan(["update"]), {}), deployed: { commit: SHA, at: "T" } };
    const drifted = reviewPlan("prod-us-east-1", {
      ...plan(["update"]),
      resource_drift: [{ address: "aws_cloudwatch_log_group.L", mode: "managed", type: "aws_cloudwatch_log_group", change: { actions: ["update"], before: { retention_in_days: 30 }, after: { retention_in_days: 7 } } }],
    }, {});
    expect(pendingReviews([changed, drifted]).map((r) => r.stack)).toEqual(["prod-eu-west-1"]);
    expect(pendingSection([changed, drifted])).toContain(`- \`prod-eu-west-1\`: 0 add, 1 change, 0 destroy, 0 replace; deployed from \`${SHA.slice(0, 12)}\` at T`);
    expect(pendingSection([drifted])).toBe("");
  });
});

describe("orphaned stacks", () => {
  const [tools, staging, prod] = organization();
  const found = (r: StateRecord, key = `${String(r.backend.key)}.record.json`): FoundRecord => ({ record: r, location: { bucket: "acme-tfstate", key, region: "eu-central-1", local: false }, moved: false });

  test("a record whose stack the config lacks and whose state holds resources is an orphan; a destroyed or empty one, or a stack's current state, is not", () => {
    const removed = record({ stack: "qa-eu-west-1", backend: { ...BACKEND, key: "qa/eu-west-1/terraform.tfstate" } });
    const current = record({ stack: "staging-eu-west-1", backend: { ...BACKEND, key: "staging/eu-west-1/terraform.tfstate" } });
    const destroyed = record({ stack: "old-eu-west-1", backend: { ...BACKEND, key: "old/eu-west-1/terraform.tfstate" }, after: "destroy", resources: 0 });
    expect(orphansOf([found(removed), found(current), found(destroyed)], [tools, staging, prod])).toEqual([
      { name: "qa-eu-west-1", backend: { bucket: "acme-tfstate", key: "qa/eu-west-1/terraform.tfstate", region: "eu-central-1" }, resources: 4, reason: "removed", commit: SHA, at: "2026-12-01T10:00:00.000Z", local: false },
    ]);
  });

  test("a state a moved backend left behind is an orphan too, saying where the stack is now", () => {
    const left = record({ stack: "staging-eu-west-1", backend: { ...BACKEND, key: "old-prefix/staging/eu-west-1/terraform.tfstate" } });
    expect(orphansOf([found(left)], [tools, staging, prod])).toMatchObject([{ name: "staging-eu-west-1", reason: "moved", movedTo: "s3://acme-tfstate/staging/eu-west-1/terraform.tfstate" }]);
  });

  test("the review's section names each with its state, resources, why and last commit, and says how to destroy it", () => {
    const [o] = orphansOf([found(record({ stack: "qa-eu-west-1", backend: { ...BACKEND, key: "qa/eu-west-1/terraform.tfstate" } }))], [tools]);
    const md = orphansMarkdown([o]);
    expect(md).toContain("## Orphaned stacks");
    expect(md).toContain("`npm run destroy -- --orphan <stack>`");
    expect(md).toContain(`| \`qa-eu-west-1\` | \`s3://acme-tfstate/qa/eu-west-1/terraform.tfstate\` | 4 | not in the config | \`${SHA.slice(0, 12)}\` |`);
    expect(orphansMarkdown([])).toBe("");
    expect(orphansSection(Array.from({ length: 60 }, () => o)).split("\n").filter((l) => l.startsWith("| `qa")).length).toBe(50);
  });

  test("an --orphans file is checked: one line naming the file and the problem", () => {
    expect(messageOf(() => parseOrphans("{", "--orphans o.json"))).toMatch(/^--orphans o\.json is not valid JSON \(.*\): expected the output of npm run -s stacks -- --orphans --json$/);
    expect(messageOf(() => parseOrphans("{}", "f"))).toBe("f must hold a JSON array of orphans (npm run -s stacks -- --orphans --json)");
    expect(messageOf(() => parseOrphans('[{"name":"qa-eu-west-1","backend":{"bucket":"b","key":"k"},"resources":1,"reason":"gone"}]', "f"))).toBe('f: orphan qa-eu-west-1: "reason" must be removed or moved, not "gone"');
  });

  test("its destruction needs --orphan; --confirm must name the same stack; other flags are refused", () => {
    expect(parseOrphanFlags(["--orphan", "qa-eu-west-1"])).toEqual({ orphan: "qa-eu-west-1", confirm: undefined, out: "plans/orphans" });
    expect(messageOf(() => parseOrphanFlags(["--orphan", "qa-eu-west-1", "--confirm", "qa"]))).toBe('--confirm "qa" must name the orphan being destroyed (qa-eu-west-1)');
    expect(messageOf(() => parseOrphanFlags(["--orphan", "qa-eu-west-1", "--stack", "x"]))).toBe('unknown flag "--stack" with --orphan (known: --orphan, --confirm, --out, --help)\nunexpected argument "x" (name the orphan with --orphan STACK)');
    expect(messageOf(() => parseOrphanFlags(["--orphan", "QA"]))).toBe('--orphan "QA" must be a stack name <environment>-<region>');
  });

  test("it is planned from the record alone: its backend and providers, no resources; a record without providers says what to do", () => {
    const providers = { required_providers: { aws: { source: "aws", version: "5.100.0" } }, provider: { aws: [{ region: "eu-west-1" }] } };
    expect(orphanTerraformJson(record({ providers }))).toEqual({ terraform: { required_providers: providers.required_providers, backend: { s3: BACKEND } }, provider: providers.provider });
    expect(messageOf(() => orphanTerraformJson(record()))).toMatch(/^prod-eu-west-1: its state record holds no provider configuration \(written by an earlier version\)/);
  });
});
