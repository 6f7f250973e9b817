/**
 * The local-endpoint guard: a real environment (one without `"local": true`) must not be planned
 * or deployed while the shell points AWS at another endpoint. Terraform, the AWS provider and
 * the S3 backend all honour `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`, so with the
 * line `npm start -- --keep-running` prints still exported, a real environment would silently
 * go to the local AWS. Pure functions that import nothing: `npm run plan`/`deploy` and the app
 * (main.ts, the part of `cdktf synth`/`cdktf deploy` that runs before Terraform, which bundles
 * this file; scripts/app/synth.js watches config/) share them.
 */

/** The variable that allows it, for the app (`cdktf synth`/`deploy`) and `npm run plan`/`deploy` alike; only `1` or unset. */
export const ALLOW_LOCAL_ENDPOINT = "ALLOW_LOCAL_ENDPOINT";

/** The flag that allows it for `npm run plan` and `npm run deploy`. */
export const ALLOW_LOCAL_ENDPOINT_FLAG = "--allow-local-endpoint";

/** The global endpoint variable of the AWS SDKs; `<it>_<SERVICE>` sets one service's endpoint. */
const ENDPOINT_URL = "AWS_ENDPOINT_URL";

/** Older endpoint variables the S3 backend and the AWS provider still read (deprecated, not gone). */
const LEGACY_ENDPOINT_VARIABLES = ["DYNAMODB", "IAM", "S3", "STS"].flatMap((s) => [`AWS_${s}_ENDPOINT`, `TF_AWS_${s}_ENDPOINT`]);

/** Real environments about to run against an endpoint that environment variables set. */
export interface LocalEndpointUse {
  /** The names of the environments without `"local": true`. */
  readonly environments: string[];
  /** The endpoint variables that are set, by name (`AWS_ENDPOINT_URL` first, then by name). */
  readonly variables: Record<string, string>;
}

/** The endpoint variables set in `env` (an empty value counts: it is set). */
export function endpointVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const names = Object.keys(env)
    .filter((k) => env[k] !== undefined && (k === ENDPOINT_URL || k.startsWith(`${ENDPOINT_URL}_`) || LEGACY_ENDPOINT_VARIABLES.includes(k)))
    .sort((a, b) => (a === ENDPOINT_URL ? -1 : b === ENDPOINT_URL ? 1 : a.localeCompare(b)));
  return Object.fromEntries(names.map((k) => [k, env[k] as string]));
}

/** The real environments among `environments` that `env` would send to another endpoint; undefined when none. */
export function localEndpointUse(environments: readonly { readonly name: string; readonly local?: boolean }[], env: NodeJS.ProcessEnv): LocalEndpointUse | undefined {
  const real = environments.filter((e) => e.local !== true).map((e) => e.name);
  const variables = endpointVariables(env);
  return real.length && Object.keys(variables).length ? { environments: real, variables } : undefined;
}

/** `"prod", "staging"` */
const quoted = (names: string[]) => names.map((n) => JSON.stringify(n)).join(", ");
/** `A`, `A and B`, `A, B and C` */
const and = (items: string[]) => (items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`);

/** The variables of a use as the shell shows them: `AWS_ENDPOINT_URL=http://127.0.0.1:5000, AWS_ENDPOINT_URL_ECR=…`. */
export function assignments(use: LocalEndpointUse): string {
  return Object.entries(use.variables)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}
const environmentsAre = (names: string[]) => (names.length === 1 ? `environment ${quoted(names)} is` : `environments ${quoted(names)} are`);

/**
 * The one-line refusal: the variables, the environments and the two ways on.
 * @param allowHow how to allow it on purpose, e.g. `pass --allow-local-endpoint`
 */
export function localEndpointRefusal(use: LocalEndpointUse, allowHow: string): string {
  const names = Object.keys(use.variables);
  const many = use.environments.length > 1;
  return (
    `${environmentsAre(use.environments)} not local ("local": true), but ${assignments(use)} ${names.length === 1 ? "is" : "are"} set: ` +
    `Terraform would send ${many ? "their" : "its"} calls there instead of to ${many ? "their AWS accounts" : "its AWS account"}. ` +
    `Unset ${and(names)}, or ${allowHow} to run ${many ? "them" : "it"} against ${names.length === 1 ? "that endpoint" : "those endpoints"} on purpose`
  );
}

/** The problem with a value of ALLOW_LOCAL_ENDPOINT, if any: only `1` or unset. */
export function allowLocalEndpointProblem(value: string | undefined): string | undefined {
  return value === undefined || value === "1" ? undefined : `${ALLOW_LOCAL_ENDPOINT} ${JSON.stringify(value)} must be 1 or unset`;
}

/** What the app's check found: error lines (nothing may be synthesized), or a warning for an allowed use. */
export interface AppLocalEndpointCheck {
  readonly errors: string[];
  readonly warning?: string;
}

/**
 * The app's check. `cdktf deploy` runs Terraform with the variables it ran the app with, so the
 * app refuses for it: a real environment with an endpoint variable set needs ALLOW_LOCAL_ENDPOINT=1.
 */
export function appLocalEndpointCheck(environments: readonly { readonly name: string; readonly local?: boolean }[], env: NodeJS.ProcessEnv): AppLocalEndpointCheck {
  const problem = allowLocalEndpointProblem(env[ALLOW_LOCAL_ENDPOINT]);
  if (problem) return { errors: [problem] };
  const use = localEndpointUse(environments, env);
  if (!use) return { errors: [] };
  if (env[ALLOW_LOCAL_ENDPOINT] !== "1") return { errors: [localEndpointRefusal(use, `set ${ALLOW_LOCAL_ENDPOINT}=1`)] };
  return {
    errors: [],
    warning: `${environmentsAre(use.environments)} not local ("local": true) and synthesized with ${assignments(use)} set (${ALLOW_LOCAL_ENDPOINT}=1): Terraform run with these variables (cdktf deploy) sends its calls there, not to AWS`,
  };
}
