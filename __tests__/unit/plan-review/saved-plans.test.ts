import { createHash } from "crypto";
import { stackDigest } from "../../../scripts/plan-review/state-record";
import * as fs from "fs";
import * as path from "path";
import { deflateRawSync } from "zlib";
import { bindingProblem, plannedStateVersion, stateMismatch, stateVersion, zipEntry } from "../../../scripts/plan-review/binding";
import { parsePlanFlags } from "../../../scripts/plan-review/plan";
import { checkoutMismatch, decisionRefusal, readSavedSummary, type SavedSummary } from "../../../scripts/plan-review/saved-plans";
import { guard, reviewPlan, summaryJson } from "../../../scripts/plan-review/review";
import { tempDir } from "../../support/app";
import { messageOf } from "../../support/synth";

/**
 * Saved plans bound to what they were planned from, and the decision of `npm run deploy -- --plans`
 * before any apply: the state a saved plan started from (read from the plan file), the binding's
 * rules, the reviewed decision recorded in summary.json (all or nothing), a plan of another
 * commit or other Terraform, a state that moved on, and the flags.
 */

/** A zip archive of `files` as Go's archive/zip writes a saved plan: deflated entries, a central directory. */
function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = deflateRawSync(Buffer.from(text));
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(text.length, 22);
    local.writeUInt16LE(n.length, 26);
    locals.push(local, n, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(text.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const LINEAGE = "d8775e86-4810-0822-614e-cced3299b5cd";

describe("the binding of a saved plan", () => {
  test("the state a plan started from is the plan file's tfstate: none before the first apply, else its lineage and serial", () => {
    const dir = tempDir("binding");
    const fresh = path.join(dir, "fresh.tfplan");
    fs.writeFileSync(fresh, zip({ tfplan: "x", tfstate: JSON.stringify({ version: 4, serial: 0, lineage: "" }) }));
    expect(plannedStateVersion(fresh)).toEqual({ lineage: null, serial: null });
    const applied = path.join(dir, "applied.tfplan");
    fs.writeFileSync(applied, zip({ tfplan: "x", tfstate: JSON.stringify({ version: 4, serial: 7, lineage: LINEAGE }), "tfconfig/m-/main.tf": "" }));
    expect(plannedStateVersion(applied)).toEqual({ lineage: LINEAGE, serial: 7 });
    expect(zipEntry(zip({ a: "1" }), "b")).toBeUndefined();
    fs.writeFileSync(path.join(dir, "no-state.tfplan"), zip({ tfplan: "x" }));
    expect(messageOf(() => plannedStateVersion(path.join(dir, "no-state.tfplan")))).toBe(`${path.join(dir, "no-state.tfplan")} holds no tfstate: not a saved Terraform plan`);
    expect(messageOf(() => zipEntry(Buffer.from("not a zip at all, not at all"), "tfstate"))).toBe("not a zip archive (no end of central directory)");
  });

  test("the state now: terraform state pull's text, empty when there is none", () => {
    expect(stateVersion("")).toEqual({ lineage: null, serial: null });
    expect(stateVersion(JSON.stringify({ serial: 3, lineage: LINEAGE }))).toEqual({ lineage: LINEAGE, serial: 3 });
  });

  test("the digest a binding holds is the state records': sha256 of the Terraform JSON without cdktf's comments, keys sorted", () => {
    const dir = tempDir("digest");
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify({ resource: { b: 1, a: 2 }, "//": { metadata: "cdktf" } }));
    // sha256 of {"resource":{"a":2,"b":1}}
    expect(stackDigest(dir)).toBe(createHash("sha256").update('{"resource":{"a":2,"b":1}}').digest("hex"));
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify({ resource: { a: 3 } }));
    expect(stackDigest(dir)).not.toBe(createHash("sha256").update('{"resource":{"a":2,"b":1}}').digest("hex"));
  });

  test("a binding file that is not one is named with the field and the rule", () => {
    const ok = { stack: "prod-eu-west-1", commit: "a".repeat(40), digest: "b".repeat(64), lineage: null, serial: null };
    expect(bindingProblem(ok, "prod-eu-west-1")).toBeUndefined();
    expect(bindingProblem({ ...ok, commit: null, lineage: LINEAGE, serial: 4 }, "prod-eu-west-1")).toBeUndefined();
    expect(bindingProblem(ok, "prod-us-east-1")).toBe('"stack" is "prod-eu-west-1", not "prod-us-east-1"');
    expect(bindingProblem({ ...ok, commit: "main" }, "prod-eu-west-1")).toBe('"commit" "main" must be a commit SHA (hex) or null');
    expect(bindingProblem({ ...ok, digest: "x" }, "prod-eu-west-1")).toBe('"digest" "x" must be a sha256 in hex');
    expect(bindingProblem({ ...ok, serial: 3 }, "prod-eu-west-1")).toBe('"lineage" null and "serial" 3 must both be null (no state) or a lineage and a whole number');
    expect(bindingProblem([], "prod-eu-west-1")).toBe("must be a JSON object");
  });
});

