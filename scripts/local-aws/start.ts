import * as path from "path";
import { ConfigError, projectRoot } from "../../config/environments";
import { bootstrap, refuseRealEnvironments, verify, verifyTopology, type LocalDeployOptions } from "./deploy";
import { selectStacks } from "../stacks/list";
import { localConfigLines } from "./config-rules";
import type { StackResult } from "./read-back";
import { LocalAws, localAwsCommand, startLocalAws } from "./server";
import { buildsContainerEnv } from "./container-storage";
import { describeBuilds, prepareBuilds, pullInstructions, runFirstBuilds, type FirstBuild, type ProjectToBuild } from "./first-builds";
import { runCli } from "../shared/cli";
import { LOCK_TIMEOUT_VARIABLE, lockTimeoutProblem } from "../terraform/run";
import { exportLine, stateDirProblem, writeRecord } from "./kept";
import { START_BUILD_NOTE } from "./limits";
import { PARALLELISM_VARIABLE, readParallelism, type GivenParallelism } from "../shared/pool";
import { runPlan, type Deployed } from "../plan-review/pipeline";

const USAGE = `Usage: npm start [-- --keep-running] [--no-build] [--parallelism N]

Deploys every stack of the local environments (an organization of several accounts) to an
embedded local AWS (moto), with real Terraform, the real AWS provider and S3 remote state with
locking: it starts the local AWS, creates the state bucket and the source bundle, runs the deploy
path of \`npm run deploy\` against it (synth, plan, the review and its guard, apply in waves:
consumers before the owner they pull from), then reads the result back in each account. Then it
runs the first build of each deployed project on the local AWS, for real (the project's buildspec
builds the image with podman and pushes it to the account's ECR there), and prints where the
image is: account, region, repository, tag, digest, and the replicas. The local AWS reaches no
network: the builds' base images are this machine's (the Go builder that \`npm run image\`
makes once with debootstrap, and scratch), and the builds' tools are installed with apt-get
when missing (as root; otherwise the install line is printed).

  --keep-running   leave the local AWS running afterwards, record it under .local-aws/ and print
                   how to use it (and how to pull the images); \`npm run status\` shows it,
                   \`npm stop\` stops it
  --no-build       deploy and read back only: no build, none of the builds' tools needed
  --parallelism N  at most N stacks deploy at once within a wave (1 to 64; default from the
                   machine: min(cores, available memory / 700 MiB))
  --help           this text

While Terraform runs, each stack prints its phase and a line every 10 s with the time elapsed.

Environment: AWS_ENDPOINT_URL (deploy to that endpoint, start nothing), ENVIRONMENTS (local
environments to deploy, default every local one), CONFIG_FILE, CDKTF_OUTDIR, LOCAL_AWS_PYTHON
(the Python 3 that has moto[server], default python3),
TF_PROVIDER_MIRROR, LOCK_TIMEOUT (how long apply waits for a state lock, default 5m),
PARALLELISM (same as --parallelism),
LOCAL_AWS_STATE_DIR (where --keep-running records the server, default .local-aws/).`;

interface Flags {
  readonly keepRunning: boolean;
  /** Run the first build of each project after the deploy. */
  readonly build: boolean;
  /** At most this many stacks deploy at once. @default - from the machine */
  readonly parallelism?: GivenParallelism;
}

/** Parses the flags and this command's own variables; throws one line per problem. */
export function parseFlags(argv: string[], env: NodeJS.ProcessEnv = {}): Flags | "help" {
  const known = ["--keep-running", "--no-build", "--help", "-h"];
  const problems: string[] = [];
  let parallelism = readParallelism(env[PARALLELISM_VARIABLE], PARALLELISM_VARIABLE, problems);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--parallelism") {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) problems.push("option --parallelism needs a value");
      else parallelism = readParallelism(argv[++i], "--parallelism", problems) ?? parallelism;
    } else if (!known.includes(argv[i])) problems.push(`unknown flag ${JSON.stringify(argv[i])} (known: --keep-running, --no-build, --parallelism, --help)`);
  }
  const lock = lockTimeoutProblem(env[LOCK_TIMEOUT_VARIABLE]);
  if (lock) problems.push(lock);
  const dir = stateDirProblem(env);
  if (dir) problems.push(dir);
  if (problems.length) throw new Error(problems.join("\n"));
  if (argv.includes("--help") || argv.includes("-h")) return "help";
  return { keepRunning: argv.includes("--keep-running"), build: !argv.includes("--no-build"), parallelism };
}

