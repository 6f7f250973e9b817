/**
 * What the local AWS (moto) cannot do, said plainly where the tools meet it.
 */
import { TerraformError } from "../terraform/run";

/** The message of an apply that needed moto's missing CodeBuild UpdateProject. */
export const CANNOT_UPDATE_PROJECT = "the local AWS cannot update a CodeBuild project; restart it with npm start";

/**
 * Printed wherever the tools show `start-build` on the local AWS: moto accepts the call and
 * reports the build SUCCEEDED with every phase, but runs nothing.
 */
export const START_BUILD_RUNS_NOTHING =
  "the local AWS (moto) runs no build: start-build returns a build ID and batch-get-builds then reports it SUCCEEDED " +
  "with every phase, although no container ran, no image was built and nothing was pushed";

/** True when Terraform's error text is moto's answer to UpdateProject (HTTP 500, no such API). */
export function isMissingUpdateProject(detail: string): boolean {
  return /CodeBuild: UpdateProject\b[\s\S]*StatusCode: 500/.test(detail);
}

/**
 * The error to show for a failed Terraform run against the local AWS: the plain message first
 * when the failure is a known gap of moto (Terraform's text below it), else the error as it is.
 */
export function explainLocalAwsFailure(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const detail = e instanceof TerraformError ? `${e.result.stderr}\n${e.result.stdout}` : e.message;
  if (!isMissingUpdateProject(detail)) return e;
  const explained = new Error(`${CANNOT_UPDATE_PROJECT} (moto has no CodeBuild UpdateProject: HTTP 500)\n${e.message}`);
  explained.name = "LocalAwsLimitError";
  return explained;
}
