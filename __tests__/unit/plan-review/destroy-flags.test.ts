import * as path from "path";
import {
  confirmProblem,
  DEPLOY_USAGE,
  DESTROY_USAGE,
  destroySummaryMarkdown,
  parseDestroyFlags,
  unconfirmed,
  usageFor,
  USAGE,
} from "../../../scripts/plan-review/plan";
import type { StackReview } from "../../../scripts/plan-review/review";
import { localEnvironment, prodEnvironment } from "../../support/environments";
import { messageOf } from "../../support/synth";

const local = localEnvironment();
const prod = prodEnvironment();
const review = (stack: string, destroy: number): StackReview => ({
  stack,
  counts: { add: 0, change: 0, destroy, replace: 0 },
  changes: Array.from({ length: destroy }, (_, i) => ({ address: `aws_iam_role.R${i}`, type: "aws_iam_role", action: "delete" as const })),
  risks: [],
  drift: [],
  suppressions: [],
  destructive: [],
});
const envOf = (stack: string) => stack.replace(/-[a-z]{2}-[a-z]+-\d$/, "");

describe("npm run destroy flags", () => {
  test("by default: nothing confirmed, destroy after the review, plans in plans/destroy", () => {
    expect(parseDestroyFlags([])).toEqual({ destroy: true, confirm: [], planOnly: false, out: path.join("plans", "destroy"), allowLocalEndpoint: false, stacks: [] });
  });

  test("--confirm (repeatable, comma separated) and CONFIRM_DESTROY name the real environments; --plan-only, --out, --allow-local-endpoint", () => {
    expect(parseDestroyFlags(["--confirm", "prod,staging", "--confirm", "qa", "--plan-only", "--out", "p", "--allow-local-endpoint"], { CONFIRM_DESTROY: "dev" })).toEqual({
      destroy: true,
      confirm: ["dev", "prod", "staging", "qa"],
      planOnly: true,
      out: "p",
      allowLocalEndpoint: true,
      stacks: [],
    });
  });

  test.each([
    [["--confirm"], {}, "option --confirm needs a value"],
    [["--confirm", "Prod"], {}, '--confirm "Prod" must be an environment name (lowercase letters, digits and -, as in the config)'],
    [["--apply"], {}, 'unknown flag "--apply" (known: --confirm, --plan-only, --out, --parallelism, --stack, --allow-local-endpoint, --help)'],
    [[], { ALLOW_LOCAL_ENDPOINT: "yes" }, 'ALLOW_LOCAL_ENDPOINT "yes" must be 1 or unset'],
    [[], { CONFIRM_DESTROY: "prod!" }, 'CONFIRM_DESTROY "prod!" must be an environment name (lowercase letters, digits and -, as in the config)'],
  ])("%j with %j is refused: %s", (argv, env, message) => {
    expect(messageOf(() => parseDestroyFlags(argv, env))).toBe(message);
  });

  test("--confirm may only name real environments of the run", () => {
    expect(confirmProblem(["prod"], [local, prod])).toBeUndefined();
    expect(confirmProblem(["local", "qa"], [local, prod])).toBe(
      '--confirm names "local", "qa", which are not a real environment of this run (real environments selected: prod; local ones need no confirmation)',
    );
  });

  test("a real environment the plan changes must be confirmed; a local one, or one with nothing to destroy, need not be", () => {
    const reviews = [review("local-eu-central-1", 5), review("prod-eu-west-1", 3), review("prod-us-west-2", 0)];
    expect(unconfirmed([local, prod], [], reviews, envOf)).toEqual(["prod"]);
    expect(unconfirmed([local, prod], ["prod"], reviews, envOf)).toEqual([]);
    expect(unconfirmed([local, prod], [], [review("prod-eu-west-1", 0)], envOf)).toEqual([]);
  });

  test("the destroy review lists what goes per stack and says what is missing", () => {
    const md = destroySummaryMarkdown([review("prod-eu-west-1", 3)], ["prod"]);
    expect(md.split("\n").slice(0, 6)).toEqual([
      "# Terraform destroy review",
      "",
      "| stack | destroy | risks |",
      "|---|---:|---|",
      "| prod-eu-west-1 | 3 | none |",
      "",
    ]);
    expect(md).toContain(":no_entry: **Not confirmed**: destroying the real environment `prod` needs `--confirm prod`");
    expect(md).toContain("| `-` delete | `aws_iam_role.R0` |");
  });
});

describe("--help of plan, deploy and destroy", () => {
  test("each command names itself", () => {
    expect(usageFor([])).toBe(USAGE);
    expect(usageFor(["--apply", "--help"])).toBe(DEPLOY_USAGE);
    expect(usageFor(["--destroy", "--help"])).toBe(DESTROY_USAGE);
    expect(USAGE).toMatch(/^Usage: npm run plan /);
    expect(DEPLOY_USAGE).toMatch(/^Usage: npm run deploy /);
    expect(DESTROY_USAGE).toMatch(/^Usage: npm run destroy /);
    expect(DESTROY_USAGE).toContain("--confirm ENV[,ENV…]     required to destroy a real environment");
  });
});
