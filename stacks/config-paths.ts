/**
 * Where a construct's prop comes from in the environments file: a construct problem of a field
 * the config sets is reported at that field (`build.dindProject.image`), not at the construct.
 */
import type { EnvironmentConfig } from "../config/environments";
import type { PropProblemDetail } from "../modules/shared/validation";

/** The config object each construct of a RegionalStack is built from, by construct id. */
const CONFIG_OF_CONSTRUCT: Readonly<Record<string, string>> = {
  Repository: "build.repository",
  PrivilegedProject: "build.privilegedProject",
  DindProject: "build.dindProject",
  PullThroughCache: "build.pullThroughCache",
  RegistryScanning: "registryScanning",
};

/** Props whose config field is elsewhere than `<config object>.<prop>`; a prop's parts (`[i]`, `.x`) move with it. */
const MOVED_PROPS: Readonly<Record<string, string>> = {
  "Repository repositoryName": "build.repositoryName",
  "PrivilegedProject multiArch.platforms": "build.platforms",
  "PullThroughCache buildArgs": "build.pullThroughCache.baseImages",
};

/** The value at a dotted path (`a.b[0].c`) of `root`, and whether it is there. */
function lookup(root: unknown, path: string): { found: boolean; value: unknown } {
  let v: unknown = root;
  for (const key of path.split(/\.|(?=\[)/)) {
    const index = /^\[(\d+)\]$/.exec(key)?.[1];
    const k = index === undefined ? key : Number(index);
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, k)) return { found: false, value: undefined };
    v = (v as Record<string | number, unknown>)[k];
  }
  return { found: true, value: v };
}

/**
 * The config path of the field a construct problem is about, set or not: the problem's prop under
 * the construct's config object. An environment variable name is its key
 * (`…environmentVariables.<name>`). Undefined for a construct the config does not build.
 */
export function configFieldOf(problem: PropProblemDetail): string | undefined {
  const holder = CONFIG_OF_CONSTRUCT[problem.id];
  if (holder === undefined) return undefined;
  for (const [key, path] of Object.entries(MOVED_PROPS)) {
    const [id, prop] = key.split(" ");
    if (id !== problem.id) continue;
    if (problem.prop === prop) return path;
    if (problem.prop.startsWith(`${prop}[`) || problem.prop.startsWith(`${prop}.`)) return `${path}${problem.prop.slice(prop.length)}`;
  }
  if (problem.prop === "buildArgs name" && typeof problem.value === "string") return `${MOVED_PROPS[`${problem.id} buildArgs`]}.${problem.value}`;
  const prop = problem.prop === "environmentVariables name" && typeof problem.value === "string" ? `environmentVariables.${problem.value}` : problem.prop;
  return `${holder}.${prop}`;
}

/**
 * The config path of the field a construct problem is about, when the environment sets that field
 * itself (see {@link configFieldOf}). Undefined for a prop the config does not set (a default of
 * the construct, or one the stack derives), which stays a problem of the construct.
 */
export function configPathOf(env: EnvironmentConfig, problem: PropProblemDetail): string | undefined {
  const path = configFieldOf(problem);
  return path !== undefined && lookup(env, path).found ? path : undefined;
}
