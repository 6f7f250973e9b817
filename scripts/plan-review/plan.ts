import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EnvironmentConfig, loadConfigFile, projectRoot, selectEnvironments } from "../../config/environments";
import { stackName } from "../../stacks/regional-stack";
import { localAwsEnv } from "../local-aws/clients";
import { LocalAws, startLocalAws } from "../local-aws/server";
import { bootstrap } from "../local-aws/deploy";
import { ALLOW_LOCAL_ENDPOINT, ALLOW_LOCAL_ENDPOINT_FLAG, allowLocalEndpointProblem, localEndpointRefusal, localEndpointUse } from "../../config/local-endpoint-guard";
import { guard, reviewPlan, stackMarkdown, summaryJson, summaryMarkdown, type LocalEndpointPlan, type StackReview } from "./review";
import { terraformEnv } from "../terraform/env";
import { terraform, terraformOk } from "../terraform/run";
import { runCli } from "../shared/cli";

export const USAGE = `Usage: npm run plan [-- options]

Synthesizes, then runs plain \`terraform plan\` for every stack of the selected environments
(ENVIRONMENTS, default local) on cdktf.out, keeps each plan and its JSON, and writes a Markdown
review per stack and overall (plans/summary.md, summary.json). Exits 1 when a plan deletes or
replaces an ECR repository or IAM role that --allow-destroy does not name. Refuses, before
anything runs, a real environment (not "local": true) while AWS_ENDPOINT_URL or any
AWS_ENDPOINT_URL_<SERVICE> is set, unless --allow-local-endpoint is given.

  --allow-destroy STACK:ADDRESS[,…]  resources allowed to be deleted or replaced (repeatable),
                                     e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD
  --out DIR                          where plans and reviews go (default: plans)
  --baseline DIR                     a previous synth output (e.g. of main) to compare backends with
  --apply                            after a review that passes, apply exactly the reviewed plans
  --allow-local-endpoint             plan real environments against the endpoint these variables
                                     set, on purpose (e.g. a rehearsal on a local AWS); the review
                                     says so at its top
  --help                             this text
Environment: ALLOW_DESTROY (same as --allow-destroy, comma or space separated),
ALLOW_LOCAL_ENDPOINT (1: same as --allow-local-endpoint), ENVIRONMENTS, CONFIG_FILE,
CDKTF_OUTDIR, AWS_ENDPOINT_URL.

Local environments use AWS_ENDPOINT_URL, or a local AWS started for the run; real ones the
default AWS credentials.`;

export interface PlanFlags {
  readonly allowDestroy: string[];
  readonly out: string;
  readonly baseline?: string;
  readonly apply: boolean;
  /** Real environments may run against an endpoint set by AWS_ENDPOINT_URL(_<SERVICE>). */
  readonly allowLocalEndpoint: boolean;
}

/** Parses flags; throws one line per problem. */
export function parsePlanFlags(argv: string[], env: NodeJS.ProcessEnv = {}): PlanFlags | "help" {
  const problems: string[] = [];
  const allowDestroy: string[] = [];
  const addAllowed = (list: string, source: string) => {
    for (const item of list.split(/[\s,]+/).filter(Boolean)) {
      if (/^[a-z][a-z0-9-]*-[a-z]{2}(-gov)?-[a-z]+-\d:[\w.[\]"-]+$/.test(item)) allowDestroy.push(item);
      else problems.push(`${source} ${JSON.stringify(item)} must be <stack>:<resource address>, e.g. local-eu-central-1:aws_ecr_repository.Repository_22E53BBD`);
    }
  };
  // CI passes allowances through the environment (a workflow input), the same rule applies.
  if (env.ALLOW_DESTROY) addAllowed(env.ALLOW_DESTROY, "ALLOW_DESTROY");
  const allowProblem = allowLocalEndpointProblem(env[ALLOW_LOCAL_ENDPOINT]);
  if (allowProblem) problems.push(allowProblem);
  let allowLocalEndpoint = env[ALLOW_LOCAL_ENDPOINT] === "1";
  let out = "plans";
  let baseline: string | undefined;
  let apply = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) {
        problems.push(`option ${a} needs a value`);
        return undefined;
      }
      i++;
      return v;
    };
    if (a === "--help" || a === "-h") return "help";
    else if (a === "--apply") apply = true;
    else if (a === ALLOW_LOCAL_ENDPOINT_FLAG) allowLocalEndpoint = true;
    else if (a === "--allow-destroy") addAllowed(value() ?? "", "--allow-destroy");
    else if (a === "--out") out = value() ?? out;
    else if (a === "--baseline") {
      const v = value();
      if (v !== undefined && !fs.existsSync(path.join(v, "stacks"))) problems.push(`--baseline ${JSON.stringify(v)} is not a synth output folder (no stacks/ inside)`);
      baseline = v;
    } else problems.push(`unknown flag ${JSON.stringify(a)} (known: --allow-destroy, --out, --baseline, --apply, ${ALLOW_LOCAL_ENDPOINT_FLAG}, --help)`);
  }
  if (problems.length) throw new Error(problems.join("\n"));
  return { allowDestroy, out, baseline, apply, allowLocalEndpoint };
}

interface PlannedStack {
  readonly env: EnvironmentConfig;
  readonly region: string;
  readonly name: string;
  readonly dir: string;
  readonly tfEnv: NodeJS.ProcessEnv;
}

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** The backend settings the working directory was last initialized with, if any. */
function initializedBackend(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, ".terraform", "terraform.tfstate");
  return fs.existsSync(file) ? readJson(file).backend?.config : undefined;
}

