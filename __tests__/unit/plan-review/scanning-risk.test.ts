import { guard, reviewPlan, scanningDowngrades, stackMarkdown, summaryMarkdown } from "../../../scripts/plan-review/review";

const TYPE = "aws_ecr_registry_scanning_configuration";
const ADDRESS = `${TYPE}.RegistryScanning_Resource_1234`;

/** The plan JSON of the resource: scan type and rules as `[frequency, filters]`. */
function config(scanType: string, rules: [string, string[]][] = []): any {
  return {
    registry_id: "123456789012",
    scan_type: scanType,
    rule: rules.map(([frequency, filters]) => ({ scan_frequency: frequency, repository_filter: filters.map((filter) => ({ filter, filter_type: "WILDCARD" })) })),
  };
}

function plan(actions: string[], before: any, after: any): any {
  return { resource_changes: [{ address: ADDRESS, type: TYPE, mode: "managed", change: { actions, before, after } }] };
}

/** The scanning-downgrade messages of a plan that changes `before` into `after` (update unless given). */
function downgrades(before: any, after: any, actions = ["update"]): string[] {
  return reviewPlan("local-eu-central-1", plan(actions, before, after), {})
    .risks.filter((r) => r.kind === "scanning-downgrade")
    .map((r) => r.message);
}

const ENHANCED = config("ENHANCED", [
  ["CONTINUOUS_SCAN", ["codebuild-sample/*"]],
  ["SCAN_ON_PUSH", ["*"]],
]);

describe("scanning-downgrade", () => {
  test("ENHANCED -> BASIC", () => {
    expect(downgrades(config("ENHANCED"), config("BASIC"))).toEqual([`registry scanning goes from ENHANCED (Amazon Inspector) to BASIC in ${ADDRESS}`]);
  });

  test("ENHANCED -> BASIC with its rules: the scan type and the continuous rule lowered, each one message", () => {
    const after = config("BASIC", [
      ["MANUAL", ["codebuild-sample/*"]],
      ["SCAN_ON_PUSH", ["*"]],
    ]);
    expect(downgrades(ENHANCED, after)).toEqual([
      `registry scanning goes from ENHANCED (Amazon Inspector) to BASIC in ${ADDRESS}`,
      `registry scanning of [codebuild-sample/*] goes from CONTINUOUS_SCAN to MANUAL in ${ADDRESS}`,
    ]);
  });

  test("a rule removed", () => {
    expect(downgrades(ENHANCED, config("ENHANCED", [["SCAN_ON_PUSH", ["*"]]]))).toEqual([
      `registry scanning rule CONTINUOUS_SCAN [codebuild-sample/*] is removed in ${ADDRESS}`,
    ]);
    expect(downgrades(config("BASIC", [["SCAN_ON_PUSH", ["*"]]]), config("BASIC"))).toEqual([`registry scanning rule SCAN_ON_PUSH [*] is removed in ${ADDRESS}`]);
  });

  test("CONTINUOUS_SCAN -> SCAN_ON_PUSH", () => {
    expect(downgrades(config("ENHANCED", [["CONTINUOUS_SCAN", ["a/*", "b/*"]]]), config("ENHANCED", [["SCAN_ON_PUSH", ["b/*", "a/*"]]]))).toEqual([
      `registry scanning of [a/*, b/*] goes from CONTINUOUS_SCAN to SCAN_ON_PUSH in ${ADDRESS}`,
    ]);
  });

  test("SCAN_ON_PUSH -> MANUAL", () => {
    expect(downgrades(config("BASIC", [["SCAN_ON_PUSH", ["*"]]]), config("BASIC", [["MANUAL", ["*"]]]))).toEqual([
      `registry scanning of [*] goes from SCAN_ON_PUSH to MANUAL in ${ADDRESS}`,
    ]);
  });

  test("the configuration deleted: the registry goes back to BASIC without rules", () => {
    expect(downgrades(ENHANCED, null, ["delete"])).toEqual([
      `registry scanning configuration ${ADDRESS} is deleted: the registry goes back to BASIC scanning without rules (was ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*])`,
    ]);
  });

  test("a replacement is judged by what it was and what it becomes", () => {
    expect(downgrades(ENHANCED, config("BASIC"), ["delete", "create"])).toEqual([
      `registry scanning goes from ENHANCED (Amazon Inspector) to BASIC in ${ADDRESS}`,
      `registry scanning rule CONTINUOUS_SCAN [codebuild-sample/*] is removed in ${ADDRESS}`,
      `registry scanning rule SCAN_ON_PUSH [*] is removed in ${ADDRESS}`,
    ]);
  });

  describe("no risk", () => {
    test.each<[string, any, any, string[]]>([
      ["a new configuration", null, ENHANCED, ["create"]],
      ["BASIC -> ENHANCED", config("BASIC", [["SCAN_ON_PUSH", ["*"]]]), config("ENHANCED", [["SCAN_ON_PUSH", ["*"]]]), ["update"]],
      ["SCAN_ON_PUSH -> CONTINUOUS_SCAN", config("ENHANCED", [["SCAN_ON_PUSH", ["*"]]]), config("ENHANCED", [["CONTINUOUS_SCAN", ["*"]]]), ["update"]],
      ["a rule added", config("ENHANCED", [["SCAN_ON_PUSH", ["*"]]]), ENHANCED, ["update"]],
      ["the rules reordered", ENHANCED, config("ENHANCED", [["SCAN_ON_PUSH", ["*"]], ["CONTINUOUS_SCAN", ["codebuild-sample/*"]]]), ["update"]],
      ["a kept rule's filters changed", ENHANCED, config("ENHANCED", [["CONTINUOUS_SCAN", ["*"]], ["SCAN_ON_PUSH", ["*"]]]), ["update"]],
      ["a MANUAL rule removed (it scans nothing by itself)", config("BASIC", [["MANUAL", ["*"]]]), config("BASIC"), ["update"]],
      ["no change", ENHANCED, ENHANCED, ["no-op"]],
    ])("%s", (_, before, after, actions) => {
      expect(downgrades(before, after, actions)).toEqual([]);
    });
  });

  test("does not block: the guard passes, and the review lists it like the other risks", () => {
    const review = reviewPlan("local-eu-central-1", plan(["delete"], ENHANCED, null), {});
    expect(review.destructive).toEqual([]);
    const decision = guard([review], []);
    expect(decision.ok).toBe(true);
    expect(stackMarkdown(review)).toContain(`- :warning: **scanning-downgrade**: registry scanning configuration ${ADDRESS} is deleted`);
    expect(summaryMarkdown([review], decision)).toContain("| local-eu-central-1 | 0 | 0 | 1 | 0 | scanning-downgrade |");
  });

  test("scanningDowngrades reads the rules of plan JSON whatever their order", () => {
    const before = config("ENHANCED", [["SCAN_ON_PUSH", ["*"]], ["CONTINUOUS_SCAN", ["x/*"]]]);
    expect(scanningDowngrades(ADDRESS, "update", before, config("ENHANCED", [["CONTINUOUS_SCAN", ["x/*"]]]))).toEqual([`registry scanning rule SCAN_ON_PUSH [*] is removed in ${ADDRESS}`]);
  });
});
