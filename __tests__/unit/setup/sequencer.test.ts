import * as path from "path";
import { tempDir } from "../../support/app";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const TierOrder = require("../../support/sequencer.js");

/** A test file as jest hands it to the sequencer, of `size` bytes and no cached timing. */
function testFile(relative: string, size: number) {
  const file = path.join("/repo/__tests__", relative);
  return { path: file, context: { config: { cacheDirectory: tempDir("sequencer-cache"), id: "test" }, hasteFS: { getSize: () => size } } };
}

describe("the test sequencer", () => {
  test("starts the tiers slowest first: e2e, then integration, then unit", () => {
    // GIVEN files of every tier, the unit ones largest
    const files = [testFile("unit/a.test.ts", 900), testFile("integration/b.test.ts", 10), testFile("e2e/c.test.ts", 5), testFile("unit/d.test.ts", 800)];
    // WHEN jest asks for the order
    const order = new TierOrder().sort(files).map((t: { path: string }) => path.relative("/repo/__tests__", t.path));
    // THEN the tiers come in order, and within a tier jest's own order (largest first, without timings)
    expect(order).toEqual(["e2e/c.test.ts", "integration/b.test.ts", "unit/a.test.ts", "unit/d.test.ts"]);
  });

  test("a file outside the tier folders goes last", () => {
    expect(TierOrder.tierOf("/repo/__tests__/e2e/x.test.ts")).toBe(0);
    expect(TierOrder.tierOf("/repo/__tests__/other/x.test.ts")).toBe(TierOrder.TIERS.length);
  });
});
