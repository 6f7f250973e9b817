/**
 * `npm run plan`, `npm run deploy` (`--apply`) and `npm run destroy` (`--destroy` first): the
 * command line of the pipeline (pipeline.ts), whose stages are select.ts, synth.ts,
 * plan-stacks.ts, review.ts (review and guard) and apply.ts.
 */
import { runCli } from "../shared/cli";
import { parseDestroyFlags, parsePlanFlags, type DestroyFlags, type PlanFlags } from "./flags";
import { runPlan } from "./pipeline";
import { usageFor } from "./usage";

export { DEPLOY_USAGE, DESTROY_USAGE, USAGE, usageFor } from "./usage";
export { parseDestroyFlags, parsePlanFlags, type DestroyFlags, type PlanFlags } from "./flags";
export { confirmProblem, destroySummaryMarkdown, unconfirmed } from "./destroy";
export { stackSelectionProblem } from "./select";
export { parallelismLine } from "./plan-stacks";
export { alreadyExistsHint, applyInWaves } from "./apply";
export { runPlan } from "./pipeline";

if (require.main === module) {
  const argv = process.argv.slice(2);
  runCli<PlanFlags | DestroyFlags>({
    parse: () => (argv[0] === "--destroy" ? parseDestroyFlags(argv.slice(1), process.env) : parsePlanFlags(argv, process.env)),
    usage: usageFor(argv),
    run: (flags) => runPlan(flags),
  });
}