/** Runs the review; returns the exit code. */
export async function runPlan(flags: PlanFlags, env: NodeJS.ProcessEnv = process.env, log = (s: string) => process.stdout.write(s)): Promise<number> {
  const root = projectRoot();
  const file = env.CONFIG_FILE ?? path.join("config", "environments.json");
  const envs = selectEnvironments(loadConfigFile(path.resolve(root, file)), env.ENVIRONMENTS, file);
  // Before anything runs: terraform of a real environment gets the caller's variables.
  const onLocalEndpoint = localEndpointUse(envs, env);
  if (onLocalEndpoint && !flags.allowLocalEndpoint) throw new Error(localEndpointRefusal(onLocalEndpoint, `pass ${ALLOW_LOCAL_ENDPOINT_FLAG}`));
  const outdir = path.resolve(root, env.CDKTF_OUTDIR ?? "cdktf.out");
  const out = path.resolve(root, flags.out);
  let server: LocalAws | undefined;
  try {
    let endpoint = env.AWS_ENDPOINT_URL;
    if (envs.some((e) => e.local) && endpoint === undefined) {
      server = await startLocalAws();
      endpoint = server.endpoint;
      log(`started a local AWS for the local environment at ${endpoint} (nothing is deployed there: the plan shows creations)\n`);
    }
    const local = envs.filter((e) => e.local);
    if (local.length && endpoint) await bootstrap({ endpoint, root, outdir }, local);

    const synth = spawnSync(process.execPath, [path.join(root, "dist", "main.js")], {
      cwd: root,
      // The guard above has decided for the terraform runs below; in the synth the endpoint only
      // configures local stacks (a local AWS started for them included), so the app's own check,
      // meant for cdktf deploy, is told so.
      env: { ...env, CDKTF_OUTDIR: outdir, [ALLOW_LOCAL_ENDPOINT]: "1", ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}) },
      encoding: "utf8",
    });
    if (synth.status !== 0) throw new Error(`synth failed:\n${synth.stderr.trim()}`);

    const tfBase = terraformEnv(path.join(root, ".tmp", "terraform"), env);
    const stacks: PlannedStack[] = envs.flatMap((e) =>
      e.regions.map((region) => {
        const name = stackName(e.name, region);
        return { env: e, region, name, dir: path.join(outdir, "stacks", name), tfEnv: e.local && endpoint ? { ...tfBase, ...localAwsEnv(endpoint, region) } : tfBase };
      }),
    );
    const localEndpoint: LocalEndpointPlan | undefined = onLocalEndpoint && {
      ...onLocalEndpoint,
      stacks: stacks.filter((s) => onLocalEndpoint.environments.includes(s.env.name)).map((s) => s.name),
    };
    fs.mkdirSync(out, { recursive: true });

    const reviews: StackReview[] = await Promise.all(
      stacks.map(async (s) => {
        const before = initializedBackend(s.dir);
        await terraformOk(["init", "-input=false", "-no-color", "-reconfigure"], s.dir, s.tfEnv);
        const planFile = path.join(out, `${s.name}.tfplan`);
        const plan = await terraform(["plan", "-input=false", "-no-color", "-detailed-exitcode", `-out=${planFile}`], s.dir, s.tfEnv);
        if (plan.code === 1) throw new Error(`terraform plan failed for ${s.name}:\n${plan.stderr.trim()}`);
        fs.writeFileSync(path.join(out, `${s.name}.txt`), plan.stdout);
        const shown = await terraformOk(["show", "-json", planFile], s.dir, s.tfEnv);
        fs.writeFileSync(path.join(out, `${s.name}.json`), shown.stdout);
        const baselineFile = flags.baseline ? path.join(flags.baseline, "stacks", s.name, "cdk.tf.json") : undefined;
        const baselineBackend = baselineFile && fs.existsSync(baselineFile) ? readJson(baselineFile).terraform?.backend?.s3 : undefined;
        const review = reviewPlan(s.name, JSON.parse(shown.stdout), readJson(path.join(s.dir, "cdk.tf.json")), baselineBackend ?? before);
        fs.writeFileSync(path.join(out, `${s.name}.md`), `${stackMarkdown(review, localEndpoint)}\n`);
        return review;
      }),
    );
    const decision = guard(reviews, flags.allowDestroy);
    const summary = summaryMarkdown(reviews, decision, localEndpoint);
    fs.writeFileSync(path.join(out, "summary.md"), `${summary}\n`);
    fs.writeFileSync(path.join(out, "summary.json"), `${JSON.stringify(summaryJson(reviews, decision, localEndpoint), null, 2)}\n`);
    log(`${summary}\n\nplans, their JSON and the reviews are in ${path.relative(root, out) || "."}/\n`);
    if (!decision.ok) return 1;

    if (flags.apply) {
      for (const s of stacks) {
        log(`applying the reviewed plan of ${s.name}\n`);
        await terraformOk(["apply", "-input=false", "-no-color", path.join(out, `${s.name}.tfplan`)], s.dir, s.tfEnv);
      }
    }
    return 0;
  } finally {
    await server?.stop();
  }
}

if (require.main === module) {
  runCli({ parse: () => parsePlanFlags(process.argv.slice(2), process.env), usage: USAGE, run: (flags) => runPlan(flags) });
}