describe("before any apply of saved plans", () => {
  const quiet = reviewPlan("prod-us-east-1", { resource_changes: [] }, {});
  const replaced = reviewPlan("prod-eu-west-1", { resource_changes: [{ address: "aws_ecr_repository.R", type: "aws_ecr_repository", mode: "managed", change: { actions: ["delete", "create"], before: {}, after: {} } }] }, {});
  const summary = (reviews = [quiet, replaced], allowDestroy: string[] = [], file: SavedSummary["allowances"]["file"] = null): SavedSummary => {
    const decision = guard(reviews, allowDestroy, [], file ?? undefined);
    return { ...(JSON.parse(JSON.stringify(summaryJson(reviews, decision, undefined, { flags: { allowDestroy, allowEmptyState: [] }, file }))) as SavedSummary), missing: [] };
  };

  test("a blocked review refuses every stack, whichever --stack asks for, saying what blocked", () => {
    expect(decisionRefusal(summary(), "plans")).toBe(
      "plans/summary.json: the reviewed decision was not ok (blocked: prod-eu-west-1:aws_ecr_repository.R): nothing applied; fix the change or allow it in deploy-allowances.json, then plan again",
    );
  });

  test("the allowances the review recorded are honoured, from flags or the file; a stale file entry does not block", () => {
    expect(decisionRefusal(summary([quiet, replaced], ["prod-eu-west-1:aws_ecr_repository.R"]), "plans")).toBeUndefined();
    const file = { file: "deploy-allowances.json", reason: "rename", allowDestroy: ["prod-eu-west-1:aws_ecr_repository.R", "prod-us-east-1:aws_iam_role.Gone"], allowEmptyState: [] };
    expect(decisionRefusal(summary([quiet, replaced], [], file), "plans")).toBeUndefined();
  });

  test("a summary that says ok while its reviews block is refused (the guard decides again), and so is a missing review", () => {
    const lying = { ...summary(), ok: true };
    expect(decisionRefusal(lying, "plans")).toMatch(/^plans\/summary\.json: the reviewed decision was not ok \(blocked: prod-eu-west-1:aws_ecr_repository\.R\)/);
    expect(decisionRefusal({ ...summary([quiet]), missing: ["prod-eu-west-1"] }, "plans")).toMatch(/\(no review: prod-eu-west-1\)/);
  });

  test("summary.json must be there and be a summary with its allowances, one line each", () => {
    const dir = tempDir("saved-summary");
    expect(messageOf(() => readSavedSummary(dir, "plans"))).toBe("plans/summary.json: no such file (--plans takes the folder npm run plan -- --out DIR or merge-reviews wrote)");
    fs.writeFileSync(path.join(dir, "summary.json"), "{");
    expect(messageOf(() => readSavedSummary(dir, "plans"))).toMatch(/^plans\/summary\.json is not valid JSON \(/);
    fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ ok: true, stacks: [] }));
    expect(messageOf(() => readSavedSummary(dir, "plans"))).toBe('plans/summary.json records no "allowances" (written by an older version): plan again');
    fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify(summary([quiet])));
    expect(readSavedSummary(dir, "plans")).toMatchObject({ ok: true, missing: [], allowances: { file: null } });
  });

  test("a plan of another commit or of other Terraform is refused, saying to plan again", () => {
    const b = { stack: "prod-eu-west-1", commit: "a".repeat(40), digest: "1".repeat(64), lineage: null, serial: null };
    expect(checkoutMismatch("prod-eu-west-1", b, { commit: "a".repeat(40), digest: "1".repeat(64) })).toBeUndefined();
    expect(checkoutMismatch("prod-eu-west-1", b, { commit: "c".repeat(40), digest: "1".repeat(64) })).toBe(
      `prod-eu-west-1: the reviewed plan was made at commit ${"a".repeat(40)}, this checkout is ${"c".repeat(40)}: plan again`,
    );
    expect(checkoutMismatch("prod-eu-west-1", b, { commit: "a".repeat(40), digest: "2".repeat(64) })).toBe(
      "prod-eu-west-1: the reviewed plan was made from other Terraform (synth digest 111111111111 when planned, 222222222222 now): plan again",
    );
  });

  test("a state that moved on since the plan is a mismatch: its serial, or another lineage", () => {
    expect(stateMismatch({ lineage: LINEAGE, serial: 5 }, { lineage: LINEAGE, serial: 5 })).toBeUndefined();
    expect(stateMismatch({ lineage: null, serial: null }, { lineage: null, serial: null })).toBeUndefined();
    expect(stateMismatch({ lineage: LINEAGE, serial: 5 }, { lineage: LINEAGE, serial: 6 })).toBe("the reviewed plan no longer matches its state (serial 5 when planned, 6 now): plan again");
    expect(stateMismatch({ lineage: null, serial: null }, { lineage: LINEAGE, serial: 1 })).toBe("the reviewed plan no longer matches its state (no state when planned, serial 1 now): plan again");
    expect(stateMismatch({ lineage: LINEAGE, serial: 5 }, { lineage: "other", serial: 5 })).toBe(`the reviewed plan no longer matches its state (lineage ${LINEAGE} when planned, other now: another state): plan again`);
  });
});

