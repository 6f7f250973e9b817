import * as path from "path";
import { checkConfigFile, configFilePath, ConfigError, type EnvironmentConfig, projectRoot, selectEnvironments } from "../../config/environments";
import { stackName } from "../../stacks/regional-stack";
import { deployWaves, type LocalStack } from "../local-aws/deploy";

/**
 * One stack of the app (one environment × one region), as data: what `npm run -s stacks -- --json`
 * prints, what the plan runner, the GitHub workflow and `npm run atlantis-config` work from.
 * The shape is stable: other tools code against these seven fields.
 */
export interface StackInfo {
  /** `<environment>-<region>`, the cdktf stack name. */
  readonly name: string;
  readonly environment: string;
  readonly accountId: string;
  readonly region: string;
  /** The synthesized folder, relative to the project root (absolute when CDKTF_OUTDIR is outside it), e.g. cdktf.out/stacks/local-eu-central-1. */
  readonly dir: string;
  /** Whether the environment is a local one (`"local": true`, deployed to the embedded local AWS). */
  readonly local: boolean;
  /**
   * The apply wave (0 first), from deployWaves in scripts/local-aws/deploy.ts: a consumer's stacks
   * come before those of the owner it pulls from, because the owner's repository policy names the
   * consumer's pull roles, which must exist. The number is the organization's (all environments
   * of the file), so it does not change with the selection; a selection may skip a wave.
   */
  readonly wave: number;
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

/**
 * Every stack of the environments ENVIRONMENTS selects (default: as selectEnvironments does —
 * every local environment), in wave order, then in the order of the file (environments, then
 * their regions). Throws a ConfigError (one line per problem) for a config with problems or a bad
 * selection, the same lines synth prints.
 */
export function listStacks(options: StackListOptions = {}): StackInfo[] {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const root = options.root ?? projectRoot();
  const file = configFilePath(env);
  // Read as the app reads it (relative to the current folder), so the lines name the file as given.
  const checked = checkConfigFile(path.isAbsolute(file) || path.resolve(cwd) === process.cwd() ? file : path.resolve(cwd, file));
  if (checked.problems.length) throw new ConfigError(checked.problems);
  const selected = selectEnvironments(checked.environments, env.ENVIRONMENTS, file, checked.declared);
  const outdir = path.resolve(cwd, env.CDKTF_OUTDIR ?? "cdktf.out");
  const wave = organizationWaves(checked.environments);
  const stacks: StackInfo[] = selected.flatMap((e) =>
    e.regions.map((region) => {
      const name = stackName(e.name, region);
      return { name, environment: e.name, accountId: e.accountId, region, dir: shownDir(root, path.join(outdir, "stacks", name)), local: e.local === true, wave: wave.get(e.name)! };
    }),
  );
  // Stable: within a wave, the file's order.
  return stacks.map((s, i) => [s, i] as const).sort(([a, i], [b, j]) => a.wave - b.wave || i - j).map(([s]) => s);
}

/** The wave of each environment of the organization, numbered by deployWaves over all of them. */
export function organizationWaves(organization: readonly EnvironmentConfig[]): Map<string, number> {
  const one: LocalStack[] = organization.map((environment) => ({ environment, region: environment.regions[0], name: environment.name, dir: "" }));
  const out = new Map<string, number>();
  deployWaves(one, organization).forEach((stacks, w) => stacks.forEach((s) => out.set(s.environment.name, w)));
  return out;
}

function shownDir(root: string, dir: string): string {
  const rel = path.relative(root, dir);
  return rel.startsWith("..") || path.isAbsolute(rel) ? dir : rel.split(path.sep).join("/");
}
