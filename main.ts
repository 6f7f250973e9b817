import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { ConfigError, configFilePath, loadConfigFile, selectEnvironments } from "./config/environments";
import { RegionalStack, stackName } from "./stacks/regional-stack";
import { PropValidationError } from "./modules/shared/validation";
import { appLocalEndpointCheck } from "./config/local-endpoint-guard";

/**
 * Loads the environments file, creates one RegionalStack per (environment, region) and
 * synthesizes them. The app is synthesized into a staging folder that replaces the output
 * folder only when everything succeeded, so a failure never leaves a half-written cdktf.out.
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
  try {
    const organization = loadConfigFile(file);
    const environments = selectEnvironments(organization, env.ENVIRONMENTS, file);
    const localEndpoint = env.AWS_ENDPOINT_URL;
    if (localEndpoint !== undefined && !/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(localEndpoint)) {
      throw new ConfigError([`AWS_ENDPOINT_URL ${JSON.stringify(localEndpoint)} must be an http(s) URL such as http://127.0.0.1:5000`]);
    }
    // cdktf deploy runs Terraform with the variables it ran this app with: refuse before synth.
    const endpointCheck = appLocalEndpointCheck(environments, env);
    if (endpointCheck.errors.length) throw new ConfigError(endpointCheck.errors);
    if (endpointCheck.warning) process.stderr.write(`warning: ${endpointCheck.warning}\n`);
    // Validations run once, in the pass below (all stacks at once); App.synth need not repeat them.
    const app = new App({ outdir: staging, stackTraces: false, skipValidation: true });
    const problems: string[] = [];
    for (const environment of environments) {
      for (const region of environment.regions) {
        try {
          new RegionalStack(app, { environment, region, localEndpoint, organization });
        } catch (e) {
          if (!(e instanceof PropValidationError)) throw e;
          problems.push(...e.problems.map((p) => `${file}: stack ${stackName(environment.name, region)}: ${p}`));
        }
      }
    }
    if (problems.length) throw new ConfigError(problems);
    // Run the aspects (the policy pack) and every validation of every stack first, so one run
    // reports the problems of all stacks, not just the first failing one.
    for (const stack of app.node.children.filter(TerraformStack.isStack)) {
      invokeAspects(stack);
      for (const node of stack.node.findAll()) {
        for (const message of node.node.validate()) problems.push(`${file}: stack ${stack.node.id}: ${message}`);
      }
    }
    if (problems.length) throw new ConfigError(problems);
    app.synth();
    replaceFolder(staging, outdir);
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
 * Moves `staging` to `target`. An existing target is renamed aside first and restored if the
 * move fails, so the previous output survives any failure.
 */
function replaceFolder(staging: string, target: string): void {
  const previous = `${target}.previous-${process.pid}`;
  const hadPrevious = fs.existsSync(target);
  if (hadPrevious) fs.renameSync(target, previous);
  try {
    fs.renameSync(staging, target);
  } catch (e) {
    if (hadPrevious) fs.renameSync(previous, target);
    throw e;
  }
  if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
}

if (require.main === module) {
  process.exitCode = main();
}