describe("npm run deploy -- --plans DIR flags", () => {
  const dir = tempDir("plans-flag");

  test("--plans goes with --apply; --check-only with --plans", () => {
    expect(parsePlanFlags(["--apply", "--plans", dir])).toMatchObject({ apply: true, plans: dir, checkOnly: false });
    expect(parsePlanFlags(["--apply", "--plans", dir, "--check-only", "--stack", "prod-eu-west-1"])).toMatchObject({ checkOnly: true, stacks: ["prod-eu-west-1"] });
    expect(messageOf(() => parsePlanFlags(["--plans", dir]))).toBe(`--plans ${JSON.stringify(dir)} goes with npm run deploy (it applies the saved plans of that folder)`);
    expect(messageOf(() => parsePlanFlags(["--apply", "--check-only"]))).toBe("--check-only goes with --plans DIR (it checks saved plans)");
  });

  test("a deploy of saved plans takes no allowance, baseline or output folder of its own: one line each", () => {
    expect(messageOf(() => parsePlanFlags(["--apply", "--plans", "/no/such", "--allow-destroy", "prod-eu-west-1:aws_iam_role.R", "--out", "x"], { ALLOW_EMPTY_STATE: "prod-eu-west-1" })).split("\n")).toEqual([
      '--plans "/no/such": no such folder (the plans folder of npm run plan -- --out DIR, or the downloaded plans artifact)',
      "--allow-destroy is not taken with --plans: the deploy of saved plans honours the allowances their review recorded in summary.json (allow in deploy-allowances.json, then plan again)",
      'ALLOW_EMPTY_STATE "prod-eu-west-1" is not taken with --plans: the deploy of saved plans honours the allowances their review recorded in summary.json (unset it)',
      "--out is not taken with --plans: nothing is planned",
    ]);
    // An empty variable (as a workflow passes an unset input) is no allowance.
    expect(parsePlanFlags(["--apply", "--plans", dir], { ALLOW_DESTROY: "" })).toMatchObject({ plans: dir });
  });
});
