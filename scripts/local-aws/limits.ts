/**
 * What the local AWS (moto) cannot do, said plainly where the tools meet it. (A call it does not
 * serve at all, HTTP 500, is explained by the apply itself: explainUnsupportedCall.)
 */

/**
 * Printed wherever the tools show `start-build` on the local AWS: what a build there does, and where
 * the sample projects' builds stop.
 */
export const START_BUILD_NOTE =
  "on the local AWS start-build runs the project's buildspec for real (batch-get-builds shows its real status and phases, " +
  "its output is in CloudWatch Logs under the project's log group, and docker is podman, logged in to the account's ECR " +
  "registry on the local AWS); the sample projects' builds stop in BUILD when the Dockerfile's base images are not on this " +
  "machine: the local AWS reaches no network, so Docker Hub's images cannot be pulled (npm start's first builds override " +
  "BUILDER_IMAGE=localhost/go-builder:bookworm and RUNTIME_IMAGE=scratch: --environment-variables-override does the same)";

/** The variable that makes a minute of a build's timeout shorter on the local AWS (tests set it). */
export const MINUTE_VARIABLE = "LOCAL_AWS_SECONDS_PER_MINUTE";

/** How many seconds a minute of a build's timeout lasts: `LOCAL_AWS_SECONDS_PER_MINUTE`, else 60; a bad value is one line. */
export function secondsPerMinute(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MINUTE_VARIABLE];
  if (raw === undefined) return 60;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new Error(`${MINUTE_VARIABLE}=${JSON.stringify(raw)} is not a number of seconds above 0 (how long a minute of a build's timeout lasts on the local AWS; unset, 60)`);
  }
  return n;
}
