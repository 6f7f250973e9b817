import { matrixFor, MATRIX_LIMIT, type ListedStack } from "../../../scripts/plan-review/ci-matrix";

/**
 * GitHub starts at most 256 jobs from one matrix: the plan jobs come in four matrices of at most
 * 256 stacks (plan0 … plan3), and each deploy wave has at most 256 rows.
 */

const stacks = (n: number, wave = 0, perEnvironment = 1): ListedStack[] =>
  Array.from({ length: n }, (_, i) => ({ name: `e${String(Math.floor(i / perEnvironment)).padStart(4, "0")}-eu-west-${(i % perEnvironment) + 1}`, environment: `e${String(Math.floor(i / perEnvironment)).padStart(4, "0")}`, wave }));

describe("the plan matrices", () => {
  test("a short list is plan0 alone; the others are empty", () => {
    const out = matrixFor(stacks(3), 3, {}, [], []);
    expect(JSON.parse(out.plan0)).toEqual(JSON.parse(out.stacks));
    expect([out.plan1, out.plan2, out.plan3]).toEqual(["[]", "[]", "[]"]);
  });

  test("600 stacks: 256, 256 and 88, in the list's order; the existing outputs stay", () => {
    const list = stacks(600, 0, 3);
    const out = matrixFor(list, 3, {}, [], []);
    const chunks = [0, 1, 2, 3].map((i) => JSON.parse(out[`plan${i}`]) as string[]);
    expect(chunks.map((c) => c.length)).toEqual([256, 256, 88, 0]);
    expect(chunks.flat()).toEqual(list.map((s) => s.name));
    expect(out.count).toBe("600");
    expect(JSON.parse(out.stacks)).toHaveLength(600);
  });

  test("1,024 stacks fit; 1,025 are one clear error", () => {
    expect(JSON.parse(matrixFor(stacks(1024, 0, 4), 3, {}, [], []).plan3)).toHaveLength(256);
    expect(() => matrixFor(stacks(1025, 0, 5), 3, {}, [], [])).toThrow(
      new Error("the stack list has 1025 stacks, but the plan jobs take at most 1,024 (4 matrices plan0 … plan3 of 256, GitHub's limit per matrix): select fewer environments per run (ENVIRONMENTS)"),
    );
  });
});

describe("the deploy wave rows", () => {
  test("one row per environment while they fit", () => {
    const rows = JSON.parse(matrixFor(stacks(256), 3, {}, [], []).wave0);
    expect(rows).toHaveLength(256);
    expect(rows[0]).toEqual({ environment: "e0000", github_environment: "e0000", stacks: "e0000-eu-west-1", allow_destroy: "", allow_empty_state: "", deploy_role: "" });
  });

  test("more environments than a matrix takes: one row per GitHub environment (one approval each)", () => {
    const list = stacks(300);
    const classes = Object.fromEntries(list.map((s, i) => [s.environment, i < 150 ? "production" : "staging"]));
    const rows = JSON.parse(matrixFor(list, 3, classes, [], []).wave0);
    expect(rows.map((r: { github_environment: string }) => r.github_environment)).toEqual(["production", "staging"]);
    expect(rows[0].stacks.split(",")).toHaveLength(150);
    expect(rows[0].environment.split(",")).toHaveLength(150);
  });

  test("more GitHub environments than a matrix takes: one line saying to group them", () => {
    expect(() => matrixFor(stacks(MATRIX_LIMIT + 1), 3, {}, [], [])).toThrow(
      /^wave 0 deploys 257 environments behind 257 GitHub environments, more than the 256 jobs a matrix may have: group them into fewer GitHub environments with --classes/,
    );
  });

  test("a grouped row whose environments have different deploy roles: one line, since one job assumes one role", () => {
    const list = stacks(300).map((s, i) => ({ ...s, deployRoleArn: `arn:aws:iam::${String(100000000000 + (i % 2)).padStart(12, "0")}:role/deploy` }));
    const classes = Object.fromEntries(list.map((s) => [s.environment, "production"]));
    expect(() => matrixFor(list, 3, classes, [], [])).toThrow(
      /^wave 0: the job of GitHub environment production deploys e0000, e0001, .*, whose ci\.deployRoleArn differ \(arn:aws:iam::100000000000:role\/deploy, arn:aws:iam::100000000001:role\/deploy\): one job assumes one role; give them one GitHub environment each/,
    );
  });

  test("a grouped row whose environments share one deploy role carries it", () => {
    const list = stacks(300).map((s) => ({ ...s, deployRoleArn: "arn:aws:iam::100000000000:role/deploy" }));
    const classes = Object.fromEntries(list.map((s) => [s.environment, "production"]));
    expect(JSON.parse(matrixFor(list, 3, classes, [], []).wave0)).toEqual([expect.objectContaining({ github_environment: "production", deploy_role: "arn:aws:iam::100000000000:role/deploy" })]);
  });
});
