import { parse as parseYaml } from "yaml";

// Parses and validates an AWS CodeBuild buildspec (version 0.2) for the local build runner.
// Source: "Build specification reference for CodeBuild" (build-spec-ref): keys, env, phases, artifacts.

/** The build phases a buildspec may define, in the order CodeBuild runs them. */
export const PHASE_NAMES = ["install", "pre_build", "build", "post_build"] as const;

/** One of {@link PHASE_NAMES}. */
export type PhaseName = (typeof PHASE_NAMES)[number];

/** How a phase ended. SKIPPED: an earlier failure meant it never started. */
export type PhaseStatus = "SUCCEEDED" | "FAILED" | "SKIPPED";

/** What a phase does when one of its commands fails (`phases/<phase>/on-failure`). */
export type OnFailure = "ABORT" | "CONTINUE";

/** The shells the runner can run a buildspec in (`env/shell`). */
export type BuildShellName = "bash" | "sh";

// build-spec-ref, "Buildspec syntax": every top-level key a version 0.2 buildspec may have.
const TOP_LEVEL_KEYS = ["version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"];
// Top-level keys that change nothing in a local run (users, proxies, batch builds, reports, caches).
const IGNORED_TOP_LEVEL_KEYS = ["run-as", "proxy", "batch", "reports", "cache"];
const ENV_KEYS = ["shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper"];
const PHASE_KEYS = ["run-as", "on-failure", "runtime-versions", "commands", "finally"];
const ARTIFACT_KEYS = ["files", "name", "discard-paths", "base-directory", "secondary-artifacts", "enable-symlinks", "s3-prefix", "exclude-paths"];
// build-spec-ref, env/shell: the Linux shell tags are `bash` and `/bin/sh`; `sh` is accepted too.
const SHELL_TAGS: Record<string, BuildShellName> = { bash: "bash", "/bin/bash": "bash", sh: "sh", "/bin/sh": "sh" };
const WINDOWS_SHELL_TAGS = ["powershell.exe", "cmd.exe"];

/** A phase of a parsed buildspec. */
export interface BuildspecPhase {
  readonly commands: string[];
  readonly finally: string[];
  /** @default - the build phase transitions decide (see {@link runBuildspec}) */
  readonly onFailure?: OnFailure;
}

/** A validated version 0.2 buildspec, reduced to what a local run uses. */
export interface ParsedBuildspec {
  readonly shell: BuildShellName;
  readonly variables: Record<string, string>;
  readonly phases: Partial<Record<PhaseName, BuildspecPhase>>;
  readonly artifacts?: { readonly files: string[]; readonly baseDirectory?: string };
  /** What the local run ignores (run-as, runtime-versions, reports, ...), one sentence each. */
  readonly ignored: string[];
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number | boolean => ["string", "number", "boolean"].includes(typeof v);
const quote = (s: string) => JSON.stringify(s);

/**
 * Parses and validates a buildspec's YAML text; throws one Error listing every problem.
 * `source` names the buildspec in messages.
 */
export function parseBuildspec(text: string, source = "buildspec"): ParsedBuildspec {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`Invalid ${source}: not valid YAML: ${(e as Error).message}`);
  }
  if (!isMapping(doc)) throw new Error(`Invalid ${source}: expected a YAML mapping with version and phases, got ${doc === null ? "nothing" : typeof doc}`);

  const problems: string[] = [];
  const ignored: string[] = [];

  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) problems.push(`unknown top-level key ${quote(key)} (allowed: ${TOP_LEVEL_KEYS.join(", ")})`);
    else if (IGNORED_TOP_LEVEL_KEYS.includes(key)) ignored.push(`${key} is not applied by the local runner`);
  }

  if (doc.version === undefined) problems.push("version is required: the local runner runs buildspec version 0.2");
  else if (doc.version !== 0.2 && doc.version !== "0.2") {
    problems.push(`version ${quote(String(doc.version))} is not supported: the local runner runs buildspec version 0.2 only`);
  }

  const { shell, variables } = parseEnv(doc.env, problems, ignored);
  const phases = parsePhases(doc.phases, problems, ignored);
  const artifacts = parseArtifacts(doc.artifacts, problems, ignored);

  if (problems.length > 0) throw new Error(`Invalid ${source}: ${problems.join("; ")}`);
  return { shell, variables, phases, artifacts, ignored };
}

