import { gateComment, gateVerdict, type NeededJob, parseNeeds } from "../../../scripts/ci/gate";

/**
 * The gate's verdict: every needed job succeeded, or was skipped for a reason the event makes
 * normal; anything else fails it with one line per job, and a failed stacks job says why.
 */

const EMPTY = { plan0: "[]", plan1: "[]", plan2: "[]", plan3: "[]", wave0: "[]", wave1: "[]", wave2: "[]" };
const stacks = (outputs: Record<string, string> = {}, result = "success"): NeededJob => ({ result, outputs: { ...EMPTY, ...outputs } });
const skipped: NeededJob = { result: "skipped" };
const ok: NeededJob = { result: "success" };

/** The needs of a run: the stacks job, four plan chunks, the review, three waves. */
function needs(over: Record<string, NeededJob>): Record<string, NeededJob> {
  return { stacks: stacks(), "plan-0": skipped, "plan-1": skipped, "plan-2": skipped, "plan-3": skipped, review: ok, "deploy-wave-0": skipped, "deploy-wave-1": skipped, "deploy-wave-2": skipped, ...over };
}

describe("the gate", () => {
  test("passes a pull request whose one plan chunk and review succeeded, the other chunks empty and the deploys skipped", () => {
    expect(gateVerdict("pull_request", needs({ stacks: stacks({ plan0: '["a-eu-west-1"]' }), "plan-0": ok }))).toEqual({ ok: true, problems: [] });
  });

  test("passes a push that deployed its two waves, the third empty", () => {
    const run = needs({ stacks: stacks({ plan0: '["a"]', wave0: '[{"environment":"a"}]', wave1: '[{"environment":"b"}]' }), "plan-0": ok, "deploy-wave-0": ok, "deploy-wave-1": ok });
    expect(gateVerdict("push", run).ok).toBe(true);
  });

  test("fails a failed stacks job, saying why, and every job it skipped", () => {
    const run = needs({ stacks: { result: "failure", outputs: { reason: 'error: ENVIRONMENTS names "nope", which is not an environment' } }, review: skipped });
    const verdict = gateVerdict("pull_request", run);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([
      'stacks failed: error: ENVIRONMENTS names "nope", which is not an environment',
      "plan-0 was skipped",
      "plan-1 was skipped",
      "plan-2 was skipped",
      "plan-3 was skipped",
      "review was skipped",
      "deploy-wave-0 was skipped",
      "deploy-wave-1 was skipped",
      "deploy-wave-2 was skipped",
    ]);
  });

  test("fails a skipped plan chunk that had stacks, a skipped review, a cancelled job", () => {
    const run = needs({ stacks: stacks({ plan1: '["a"]' }), "plan-0": { result: "cancelled" }, review: skipped });
    expect(gateVerdict("pull_request", run).problems).toEqual(["plan-0 was cancelled", "plan-1 was skipped", "review was skipped"]);
  });

  test("fails a push whose wave with stacks was skipped (its review failed), and a failed deploy", () => {
    const run = needs({ stacks: stacks({ wave0: '[{"environment":"a"}]', wave1: '[{"environment":"b"}]' }), review: { result: "failure" }, "deploy-wave-0": skipped, "deploy-wave-1": skipped });
    expect(gateVerdict("push", run).problems).toEqual(["review failed", "deploy-wave-0 was skipped", "deploy-wave-1 was skipped"]);
    expect(gateVerdict("workflow_dispatch", needs({ stacks: stacks({ wave0: "[{}]" }), "deploy-wave-0": { result: "failure" } })).problems).toEqual(["deploy-wave-0 failed"]);
  });

  test("a gate that does not need the stacks job fails, saying to add it", () => {
    expect(gateVerdict("push", { review: ok }).problems).toEqual(["the gate does not need the stacks job: add it to the gate's needs"]);
  });

  test("the comment lists every problem and links the run", () => {
    const text = gateComment({ ok: false, problems: ["stacks failed: error: x", "review was skipped"] }, "https://github.com/o/r/actions/runs/7");
    expect(text).toContain("## Terraform plan: not reviewed");
    expect(text).toContain("- stacks failed: error: x\n- review was skipped");
    expect(text).toContain("[the run](https://github.com/o/r/actions/runs/7)");
  });

  test.each<[string, string | undefined, string]>([
    ["unset", undefined, "NEEDS is not set: pass the gate's ${{ toJSON(needs) }}"],
    ["not JSON", "{", "NEEDS is not JSON"],
    ["without results", '{"stacks":{}}', "NEEDS must be an object of job -> { result, outputs } (the gate's ${{ toJSON(needs) }})"],
  ])("refuses a NEEDS that is %s in one line", (_what, text, message) => {
    expect(() => parseNeeds(text)).toThrow(message);
  });
});
