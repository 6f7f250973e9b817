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
  "machine: the local AWS reaches no network, so Docker Hub's images cannot be pulled";
