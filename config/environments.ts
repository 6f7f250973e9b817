/**
 * Loads the environments file (`config/environments.json`), checks it as a whole and selects
 * environments. The fields' shape is defined once in ./environment-schema; the rules of the fields
 * that become construct props are the constructs' (run on every environment by ./construct-rules);
 * the rules that span fields live in ./environment-rules, those between environments in ./topology-rules.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { CONFIG_FILE_SCHEMA, ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_RULE, ENVIRONMENT_SCHEMA, type EnvironmentConfig } from "./environment-schema";
import { crossFieldProblems, isObject } from "./environment-rules";
import { constructProblems } from "./construct-rules";
import { topologyProblems } from "./topology-rules";
import { parseConfigText } from "./config-text";
import { type FieldLocator, type SchemaProblem, problemLine, schemaProblems, show } from "./problems";

export * from "./environment-schema";
export { consumersOf, pullRoleArns, pullRoleName, PULL_ROLE_SUFFIXES, repositoryArn, repositoryRegions, topologyProblems } from "./topology-rules";
export type { SchemaProblem } from "./problems";

/** The top level of the file; the environments are checked one by one. */
const TOP_LEVEL_SCHEMA = CONFIG_FILE_SCHEMA.extend({ environments: z.record(z.string(), z.unknown()) });

/** A config file that breaks its rules; `problems` holds one line per bad field. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** An environment the file declares, valid or not: its name and whether it is marked `"local": true`. */
export interface DeclaredEnvironment {
  readonly name: string;
  readonly local: boolean;
}

/** What checking an environments file found: every problem, and the environments that can be built. */
export interface ConfigCheck {
  /**
   * The environments that can be built, in file order: each valid on its own (schema,
   * cross-field rules and its constructs' prop checks), breaking no rule between environments and naming (in pullFrom and
   * build.replicateToEnvironments) only environments that can be built. Every environment when
   * `problems` is empty.
   */
  readonly environments: EnvironmentConfig[];
  /** Every environment the file declares, in file order (none when the file is no object of environments). */
  readonly declared: DeclaredEnvironment[];
  /** One line per problem; empty when the file is valid. */
  readonly problems: string[];
  /** Finds a field's line and column in the file (a file read from disk only). */
  readonly locate?: FieldLocator;
}

/**
 * Checks a parsed environments file as a whole: every rule (schema, cross-field, between
 * environments) of every environment, and returns the problems and the environments that can be
 * built despite them. {@link validateConfig} is the strict form.
 * @param locate finds a field's line and column in the file, for the problem lines
 *   @default - lines without a position
 */
export function checkConfig(raw: unknown, file: string, locate?: FieldLocator): ConfigCheck {
  const line = (env: string | undefined, p: SchemaProblem) => problemLine(file, env, p, locate);
  if (!isObject(raw)) {
    return { environments: [], declared: [], problems: [`${file}: the file must hold a JSON object with an "environments" object`] };
  }
  // Environments are checked one by one below; here only the top level (unknown keys, presence).
  const topLevel = "environments" in raw ? { ...raw, environments: {} } : raw;
  const lines = schemaProblems(TOP_LEVEL_SCHEMA, topLevel).map((p) => line(undefined, p));
  const envs = raw.environments;
  if (!isObject(envs)) {
    if ("environments" in raw) lines.push(line(undefined, { path: "environments", value: envs, rule: "must be an object of environments by name" }));
    return { environments: [], declared: [], problems: lines };
  }
  const declared = Object.entries(envs).map(([name, env]) => ({ name, local: isObject(env) && env.local === true }));
  // Valid on its own (the rules between environments see these); `named` also has a valid name.
  const result: EnvironmentConfig[] = [];
  const named = new Set<string>();
  // The constructs' problems follow the file's own (schema, cross-field, between environments).
  const constructLines: string[] = [];
  for (const [name, env] of Object.entries(envs)) {
    const nameOk = ENVIRONMENT_NAME_PATTERN.test(name);
    if (!nameOk) {
      const at = locate?.(undefined, `environments.${name}`);
      lines.push(`${file}${at ? `:${at.line}:${at.column}` : ""}: environment ${show(name)} has an invalid name: ${ENVIRONMENT_NAME_RULE}`);
    }
    const problems = schemaProblems(ENVIRONMENT_SCHEMA, env);
    const crossField = crossFieldProblems(env, problems);
    // The constructs' own rules of the fields, at the fields, for every environment of the file.
    const construct = isObject(env) ? constructProblems({ ...(withoutFields(env, problems) as EnvironmentConfig), name }, problems) : [];
    lines.push(...[...problems, ...crossField].map((p) => line(name, p)));
    constructLines.push(...construct.map((p) => line(name, p)));
    if (problems.length === 0 && crossField.length === 0) {
      result.push({ ...ENVIRONMENT_SCHEMA.parse(env), name });
      // An environment whose constructs refuse their props is checked with the others but not built.
      if (nameOk && construct.length === 0) named.add(name);
    }
  }
  if (declared.length === 0) lines.push(line(undefined, { path: "environments", value: {}, rule: "must declare at least one environment" }));
  const topology = topologyProblems(result, declared.map((d) => d.name));
  lines.push(...topology.map((p) => line(p.env, p)), ...constructLines);
  // Buildable: valid, no rule between environments broken, and referring only to buildable ones
  // (repeated until nothing changes: a cycle or a chain of references falls as a whole).
  const buildable = new Set([...named].filter((n) => !topology.some((p) => p.env === n)));
  const refersTo = (e: EnvironmentConfig) => [...(e.pullFrom === undefined ? [] : [e.pullFrom]), ...(e.build?.replicateToEnvironments ?? [])];
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of result) {
      if (buildable.has(e.name) && refersTo(e).some((n) => !buildable.has(n))) {
        buildable.delete(e.name);
        changed = true;
      }
    }
  }
  return { environments: result.filter((e) => buildable.has(e.name)), declared, problems: lines, locate };
}

