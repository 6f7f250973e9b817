import * as path from "path";
import { projectRoot } from "../../config/environments";
import { runCli, walkFlags } from "../shared/cli";
import { exportLine, stateDirProblem, STATE_DIR_VARIABLE, writeRecord } from "./kept";
import { LOCAL_BASE_IMAGES, prepareBuilds } from "./first-builds";
import { MINUTE_VARIABLE } from "./limits";
import { buildsContainerEnv } from "./container-storage";
import { localAwsCommand, portInUse, startLocalAws } from "./server";

export const USAGE = `Usage: npm run local-aws [-- --port N] [--region R] [--no-build]

Starts the local AWS for your own CDKTF app and leaves it running: moto's server with this
project's additions (CodeBuild builds that really run, each account's ECR registry, CloudWatch
Logs), on 127.0.0.1. It deploys nothing. It prints the endpoint and the credentials to export;
\`cdktf deploy\` (providers with endpoints and, for another account, assume_role) and the AWS CLI
then work against it. \`npm run status\` shows it, \`npm stop\` stops it. First it makes this
machine ready for builds, as npm start does: their tools (apt-get as root) and the Go builder base
(made once with debootstrap, in the builds' own container storage).

  --port N     listen on port N (1024 to 65535; default: a free port)
  --region R   the region of the printed AWS_DEFAULT_REGION (default eu-central-1)
  --no-build   start the server only: no builds' tools, no builder base
  --help       this text

Environment: LOCAL_AWS_PYTHON (the Python 3 that has moto[server], default python3),
${STATE_DIR_VARIABLE} (where the server is recorded, default .local-aws/), CONTAINERS_STORAGE_CONF
(the builds' container storage; default: their own, in ~/.cache/codebuild-docker-modules),
${MINUTE_VARIABLE}.`;

interface Flags {
  readonly port?: number;
  readonly region: string;
  /** Make the machine ready for builds first. */
  readonly build: boolean;
}

/** Parses the flags; one line per problem. */
export function parseUpFlags(argv: string[], env: NodeJS.ProcessEnv = {}): Flags | "help" {
  const problems: string[] = [];
  let port: number | undefined;
  let region = "eu-central-1";
  let build = true;
  const help = walkFlags(argv, problems, (flag, value) => {
    if (flag === "--port") {
      const v = value();
      if (v === undefined) return;
      if (!/^\d+$/.test(v) || Number(v) < 1024 || Number(v) > 65535) problems.push(`--port ${JSON.stringify(v)} is not a port from 1024 to 65535`);
      else port = Number(v);
    } else if (flag === "--region") {
      const v = value();
      if (v === undefined) return;
      if (!/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/.test(v)) problems.push(`--region ${JSON.stringify(v)} is not an AWS region name (e.g. eu-central-1)`);
      else region = v;
    } else if (flag === "--no-build") build = false;
    else problems.push(`unknown flag ${JSON.stringify(flag)} (known: --port, --region, --no-build, --help)`);
  });
  if (help) return "help";
  const dir = stateDirProblem(env);
  if (dir) problems.push(dir);
  if (problems.length) throw new Error(problems.join("\n"));
  return { port, region, build };
}

/** Starts the local AWS, records it as kept running, and prints how to use it. */
export async function up(flags: Flags, env: NodeJS.ProcessEnv = process.env, log: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  const taken = () => new Error(`port ${flags.port} is taken: choose another with --port, or leave it out for a free one`);
  if (flags.port !== undefined && (await portInUse(flags.port))) throw taken();
  const buildEnv = { ...env, ...buildsContainerEnv(env) };
  if (flags.build) {
    localAwsCommand(env); // moto missing: said before the builds' tools are made ready
    log("▸ prepare the builds: their tools and the Go builder base (made once with debootstrap, then reused) …\n");
    await prepareBuilds(projectRoot(), buildEnv, log);
  }
  log("▸ start the local AWS …\n");
  const server = await startLocalAws({ port: flags.port, env: buildEnv });
  if (flags.port !== undefined && server.port !== flags.port) {
    await server.stop(); // taken meanwhile
    throw taken();
  }
  const record = writeRecord({ pid: server.pid, group: server.group, port: server.port, endpoint: server.endpoint, stacks: [], region: flags.region, log: server.logFile }, env);
  server.detach();
  const overrides = Object.entries(LOCAL_BASE_IMAGES).map(([name, value]) => `name=${name},value=${value},type=PLAINTEXT`).join(" ");
  log(
    `The local AWS runs at ${server.endpoint} (server pid ${server.pid}, recorded in ${path.relative(projectRoot(), record) || record}). Point your tools at it:\n` +
      `  ${exportLine(server.endpoint, flags.region)}\n` +
      `Accounts: these credentials act in account 123456789012; a provider's assume_role (arn:aws:iam::<account>:role/<name>) acts in <account>.\n` +
      `Providers: give the AWS provider endpoints for the services your stacks use (codebuild, ecr, iam, logs, s3, ssm, sts, …) = ${server.endpoint}\n` +
      `  and skip_metadata_api_check = true, skip_region_validation = true (docs/modules.md, "Your app on the local AWS").\n` +
      `Builds: start-build runs the project for real (privileged: docker is podman); the local AWS reaches no network, so a Dockerfile's\n` +
      `  base images come from this machine${flags.build ? "" : " (start without --no-build to make the Go builder base)"}, and a GitHub source from an S3 zip:\n` +
      `  aws codebuild start-build --project-name <project> --source-type-override S3 --source-location-override <bucket>/<key.zip> \\\n` +
      `    --environment-variables-override ${overrides}\n` +
      `Is it up: npm run status\n` +
      `Stop it:  npm stop\n`,
  );
  return 0;
}

if (require.main === module) {
  runCli({ parse: () => parseUpFlags(process.argv.slice(2), process.env), usage: USAGE, run: (flags) => up(flags) });
}
