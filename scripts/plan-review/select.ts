/**
 * The first stage of every command of the pipeline: what it works on (the stack list, once, from
 * the config), and where (the endpoint of the local environments), refused before anything runs
 * when it must be.
 */
import { ALLOW_LOCAL_ENDPOINT_FLAG, localEndpointRefusal, localEndpointUse, type LocalEndpointUse } from "../../config/local-endpoint-guard";
import type { EnvironmentConfig } from "../../config/environments";
import { deployedLocalEndpoint } from "../shared/endpoint-records";
import { selectStacks, type Stack, type StackSelection } from "../stacks/list";

/** What a run works on, and where. */
export interface Selected {
  readonly selection: StackSelection;
  /** The stacks of this run: the selection's, or those `--stack` named. */
  readonly stacks: Stack[];
  /** The endpoint of the local environments (undefined when none is selected). */
  readonly endpoint?: string;
  /** Real environments run against an endpoint the variables set (allowed on purpose). */
  readonly onLocalEndpoint?: LocalEndpointUse;
}

/** How a command selects. */
export interface SelectOptions {
  /** `--stack`: only these stacks of the selection. @default - every stack */
  readonly stacks?: readonly string[];
  /** The selection, when the command already made it (so the stack list is built once). @default - from the config */
  readonly selection?: StackSelection;
  /** Pick the stacks by name, from the whole file (ENVIRONMENTS is not read), as recover does. @default false */
  readonly byName?: boolean;
  /** Real environments may run against an endpoint set by AWS_ENDPOINT_URL(_<SERVICE>). */
  readonly allowLocalEndpoint: boolean;
  /** Checked after the selection, before the endpoint is looked for; throws to refuse. */
  readonly check?: (environments: readonly EnvironmentConfig[]) => void;
  /** For the line when none runs: the npm script, what it does there, and what to do. */
  readonly command: string;
  readonly doing: string;
  readonly noneNote: string;
  readonly verb?: string;
}

/** The problem with `--stack` names that are not stacks of the selected environments (one line listing the known ones), or undefined. */
export function stackSelectionProblem(selected: readonly string[], known: readonly string[], environments: string): string | undefined {
  const stray = selected.filter((s) => !known.includes(s));
  if (!stray.length) return undefined;
  return (
    `--stack ${stray.map((s) => JSON.stringify(s)).join(", ")}: not ${stray.length > 1 ? "stacks" : "a stack"} of the selected environments (${environments}); ` +
    `known stacks: ${known.join(", ")}`
  );
}

/**
 * Selects the stacks and finds the endpoint of the local ones: AWS_ENDPOINT_URL, else the local
 * AWS kept running (`npm start -- --keep-running`); with neither, one line saying so. Throws,
 * before anything runs, for a bad config or selection, an unknown `--stack`, and a real
 * environment while an endpoint variable is set (unless allowed).
 */
export function select(env: NodeJS.ProcessEnv, log: (s: string) => void, options: SelectOptions): Selected {
  const selection = options.selection ?? selectStacks({ env, ...(options.byName ? { names: options.stacks ?? [] } : {}) });
  // Before anything runs: terraform of a real environment gets the caller's variables.
  const onLocalEndpoint = localEndpointUse(selection.environments, env);
  if (onLocalEndpoint && !options.allowLocalEndpoint) throw new Error(localEndpointRefusal(onLocalEndpoint, `pass ${ALLOW_LOCAL_ENDPOINT_FLAG}`));
  const names = options.stacks ?? [];
  if (!options.byName) {
    const problem = stackSelectionProblem(names, selection.stacks.map((s) => s.name), `ENVIRONMENTS=${selection.environments.map((e) => e.name).join(",")}`);
    if (problem) throw new Error(problem);
  }
  options.check?.(selection.environments);
  const stacks = options.byName || names.length === 0 ? selection.stacks : selection.stacks.filter((s) => names.includes(s.name));
  const endpoint = stacks.some((s) => s.environment.local)
    ? deployedLocalEndpoint(env, options.command, options.doing, log, options.noneNote, options.verb)
    : env.AWS_ENDPOINT_URL;
  return { selection, stacks, endpoint, onLocalEndpoint };
}
