import * as fs from "fs";
import * as path from "path";
import { parseAllowances, readAllowances } from "../../../scripts/plan-review/allowances";
import { guard, reviewPlan } from "../../../scripts/plan-review/review";
import { tempDir } from "../../support/app";
import { messageOf } from "../../support/synth";

/**
 * The reviewed allowances file (deploy-allowances.json): each bad field one line with file, line,
 * column, value and rule; the guard takes its entries, and one that matches nothing is stale, not
 * blocking.
 */

const REPO = "prod-eu-west-1:aws_ecr_repository.Repository_22E53BBD";

describe("the allowances file", () => {
  test("a valid file gives its entries and reason", () => {
    const { allowances, problems } = parseAllowances("deploy-allowances.json", JSON.stringify({ allowDestroy: [REPO], allowEmptyState: ["prod-us-east-1"], reason: "the repository is renamed" }));
    expect(problems).toEqual([]);
    expect(allowances).toEqual({ file: "deploy-allowances.json", allowDestroy: [REPO], allowEmptyState: ["prod-us-east-1"], reason: "the repository is renamed" });
  });

  test("an empty object allows nothing and needs no reason", () => {
    expect(parseAllowances("f.json", "{}")).toEqual({ allowances: { file: "f.json", allowDestroy: [], allowEmptyState: [], reason: "" }, problems: [] });
  });

  test("every bad field is one line: file:line:column, the field, its value and the rule", () => {
    const text = ['{', '  "allowDestroy": ["prod", "' + REPO + '", "' + REPO + '"],', '  "allowEmptyState": "prod-eu-west-1",', '  "extra": 1', '}'].join("\n");
    expect(parseAllowances("deploy-allowances.json", text).problems).toEqual([
      'deploy-allowances.json:4:3: extra is not a field of the allowances file (fields: allowDestroy, allowEmptyState, reason)',
      'deploy-allowances.json:2:20: allowDestroy[0] "prod" must be <stack>:<resource address>, e.g. prod-eu-west-1:aws_ecr_repository.Repository_22E53BBD',
      `deploy-allowances.json:2:${20 + 8 + REPO.length + 4}: allowDestroy[2] "${REPO}" is listed twice`,
      'deploy-allowances.json:3:3: allowEmptyState "prod-eu-west-1" must be an array of "<stack>"',
      'deploy-allowances.json:1:1: reason must say why (a non-empty string) when anything is allowed',
    ]);
  });

  test("a syntax error is one line with its position; a top-level array is refused", () => {
    expect(parseAllowances("a.json", '{ "allowDestroy": [1,] }').problems[0]).toMatch(/^a\.json:1:\d+: a trailing comma is not allowed before \]/);
    expect(parseAllowances("a.json", "[]").problems).toEqual(['a.json:1:1: the top-level value must be an object: { "allowDestroy": ["<stack>:<address>"], "allowEmptyState": ["<stack>"], "reason": "why" }']);
    expect(parseAllowances("a.json", '{"reason": 3}').problems).toEqual(["a.json:1:2: reason 3 must be a string (why these are allowed)"]);
  });

  test("is read from the project root when present, ALLOWANCES_FILE or a flag elsewhere; a named file that does not exist is an error", () => {
    const root = tempDir("allowances");
    expect(readAllowances(root, {})).toBeUndefined();
    fs.writeFileSync(path.join(root, "deploy-allowances.json"), JSON.stringify({ allowDestroy: [REPO], reason: "rename" }));
    expect(readAllowances(root, {})?.allowDestroy).toEqual([REPO]);
    const other = path.join(root, "other.json");
    fs.writeFileSync(other, JSON.stringify({ allowEmptyState: ["prod-eu-west-1"], reason: "moved" }));
    expect(readAllowances(root, { ALLOWANCES_FILE: other })?.allowEmptyState).toEqual(["prod-eu-west-1"]);
    expect(readAllowances(root, { ALLOWANCES_FILE: "/nope.json" }, other)?.file).toBe(other);
    expect(messageOf(() => readAllowances(root, { ALLOWANCES_FILE: "/nope.json" }))).toBe('ALLOWANCES_FILE "/nope.json": no such file (the reviewed allowances, e.g. deploy-allowances.json)');
    expect(messageOf(() => readAllowances(root, {}, "/nope.json"))).toBe('--allowances "/nope.json": no such file (the reviewed allowances, e.g. deploy-allowances.json)');
  });
});

describe("the guard with the allowances file", () => {
  const replaced = reviewPlan("prod-eu-west-1", { resource_changes: [{ address: "aws_ecr_repository.Repository_22E53BBD", type: "aws_ecr_repository", mode: "managed", change: { actions: ["delete", "create"], before: { name: "a" }, after: {} } }] }, {});
  const quiet = reviewPlan("prod-us-east-1", { resource_changes: [] }, {});

  test("an entry of the file allows exactly that destruction", () => {
    expect(guard([replaced], []).ok).toBe(false);
    const d = guard([replaced, quiet], [], [], { allowDestroy: [REPO], allowEmptyState: [] });
    expect(d).toMatchObject({ ok: true, blocked: [], stale: { allowDestroy: [], allowEmptyState: [] } });
  });

  test("an entry that matches nothing is stale: shown, but it does not block", () => {
    const d = guard([quiet], [], [], { allowDestroy: [REPO], allowEmptyState: ["prod-us-east-1"] });
    expect(d.ok).toBe(true);
    expect(d.stale).toEqual({ allowDestroy: [REPO], allowEmptyState: ["prod-us-east-1"] });
    // A flag that matches nothing still fails the run that gave it.
    expect(guard([quiet], [REPO]).ok).toBe(false);
  });
});
