import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { condition, evaluate, interpolate } from "../../support/workflow-expressions";

/**
 * The scenario tests' reading of GitHub expressions: what the workflow uses is evaluated as GitHub
 * does (operands returned by && and ||, case-insensitive string equality, index access, the
 * implicit success() of an `if:`), and anything else fails loudly.
 */

const scope = {
  contexts: {
    github: { event_name: "pull_request", event: { pull_request: { number: 7 } } },
    needs: { stacks: { result: "success", outputs: { plan0: '["a-eu-west-1"]', plan_roles: '{"a-eu-west-1":"arn:aws:iam::1:role/p"}' } } },
    matrix: { stack: "a-eu-west-1" },
    vars: {},
  },
};

describe("workflow expressions", () => {
  test("paths, index access into fromJSON, and missing values as empty", () => {
    expect(evaluate("fromJSON(needs.stacks.outputs.plan_roles)[matrix.stack]", scope)).toBe("arn:aws:iam::1:role/p");
    expect(interpolate("plan ${{ matrix.stack }}", scope)).toBe("plan a-eu-west-1");
    expect(interpolate("${{ vars.PLAN_MAX_PARALLEL || '8' }}", scope)).toBe("8");
    expect(interpolate("x${{ vars.NOPE }}y", scope)).toBe("xy");
  });

  test("&& and || return operands; == ignores case for strings; != on outputs", () => {
    expect(evaluate("github.event_name == 'pull_request' && format('pr-{0}', github.event.pull_request.number) || 'main'", scope)).toBe("pr-7");
    expect(evaluate("github.event_name == 'PULL_REQUEST'", scope)).toBe(true);
    expect(evaluate("needs.stacks.outputs.plan0 != '[]'", scope)).toBe(true);
    expect(evaluate("!(needs.stacks.result == 'success')", scope)).toBe(false);
  });

  test("terraform.yml's concurrency group: one per pull request, nightly apart, pushes and manual runs of main together, any other ref apart", () => {
    const workflow = parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", ".github", "workflows", "terraform.yml"), "utf8"));
    const group = (github: object) => interpolate(workflow.concurrency.group, { contexts: { github } });
    const cancels = (github: object) => interpolate(workflow.concurrency["cancel-in-progress"], { contexts: { github } });
    expect(group({ event_name: "pull_request", ref: "refs/pull/7/merge", event: { pull_request: { number: 7 } } })).toBe("terraform-pr-7");
    expect(group({ event_name: "schedule", ref: "refs/heads/main" })).toBe("terraform-nightly");
    expect(group({ event_name: "push", ref: "refs/heads/main" })).toBe("terraform-main");
    expect(group({ event_name: "workflow_dispatch", ref: "refs/heads/main" })).toBe("terraform-main");
    expect(group({ event_name: "workflow_dispatch", ref: "refs/heads/feature" })).toBe("terraform-refs/heads/feature");
    expect([cancels({ event_name: "pull_request" }), cancels({ event_name: "push" }), cancels({ event_name: "workflow_dispatch" })]).toEqual([true, false, false]);
  });

  test("an if: without a status function gets success() &&; always() ignores failures", () => {
    const failed = { ...scope, status: { success: false, failure: true, cancelled: false } };
    expect(condition("github.event_name == 'pull_request'", failed)).toBe(false);
    expect(condition("always() && github.event_name == 'pull_request'", failed)).toBe(true);
    expect(condition("failure()", failed)).toBe(true);
    expect(condition(undefined, failed)).toBe(false);
    expect(condition("${{ github.event_name == 'pull_request' }}", scope)).toBe(true);
  });

  test("an unknown function or a stray token fails loudly", () => {
    expect(() => evaluate("join(matrix.stack)", scope)).toThrow("function join() is not known to the workflow harness: add it");
    expect(() => evaluate("matrix.stack ==", scope)).toThrow("unexpected end of expression");
  });
});
