/**
 * The stack list: which stacks a command works on, from the config (and, after a synth, where
 * the synthesized manifest put them), with their apply waves from the topology. Built once per command.
 */
import * as fs from "fs";
import * as path from "path";
import { checkConfigFile, configFilePath, ConfigError, type EnvironmentConfig, projectRoot, selectEnvironments } from "../../config/environments";
import { stackName } from "../../stacks/regional-stack";
import { organizationWaves } from "../../stacks/topology";

/**
 * One stack of the app (one environment × one region), as data: what `npm run -s stacks -- --json`
 * prints, what the plan runner, the GitHub workflow and `npm run atlantis-config` work from.
 * The shape is stable: other tools code against these seven fields, and the CI roles when the environment has `ci`.
 */
export interface StackInfo {
  /** `<environment>-<region>`, the cdktf stack name. */
  readonly name: string;
  readonly environment: string;
  readonly accountId: string;
  readonly region: string;
  /** The synthesized folder, relative to the project root (absolute when CDKTF_OUTDIR is outside it), e.g. cdktf.out/stacks/local-eu-central-1. */
  readonly dir: string;
  /** Whether the environment is a local one (`"local": true`, deployed to a local AWS). */
  readonly local: boolean;
  /**
   * The apply wave (0 first), from the topology (applyWaves in stacks/topology.ts): a consumer's
   * stacks come before those of the owner it pulls from, because the owner's repository policy
   * names the consumer's pull roles, which must exist. The number is the organization's (all
   * environments of the file), so it does not change with the selection; a selection may skip a wave.
   */
  readonly wave: number;
  /** The environment's `ci.planRoleArn`: the read-only role CI plans with (absent without `ci`). */
  readonly planRoleArn?: string;
  /** The environment's `ci.deployRoleArn`: the role CI deploys with (absent without `ci`). */
  readonly deployRoleArn?: string;
  /** The environment's `ci.githubEnvironment`, the GitHub environment that approves its deploys (absent: the environment's name). */
  readonly githubEnvironment?: string;
}

/** Where listStacks reads its settings. */
export interface StackListOptions {
  /** CONFIG_FILE, ENVIRONMENTS and CDKTF_OUTDIR are read from here, as the app reads them. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The folder relative paths (CONFIG_FILE, CDKTF_OUTDIR) are resolved against. @default process.cwd() */
  readonly cwd?: string;
  /** The project root, which `dir` is relative to. @default projectRoot() */
  readonly root?: string;
}

/** One stack a command works on. */
export interface Stack {
  readonly name: string;
  readonly environment: EnvironmentConfig;
  readonly region: string;
  /** Its folder in the synth output (absolute). */
  readonly dir: string;
  /** Its apply wave (see {@link StackInfo.wave}). */
  readonly wave: number;
}

/** What a command works on: the config, the selected environments and their stacks. */
export interface StackSelection {
  /** The environments file, as given (CONFIG_FILE, else config/environments.json). */
  readonly configFile: string;
  /** Every environment of the file. */
  readonly organization: EnvironmentConfig[];
  /** The environments ENVIRONMENTS selects (or the stacks named). */
  readonly environments: EnvironmentConfig[];
  /** Their stacks, in the order of the file (environments, then their regions); `wave` says when each applies. */
  readonly stacks: Stack[];
  /** The synth output folder (absolute). */
  readonly outdir: string;
}

/**
 * The config file, checked; throws a ConfigError (one line per problem, the lines synth prints).
 * Read as the app reads it (relative to `cwd`), so the lines name the file as given.
 */
function readConfig(env: NodeJS.ProcessEnv, cwd: string): { file: string; checked: ReturnType<typeof checkConfigFile> } {
  const file = configFilePath(env);
  const checked = checkConfigFile(path.isAbsolute(file) || path.resolve(cwd) === process.cwd() ? file : path.resolve(cwd, file));
  if (checked.problems.length) throw new ConfigError(checked.problems);
  return { file, checked };
}

/**
 * The stacks of the environments ENVIRONMENTS selects (default: as selectEnvironments does —
 * every local environment), in wave order, then in the order of the file (environments, then
 * their regions). With `names`, the environments of those stacks instead (ENVIRONMENTS is not
 * read), and only those stacks; a name that is not a stack of the file is an error listing the
 * stacks. Throws a ConfigError (one line per problem) for a config with problems or a bad selection.
 */