const write = (line: string): void => void process.stdout.write(line);

const timings: [string, number][] = [];
async function step<T>(label: string, run: () => Promise<T> | T): Promise<T> {
  const start = Date.now();
  process.stdout.write(`▸ ${label} …\n`);
  const result = await run();
  const seconds = (Date.now() - start) / 1000;
  timings.push([label, seconds]);
  process.stdout.write(`  done in ${seconds.toFixed(1)} s\n`);
  return result;
}

/** What a run started, so its failure note can say what became of it. */
interface Started {
  /** The local AWS this run started, until it is handed over with --keep-running. */
  server?: LocalAws;
}

/** The line after the error of a failed run: true to what the run started. */
function failureNote(started: Started, external: string | undefined): string {
  if (started.server) return "npm start failed; the local AWS it started was stopped.";
  if (external !== undefined) return `npm start failed; it started no local AWS (it was given AWS_ENDPOINT_URL=${external}).`;
  return "npm start failed; it started no local AWS.";
}

async function run(flags: Flags, started: Started, external: string | undefined): Promise<void> {
  const root = projectRoot();
  const stopServer = async () => {
    await started.server?.stop();
  };
  process.once("SIGINT", () => void stopServer().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stopServer().then(() => process.exit(143)));

  try {
    // The stack list, once: a config error or a real environment fails here, before anything is started.
    const selection = selectStacks({ env: process.env, cwd: root });
    const envs = selection.environments;
    refuseRealEnvironments(envs);
    const unsupported = localConfigLines(envs, selection.configFile, root);
    if (unsupported.length > 0) throw new ConfigError(unsupported);
    const base = { root, outdir: selection.outdir, configFile: process.env.CONFIG_FILE };
    // The builds' docker (podman) and the builder base use the builds' own container storage.
    const buildEnv = { ...process.env, ...buildsContainerEnv(process.env) };
    if (flags.build) {
      if (!external) localAwsCommand(process.env); // moto missing: said before the builds' tools are made ready
      await step("prepare the builds: their tools and the Go builder base (made once with debootstrap, then reused)", () => prepareBuilds(root, buildEnv, write));
    }
    const endpoint =
      external ??
      (await step("start the local AWS (moto_server)", async () => {
        started.server = await startLocalAws({ env: buildEnv });
        process.stdout.write(`  server pid ${started.server.pid} (process group ${started.server.group}) listening on ${started.server.endpoint}\n`);
        return started.server.endpoint;
      }));
    if (external) process.stdout.write(`▸ using the local AWS at AWS_ENDPOINT_URL=${external} (nothing started)\n`);
    const opts: LocalDeployOptions = { ...base, endpoint, environments: envs.map((e) => e.name).join(",") };
    const stackCount = selection.stacks.length;
    const accounts = new Set(envs.map((e) => e.accountId)).size;
    await step("create the state bucket, lock table and source bundle", () => bootstrap(opts, envs));
    // The deploy path of npm run deploy: synth, plan, review and guard, apply in waves.
    // Beside the synthesized stacks, where npm run deploy keeps them by default (plans/): the reviewed
    // plans, their JSON and the reviews stay for reading after the run.
    const plans = path.join(path.dirname(base.outdir), "plans");
    let deployed: Deployed | undefined;
    const code = await step(`synthesize, plan and deploy ${stackCount} stacks of ${envs.length} environments in ${accounts} accounts (npm run deploy)`, () =>
      runPlan(
        { apply: true, out: plans, allowDestroy: [], allowEmptyState: [], allowLocalEndpoint: false, parallelism: flags.parallelism, stacks: [] },
        { ...process.env, AWS_ENDPOINT_URL: endpoint, ENVIRONMENTS: opts.environments, CDKTF_OUTDIR: base.outdir },
        (line) => process.stdout.write(line),
        { selection, freshEndpoint: started.server !== undefined, onDeployed: (d) => void (deployed = d) },
      ),
    );
    if (code !== 0 || deployed === undefined) throw new Error("the review of the plans blocked the deploy (see the review above)");
    const results: StackResult[] = deployed.waves.flat().map((p) => ({ stack: p.stack, outputs: deployed!.outputs.get(p.stack.name)! }));
    const stacks = results.map((r) => r.stack);
    let images: NonNullable<FirstBuild["image"]>[] = [];
    const organization = deployed.organization;
    const checks = await step("verify through the CodeBuild and ECR APIs", () => Promise.all(results.map((r) => verify(endpoint, r))));
    const reports = await step("verify the topology in each account (ECR, IAM, replication, scanning)", () => verifyTopology(endpoint, envs, organization));
    const wrong = reports.flatMap((r) => r.problems.map((p) => `${r.environment} (${r.accountId}): ${p}`));
    if (wrong.length) throw new Error(`the deployed topology differs from the config:\n${wrong.join("\n")}`);

    process.stdout.write("\nVerification (read back through the API)\n");
    for (const c of checks.filter((x) => x.repository !== undefined || x.projects.length > 0)) {
      process.stdout.write(`  ${c.stack}\n`);
      const r = c.repository;
      if (r) process.stdout.write(`    ECR ${r.name}: tags ${r.tagMutability}, scan on push ${r.scanOnPush}, encryption ${r.encryption}\n`);
      for (const p of c.projects) {
        process.stdout.write(`    CodeBuild ${p.name}: ${p.image}, privileged ${p.privileged}, role ${p.serviceRole}\n`);
      }
    }
    process.stdout.write("\nAccounts (what each holds, read back in that account)\n");
    for (const r of reports) {
      process.stdout.write(`  ${r.accountId} ${r.environment}\n`);
      for (const l of r.lines) process.stdout.write(`    ${l}\n`);
    }
    if (flags.build) {
      const projects: ProjectToBuild[] = checks.flatMap((c, i) => c.projects.map((p) => ({ name: p.name, environment: results[i].stack.environment, region: results[i].stack.region })));
      const builds = await step(`build each of the ${projects.length} projects once on the local AWS (StartBuild: buildspec, podman, push to ECR)`, () => runFirstBuilds(endpoint, projects, envs, write));
      process.stdout.write("\nImages (the first build of each project, read back through ECR)\n");
      for (const l of describeBuilds(builds)) process.stdout.write(`${l}\n`);
      images = builds.flatMap((b) => (b.image ? [b.image] : []));
      const failed = builds.filter((b) => b.image === undefined);
      if (failed.length) throw new Error(`the first build of ${failed.map((b) => `${b.project.name} (${b.status}${b.failure ? `: ${b.failure}` : ""})`).join(", ")} did not push an image (see Images above)`);
    }
    process.stdout.write("\nTimings\n");
    for (const [label, s] of timings) process.stdout.write(`  ${s.toFixed(1).padStart(6)} s  ${label}\n`);
    process.stdout.write(`  ${timings.reduce((a, [, s]) => a + s, 0).toFixed(1).padStart(6)} s  total\n`);

    const server = started.server;
    if (server && flags.keepRunning) {
      const record = writeRecord({ pid: server.pid, group: server.group, port: server.port, endpoint: server.endpoint, stacks: stacks.map((s) => s.name), region: stacks[0].region, log: server.logFile });
      server.detach();
      started.server = undefined;
      process.stdout.write(
        `\nThe local AWS keeps running (server pid ${server.pid}, recorded in ${path.relative(root, record) || record}). Point the AWS CLI at it with:\n` +
          `  ${exportLine(server.endpoint, stacks[0].region)}\n` +
          `  aws codebuild list-projects        # or: npm run -s aws -- list-projects\n` +
          (images.length
            ? `Pull an image it built (podman, through the local AWS, which stands for each account's registry; after the export line above):\n` +
              pullInstructions(server.endpoint, images[0])
                .map((l) => `  ${l}\n`)
                .join("")
            : "") +
          `Note: ${START_BUILD_NOTE}.\n` +
          `Is it up: npm run status\n` +
          `Stop it with: npm stop\n`,
      );
    }
  } finally {
    await stopServer();
  }
}

if (require.main === module) {
  const started: Started = {};
  const external = process.env.AWS_ENDPOINT_URL;
  runCli({
    parse: () => parseFlags(process.argv.slice(2), process.env),
    usage: USAGE,
    run: (flags) => run(flags, started, external),
    // Read after the run failed, so it tells what that run had started.
    get failureNote() {
      return failureNote(started, external);
    },
  });
}
