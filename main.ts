import * as fs from "fs";
import * as path from "path";
import { AnnotationMetadataEntryType, App, TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { ConfigError, EnvironmentConfig, checkConfigFile, configFilePath, projectRoot, selectEnvironments } from "./config/environments";
import { RegionalStack, stackName } from "./stacks/regional-stack";
import { PropValidationError, propProblemDetails } from "./modules/shared/validation";
import { configPathOf } from "./stacks/config-paths";
import { problemLine } from "./config/problems";
import { appLocalEndpointCheck } from "./config/local-endpoint-guard";
import { markerText, OUTPUT_MARKER, outputFolderProblem } from "./config/output-folder";

/**
 * Loads the environments file, creates one RegionalStack per (environment, region) and
 * synthesizes them. The app is synthesized into a staging folder that replaces the output
 * folder only when everything succeeded, so a failure never leaves a half-written cdktf.out.
 * Construct warnings go to stderr, one `warning: <file>: stack <stack>: <construct>: …` line each
 * (under the cdktf CLI, which prints them itself, they are left to it). One run reports every
 * problem, one line each: the config's, then the construct checks of every selected environment
 * that can be built despite them (see checkConfig); a problem shared by several stacks is one line.
 *
 * Environment variables: CONFIG_FILE (default config/environments.json), ENVIRONMENTS
 * (comma-separated names or "all"; default: every local environment, "local": true), CDKTF_OUTDIR (default cdktf.out),
 * AWS_ENDPOINT_URL (the local AWS endpoint of `local` environments; default http://127.0.0.1:5000),
 * ALLOW_LOCAL_ENDPOINT (1: synthesize real environments although AWS_ENDPOINT_URL(_<SERVICE>) is
 * set; without it they are refused, since `cdktf deploy` runs Terraform with these variables).
 */
export function main(env: NodeJS.ProcessEnv = process.env): number {
  const file = configFilePath(env);
  const shownOutdir = env.CDKTF_OUTDIR ?? "cdktf.out";
  const outdir = path.resolve(shownOutdir);
  const staging = `${outdir}.partial-${process.pid}`;
  // Refused before anything is written: the swap below deletes whatever the folder held.
  const outdirProblem = outputFolderProblem(shownOutdir, projectRoot());
  if (outdirProblem) {
    process.stderr.write(`error: ${outdirProblem}\nsynth failed: 1 problem(s); nothing was written to ${shownOutdir}\n`);
    return 1;
  }
  try {
    // Every problem of one run is reported together: the config's (all environments), then the
    // selection's and the variables', then those of the constructs of every selected environment
    // that can be built despite the config's problems (their own and the others').
    const config = checkConfigFile(file);
    const lines = [...config.problems];
    let environments: EnvironmentConfig[] = [];
    // A file that declares no environment (unreadable, not JSON, none declared) has its own line:
    // ENVIRONMENTS is not checked against it.
    let selected = config.declared.length > 0 || config.problems.length === 0;
    try {
      if (selected) environments = selectEnvironments(config.environments, env.ENVIRONMENTS, file, config.declared);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      lines.push(...e.problems);
      selected = false;
    }
    const localEndpoint = env.AWS_ENDPOINT_URL;
    const endpointOk = localEndpoint === undefined || /^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(localEndpoint);
    if (!endpointOk) lines.push(`AWS_ENDPOINT_URL ${JSON.stringify(localEndpoint)} must be an http(s) URL such as http://127.0.0.1:5000`);
    // cdktf deploy runs Terraform with the variables it ran this app with: refuse before synth.
    const endpointCheck = appLocalEndpointCheck(environments, env);
    lines.push(...endpointCheck.errors);
    if (endpointCheck.warning && lines.length === 0) process.stderr.write(`warning: ${endpointCheck.warning}\n`);
    // Validations run once, in the pass below (all stacks at once); App.synth need not repeat them.
    const app = new App({ outdir: staging, stackTraces: false, skipValidation: true });
    const problems = new StackProblems(file);
    // Without a valid selection or endpoint there is nothing to build the stacks for.
    if (!selected || !endpointOk) environments = [];
    for (const environment of environments) {
      for (const region of environment.regions) {
        try {
          new RegionalStack(app, { environment, region, localEndpoint, organization: config.environments });
        } catch (e) {
          if (!(e instanceof PropValidationError)) throw e;
          // A problem of a field the config sets is reported at that field, as the config's are.
          const details = propProblemDetails(e);
          e.problems.forEach((line, i) => {
            const detail = details[i];
            const at = detail === undefined ? undefined : configPathOf(environment, detail);
            const stack = stackName(environment.name, region);
            if (detail === undefined || at === undefined) problems.add(stack, line);
            else problems.addFieldLine(stack, problemLine(file, environment.name, { path: at, value: detail.value, rule: detail.rule }, config.locate));
          });
        }
      }
    }
    // Run the aspects (the policy pack) and every validation of every stack first, so one run
    // reports the problems of all stacks, not just the first failing one. A stack whose
    // constructs refused their props is left out: it is incomplete.
    for (const stack of app.node.children.filter(TerraformStack.isStack)) {
      if (problems.has(stack.node.id)) continue;
      invokeAspects(stack);
      for (const node of stack.node.findAll()) {
        for (const message of node.node.validate()) problems.add(stack.node.id, message);
      }
    }
    lines.push(...problems.lines());
    if (lines.length) throw new ConfigError(lines);
    app.synth();
    fs.writeFileSync(path.join(staging, OUTPUT_MARKER), markerText());
    replaceFolder(staging, outdir, runByCdktfCli(env));
    // Every command that synthesizes runs this app (npm run synth, npm start, npm run plan and
    // deploy, cdktf synth), so the construct warnings are printed here, not left in the manifest.
    // Under the cdktf CLI they are not: it prints the manifest's annotations itself.
    if (!runByCdktfCli(env)) {
      for (const w of warnings(app, file)) process.stderr.write(`warning: ${w}\n`);
    }
    return 0;
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    const lines = e instanceof ConfigError ? e.problems : [(e as Error).message];
    for (const line of lines) process.stderr.write(`error: ${line}\n`);
    process.stderr.write(`synth failed: ${lines.length} problem(s); nothing was written to ${shownOutdir}\n`);
    return 1;
  }
}

/**
 * Problems by stack, printed once per problem: the same problem in several stacks (one
 * environment's regions) is one line naming all of them, `<file>: stacks a, b: <problem>`.
 */
class StackProblems {
  private readonly byProblem = new Map<string, string[]>();
  /** Problems already written as a whole line (at a config field): printed as they are. */
  private readonly fieldLines = new Set<string>();

  constructor(private readonly file: string) {}

  public add(stack: string, problem: string): void {
    const stacks = this.byProblem.get(problem) ?? [];
    if (!stacks.includes(stack)) stacks.push(stack);
    this.byProblem.set(problem, stacks);
  }

  /** A problem of `stack` that names its config field: the same line for several stacks is printed once. */
  public addFieldLine(stack: string, line: string): void {
    this.fieldLines.add(line);
    this.add(stack, line);
  }

  public get size(): number {
    return this.byProblem.size;
  }

  /** Whether `stack` has a problem. */
  public has(stack: string): boolean {
    return [...this.byProblem.values()].some((stacks) => stacks.includes(stack));
  }

  public lines(): string[] {
    return [...this.byProblem].map(([problem, stacks]) =>
      this.fieldLines.has(problem) ? problem : `${this.file}: ${stacks.length === 1 ? "stack" : "stacks"} ${stacks.join(", ")}: ${problem}`,
    );
  }
}

/** The variable the cdktf CLI sets when it runs the app (`cdktf synth`, `cdktf deploy`). */
const CDKTF_CLI_VARIABLE = "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS";

/** Whether the cdktf CLI runs this app: it prints the annotations and prunes old stack folders itself. */
function runByCdktfCli(env: NodeJS.ProcessEnv): boolean {
  return env[CDKTF_CLI_VARIABLE] !== undefined;
}

/** The construct warnings of every stack, one line each: where (file, stack, construct) and what. */
function warnings(app: App, file: string): string[] {
  const out: string[] = [];
  for (const stack of app.node.children.filter(TerraformStack.isStack)) {
    for (const node of stack.node.findAll()) {
      for (const entry of node.node.metadata) {
        if (entry.type !== AnnotationMetadataEntryType.WARN) continue;
        const at = node === stack ? "" : `${node.node.path.slice(stack.node.path.length + 1)}: `;
        out.push(`${file}: stack ${stack.node.id}: ${at}${entry.data}`);
      }
    }
  }
  return out;
}

/**
 * Moves `staging` to `target`. An existing target is renamed aside first and restored if the
 * move fails, so the previous output survives any failure.
 * @param keepOldStackFolders leave an empty folder in `target/stacks` for each stack of the
 *   previous output that is gone: the cdktf CLI lists the stack folders before it runs the app
 *   and deletes the ones the new manifest lacks afterwards, without `force`, so a folder that
 *   the swap already removed fails it with ENOENT
 */
function replaceFolder(staging: string, target: string, keepOldStackFolders: boolean): void {
  const previous = `${target}.previous-${process.pid}`;
  const hadPrevious = fs.existsSync(target);
  if (hadPrevious) fs.renameSync(target, previous);
  try {
    fs.renameSync(staging, target);
  } catch (e) {
    if (hadPrevious) fs.renameSync(previous, target);
    throw e;
  }
  if (hadPrevious && keepOldStackFolders) {
    const oldStacks = path.join(previous, "stacks");
    const newStacks = path.join(target, "stacks");
    for (const name of fs.existsSync(oldStacks) ? fs.readdirSync(oldStacks) : []) {
      if (!fs.existsSync(path.join(newStacks, name))) fs.mkdirSync(path.join(newStacks, name), { recursive: true });
    }
  }
  if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
}

if (require.main === module) {
  process.exitCode = main();
}