export function selectStacks(options: StackListOptions & { readonly names?: readonly string[] } = {}): StackSelection {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const { file, checked } = readConfig(env, cwd);
  const organization = checked.environments;
  const outdir = path.resolve(cwd, env.CDKTF_OUTDIR ?? "cdktf.out");
  if (options.names !== undefined) {
    const stacks = namedStacks(options.names, organization, file, outdir);
    return { configFile: file, organization, environments: [...new Set(stacks.map((s) => s.environment))], stacks, outdir };
  }
  const environments = selectEnvironments(organization, env.ENVIRONMENTS, file, checked.declared);
  return { configFile: file, organization, environments, stacks: stacksOf(environments, organization, outdir), outdir };
}

/** The stacks of `environments` (one per region, in the file's order), with the organization's waves. */
function stacksOf(environments: readonly EnvironmentConfig[], organization: readonly EnvironmentConfig[], outdir: string): Stack[] {
  const wave = organizationWaves(organization);
  return environments.flatMap((e) =>
    e.regions.map((region) => ({ name: stackName(e.name, region), environment: e, region, dir: path.join(outdir, "stacks", stackName(e.name, region)), wave: wave.get(e.name)! })),
  );
}

/** A stack name that is not one of the config's. */
export class UnknownStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownStackError";
  }
}

/** The stacks `names` pick from the organization, in that order; throws naming the valid ones when a name is not one. */
export function namedStacks(names: readonly string[], organization: readonly EnvironmentConfig[], file: string, outdir = path.resolve("cdktf.out")): Stack[] {
  const known = stacksOf(organization, organization, outdir);
  const unknown = names.filter((n) => !known.some((s) => s.name === n));
  if (unknown.length) {
    throw new UnknownStackError(
      `${unknown.length > 1 ? "stacks" : "stack"} ${unknown.map((n) => JSON.stringify(n)).join(", ")} ${unknown.length > 1 ? "are" : "is"} not in ${file}; ` +
        `its stacks are: ${known.map((s) => s.name).join(", ")}`,
    );
  }
  return names.map((n) => known.find((s) => s.name === n)!);
}

/** The list as data (see {@link StackInfo}): the stacks of {@link selectStacks}. */
export function listStacks(options: StackListOptions = {}): StackInfo[] {
  const root = options.root ?? projectRoot();
  // In wave order; stable: within a wave, the file's order.
  const stacks = selectStacks(options)
    .stacks.map((s, i) => [s, i] as const)
    .sort(([a, i], [b, j]) => a.wave - b.wave || i - j)
    .map(([s]) => s);
  return stacks.map((s) => ({
    name: s.name,
    environment: s.environment.name,
    accountId: s.environment.accountId,
    region: s.region,
    dir: shownDir(root, s.dir),
    local: s.environment.local === true,
    wave: s.wave,
    ...(s.environment.ci ? { planRoleArn: s.environment.ci.planRoleArn, deployRoleArn: s.environment.ci.deployRoleArn } : {}),
    ...(s.environment.ci?.githubEnvironment ? { githubEnvironment: s.environment.ci.githubEnvironment } : {}),
  }));
}

/**
 * Where the synth put each stack, from its manifest (`<outdir>/manifest.json`): `stacks` with their
 * folders as the manifest names them; throws naming a stack the synth did not write.
 */
export function synthesizedStacks<S extends Stack>(stacks: readonly S[], outdir: string): S[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8")) as { stacks?: Record<string, { workingDirectory?: string }> };
  return stacks.map((s) => {
    const entry = manifest.stacks?.[s.name];
    if (entry?.workingDirectory === undefined) throw new Error(`the synth wrote no stack ${s.name} (${path.join(outdir, "manifest.json")} does not list it)`);
    return { ...s, dir: path.resolve(outdir, entry.workingDirectory) };
  });
}

function shownDir(root: string, dir: string): string {
  const rel = path.relative(root, dir);
  return rel.startsWith("..") || path.isAbsolute(rel) ? dir : rel.split(path.sep).join("/");
}
