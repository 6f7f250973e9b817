// Orders the test files for jest's two workers: the longest first (measured on the reference
// machine, see BENCHMARKS.md "Test suite"), so that no long file starts last and keeps one worker
// busy alone at the end; the rest by jest's own order (its timings of earlier runs, when it has them).
const Sequencer = require("@jest/test-sequencer").default;

const LONGEST_FIRST = [
  "library/install.test.ts",
  "e2e/local-deploy.test.ts",
  "e2e/organization.test.ts",
  "e2e/example-two-accounts.test.ts",
  "docs/recovery-runbook.test.ts",
  "local-aws/recover.test.ts",
  "docs/commands.test.ts",
  "local-aws/destroy.test.ts",
  "plan-review/recorded-backend.test.ts",
  "plan-review/parallelism-bound.test.ts",
  "build-runner/buildspecs-run.test.ts",
  "build-runner/buildspecs-multiarch-run.test.ts",
  "e2e/start.test.ts",
  "examples/platform-app.test.ts",
  "terraform/validate.test.ts",
  "library/two-copies.test.ts",
  "image/image.test.ts",
];

class LongestFirst extends Sequencer {
  sort(tests) {
    const rank = (t) => {
      const i = LONGEST_FIRST.findIndex((suffix) => t.path.endsWith(suffix));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    const byJest = super.sort(tests);
    return [...byJest].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongestFirst;
