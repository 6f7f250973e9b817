/**
 * What the local AWS (moto) cannot do, said plainly where the tools meet it. (A call it does not
 * serve at all, HTTP 500, is explained by the apply itself: explainUnsupportedCall.)
 */

/**
 * Printed wherever the tools show `start-build` on the local AWS: moto accepts the call and
 * reports the build SUCCEEDED with every phase, but runs nothing.
 */
export const START_BUILD_RUNS_NOTHING =
  "the local AWS (moto) runs no build: start-build returns a build ID and batch-get-builds then reports it SUCCEEDED " +
  "with every phase, although no container ran, no image was built and nothing was pushed";
