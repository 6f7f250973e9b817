// What a unit test gets when it loads compiled code from dist/ (the unit project's
// moduleNameMapper sends it here): unit tests test the TypeScript sources, which `npm run
// test:unit` does not build into dist/ first, so dist/ may hold stale code.
throw new Error(
  "unit tests test the TypeScript sources: import the source (scripts/, config/, stacks/, modules/, main.ts) instead of dist/, or move a test of the compiled command to __tests__/integration",
);
