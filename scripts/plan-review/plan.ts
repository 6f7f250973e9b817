/**
 * `npm run plan`, `npm run deploy` (`--apply`) and `npm run destroy` (`--destroy` first): the
 * command line of the pipeline (pipeline.ts), whose stages are select.ts, synth.ts,
 * plan-stacks.ts, review.ts (review and guard) and apply.ts.
 */
import { runCli } from "../shared/cli";
import { destroyOrphan, ORPHAN_USAGE, parseOrphanFlags, type OrphanFlags } from "./destroy-orphan";
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
  // The destruction of an orphaned state: a stack the config no longer has (destroy-orphan.ts).
  if (argv[0] === "--destroy" && argv.slice(1).some((a) => a === "--orphan")) {
    runCli<OrphanFlags>({ parse: () => parseOrphanFlags(argv.slice(1)), usage: ORPHAN_USAGE, run: (flags) => destroyOrphan(flags) });
  } else runCli<PlanFlags | DestroyFlags>({
    parse: () => (argv[0] === "--destroy" ? parseDestroyFlags(argv.slice(1), process.env) : parsePlanFlags(argv, process.env)),
    usage: usageFor(argv),
    run: (flags) => runPlan(flags),
  });
}
