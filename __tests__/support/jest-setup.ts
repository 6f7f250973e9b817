/**
 * cdktf's jest matchers (`toHaveResourceWithProperties`, …) for every test file, registered the
 * way `Testing.setupJest()` does, but loaded on a matcher's first use: cdktf takes 0.3–0.5 s to load
 * in each test file, and a third of the unit files never synthesize anything.
 */
type Matcher = (this: jest.MatcherContext, ...args: unknown[]) => jest.CustomMatcherResult;

/** The matchers cdktf's Testing.setupJest() registers (a unit test keeps this list equal to cdktf's). */
export const CDKTF_MATCHERS = [
  "toHaveResource",
  "toHaveResourceWithProperties",
  "toHaveDataSource",
  "toHaveDataSourceWithProperties",
  "toHaveProvider",
  "toHaveProviderWithProperties",
  "toBeValidTerraform",
  "toPlanSuccessfully",
] as const;

let loaded: Record<string, Matcher> | undefined;

/** cdktf's own matchers, captured from its jest adapter (which registers them with expect.extend). */
function cdktfMatchers(): Record<string, Matcher> {
  if (!loaded) {
    const captured: Record<string, Matcher> = {};
    const extend = expect.extend;
    expect.extend = (matchers) => void Object.assign(captured, matchers);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("cdktf/lib/testing/adapters/jest").setupJest();
    } finally {
      expect.extend = extend;
    }
    loaded = captured;
  }
  return loaded;
}

expect.extend(
  Object.fromEntries(
    CDKTF_MATCHERS.map((name) => [
      name,
      function (this: jest.MatcherContext, ...args: unknown[]) {
        return cdktfMatchers()[name].apply(this, args);
      },
    ]),
  ),
);
