// Orders the test files for jest's workers by tier, the slowest tier first (e2e, then integration,
// then unit), so that no long end-to-end file starts last and keeps one worker busy alone at the
// end while the other has nothing left. Within a tier jest's own order stands: files that failed
// last time first, then the longest by the timings jest cached on earlier runs, then the largest
// files when it has no timings yet. No file names here: a new file finds its place by its folder.
const Sequencer = require("@jest/test-sequencer").default;

/** The tier folders under __tests__/, in the order they start. */
const TIERS = ["e2e", "integration", "unit"];

/** The tier of a test file: the index of its folder in TIERS (after them: anything else). */
function tierOf(testPath) {
  const match = /[\\/]__tests__[\\/]([^\\/]+)[\\/]/.exec(testPath);
  const i = match ? TIERS.indexOf(match[1]) : -1;
  return i === -1 ? TIERS.length : i;
}

class TierOrder extends Sequencer {
  sort(tests) {
    // Array.prototype.sort is stable: jest's order is kept within a tier.
    return [...super.sort(tests)].sort((a, b) => tierOf(a.path) - tierOf(b.path));
  }
}

module.exports = TierOrder;
module.exports.tierOf = tierOf;
module.exports.TIERS = TIERS;