function parseEnv(env: unknown, problems: string[], ignored: string[]): { shell: BuildShellName; variables: Record<string, string> } {
  // build-env-ref-cmd: "You can specify any Shell Command Language (sh) command": sh unless env/shell says otherwise.
  let shell: BuildShellName = "sh";
  const variables: Record<string, string> = {};
  if (env === undefined || env === null) return { shell, variables };
  if (!isMapping(env)) {
    problems.push("env must be a mapping");
    return { shell, variables };
  }
  for (const key of Object.keys(env)) {
    if (!ENV_KEYS.includes(key)) problems.push(`unknown key env.${key} (allowed: ${ENV_KEYS.join(", ")})`);
  }
  if (env.shell !== undefined) {
    const tag = String(env.shell);
    if (SHELL_TAGS[tag]) shell = SHELL_TAGS[tag];
    else if (WINDOWS_SHELL_TAGS.includes(tag)) problems.push(`env.shell ${quote(tag)} is a Windows shell: not supported by the local runner (use bash or /bin/sh)`);
    else problems.push(`env.shell ${quote(tag)} is not a Linux shell tag (allowed: bash, /bin/sh, sh)`);
  }
  if (env.variables !== undefined && env.variables !== null) {
    if (!isMapping(env.variables)) problems.push("env.variables must be a mapping of names to values");
    else {
      for (const [name, value] of Object.entries(env.variables)) {
        if (isScalar(value)) variables[name] = String(value);
        else problems.push(`env.variables.${name} must be a single value (string or number)`);
      }
    }
  }
  for (const key of ["parameter-store", "secrets-manager"]) {
    const section = env[key];
    if (section === undefined || section === null) continue;
    const names = isMapping(section) ? Object.keys(section) : [];
    if (!isMapping(section) || names.length > 0) {
      problems.push(`env.${key} is not supported by the local runner: pass ${names.length > 0 ? names.join(", ") : "those variables"} as project environment variables (env option) instead`);
    }
  }
  if (env["exported-variables"] !== undefined) ignored.push("env.exported-variables are not exported anywhere by the local runner");
  if (env["git-credential-helper"] !== undefined) ignored.push("env.git-credential-helper is not applied by the local runner");
  return { shell, variables };
}

function commandList(value: unknown, where: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where} must be a list of commands`);
    return [];
  }
  return value.flatMap((item, i) => {
    if (isScalar(item)) return [String(item)];
    problems.push(
      isMapping(item)
        ? `${where}[${i}] is a YAML mapping, not a command: quote a command that contains ": " (build-spec-ref)`
        : `${where}[${i}] must be a command (a string)`,
    );
    return [];
  });
}

function parsePhases(phases: unknown, problems: string[], ignored: string[]): Partial<Record<PhaseName, BuildspecPhase>> {
  const result: Partial<Record<PhaseName, BuildspecPhase>> = {};
  if (phases === undefined || phases === null) {
    problems.push("phases is required");
    return result;
  }
  if (!isMapping(phases)) {
    problems.push("phases must be a mapping of phase names to phases");
    return result;
  }
  for (const [name, phase] of Object.entries(phases)) {
    if (!(PHASE_NAMES as readonly string[]).includes(name)) {
      problems.push(`unknown phase phases.${name} (allowed: ${PHASE_NAMES.join(", ")})`);
      continue;
    }
    const where = `phases.${name}`;
    if (!isMapping(phase)) {
      problems.push(`${where} must be a mapping with commands`);
      continue;
    }
    for (const key of Object.keys(phase)) {
      if (!PHASE_KEYS.includes(key)) problems.push(`unknown key ${where}.${key} (allowed: ${PHASE_KEYS.join(", ")})`);
    }
    if (phase["runtime-versions"] !== undefined) {
      if (name === "install") ignored.push(`${where}.runtime-versions is not installed by the local runner: the machine's tools are used`);
      else problems.push(`${where}.runtime-versions is only allowed in the install phase`);
    }
    if (phase["run-as"] !== undefined) ignored.push(`${where}.run-as is not applied by the local runner`);
    // build-spec-ref: commands is required in pre_build, build and post_build, optional in install.
    if (name !== "install" && phase.commands === undefined) problems.push(`${where}.commands is required when ${name} is specified`);
    const onFailure = phase["on-failure"];
    if (onFailure !== undefined && onFailure !== "ABORT" && onFailure !== "CONTINUE") {
      problems.push(`${where}.on-failure ${quote(String(onFailure))} must be ABORT or CONTINUE`);
    }
    result[name as PhaseName] = {
      commands: commandList(phase.commands, `${where}.commands`, problems),
      finally: commandList(phase.finally, `${where}.finally`, problems),
      onFailure: onFailure === "ABORT" || onFailure === "CONTINUE" ? onFailure : undefined,
    };
  }
  return result;
}

function parseArtifacts(artifacts: unknown, problems: string[], ignored: string[]): ParsedBuildspec["artifacts"] {
  if (artifacts === undefined || artifacts === null) return undefined;
  if (!isMapping(artifacts)) {
    problems.push("artifacts must be a mapping with files");
    return undefined;
  }
  for (const key of Object.keys(artifacts)) {
    if (!ARTIFACT_KEYS.includes(key)) problems.push(`unknown key artifacts.${key} (allowed: ${ARTIFACT_KEYS.join(", ")})`);
  }
  // build-spec-ref: artifacts/files is "always required, even when there are only secondary artifacts".
  if (artifacts.files === undefined) problems.push("artifacts.files is required when artifacts is specified");
  const files = commandList(artifacts.files, "artifacts.files", problems);
  const base = artifacts["base-directory"];
  if (base !== undefined && typeof base !== "string") problems.push("artifacts.base-directory must be a path");
  if (artifacts["secondary-artifacts"] !== undefined) ignored.push("artifacts.secondary-artifacts are not checked by the local runner");
  return { files, baseDirectory: typeof base === "string" ? base : undefined };
}