/**
 * A copy of `env` without the fields at `problems`' paths (object keys; an array keeps its items,
 * whose indexes the paths name), so the construct checks read only the fields the schema accepted.
 */
function withoutFields(env: Record<string, unknown>, problems: readonly SchemaProblem[]): Record<string, unknown> {
  const copy = structuredClone(env);
  for (const p of problems) {
    const keys = p.path.split(/\.|(?=\[)/);
    const last = keys.pop();
    if (last === undefined || last.startsWith("[")) continue;
    let holder: unknown = copy;
    for (const k of keys) {
      const index = /^\[(\d+)\]$/.exec(k)?.[1];
      holder = isObject(holder) || Array.isArray(holder) ? (holder as Record<string, unknown>)[index ?? k] : undefined;
    }
    if (isObject(holder) && Object.hasOwn(holder, last)) delete holder[last];
  }
  return copy;
}

/**
 * Validates a parsed environments file as a whole and returns its environments. Throws a
 * {@link ConfigError} listing every bad field, one line each.
 */
export function validateConfig(raw: unknown, file: string): EnvironmentConfig[] {
  const checked = checkConfig(raw, file);
  if (checked.problems.length) throw new ConfigError(checked.problems);
  return checked.environments;
}

/**
 * Reads and checks an environments file (see {@link loadConfigFile}), returning its problems and
 * the environments that can be built despite them. An unreadable file or a syntax error is one
 * problem and no environments.
 */
export function checkConfigFile(file: string): ConfigCheck {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return { environments: [], declared: [], problems: [`${file}: cannot read the environments file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`] };
  }
  const parsed = parseConfigText(file, text);
  if ("problem" in parsed) return { environments: [], declared: [], problems: [parsed.problem] };
  return checkConfig(parsed.value, file, parsed.locate);
}

/**
 * Reads and validates an environments file: JSON with comments (`//` and `/* *\/`, no trailing
 * commas). A syntax error is one problem naming the file, line and column, with the offending line;
 * every other problem names the line and column of its field.
 * Throws a {@link ConfigError} on any problem.
 */
export function loadConfigFile(file: string): EnvironmentConfig[] {
  const checked = checkConfigFile(file);
  if (checked.problems.length) throw new ConfigError(checked.problems);
  return checked.environments;
}

/**
 * Picks the environments named by `selection` (comma-separated names, or `all`).
 * @param all the environments to pick from
 * @param selection the `ENVIRONMENTS` variable; unset selects every local environment
 *   (`"local": true`), the organization `npm start` deploys; set but empty is an error
 * @param declared the environments the file declares, against which the names are checked:
 *   for a file with problems, `all` holds only the environments that can be built, and a name
 *   of another declared one selects nothing instead of being unknown @default - those of `all`
 */
export function selectEnvironments(
  all: EnvironmentConfig[],
  selection: string | undefined,
  file: string,
  declared: readonly DeclaredEnvironment[] = all.map((e) => ({ name: e.name, local: e.local === true })),
): EnvironmentConfig[] {
  const known = declared.map((e) => e.name);
  if (selection !== undefined && selection.trim() === "") {
    throw new ConfigError([
      `ENVIRONMENTS is set but empty (${JSON.stringify(selection)}): unset it to select every local environment ("local": true), or name environments, comma-separated (known: ${known.join(", ")}), or all`,
    ]);
  }
  if (selection === undefined) {
    const local = declared.filter((e) => e.local).map((e) => e.name);
    if (local.length === 0) {
      throw new ConfigError([
        `ENVIRONMENTS is unset, which selects every local environment ("local": true), but ${file} declares none (known: ${known.join(", ")}); set ENVIRONMENTS to a name or all`,
      ]);
    }
    return all.filter((e) => local.includes(e.name));
  }
  if (selection.trim() === "all") return all;
  const names = selection.split(",").map((n) => n.trim());
  const problems = names
    .filter((n) => !known.includes(n))
    .map((n) => `ENVIRONMENTS: ${JSON.stringify(n)} is not an environment of ${file} (known: ${known.join(", ")}, or all)`);
  if (problems.length) throw new ConfigError(problems);
  return all.filter((e) => names.includes(e.name));
}

/** The project's root folder (the one holding `config/`), from this file upwards. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "cdktf.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** The environments file: `CONFIG_FILE`, else `config/environments.json` of the project. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CONFIG_FILE ?? path.join("config", "environments.json");
}
