import { spawn } from "child_process";
import { AwsTarget, localAwsEnv } from "./clients";
import { runCli } from "../shared/cli";
import { START_BUILD_NOTE } from "./limits";

/** The image create-project uses when --image is not given: CodeBuild's standard Linux image. */
export const DEFAULT_PROJECT_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0";

/**
 * The API calls of the samples' bash script, made like the samples make them (the AWS CLI),
 * against the local AWS (when AWS_ENDPOINT_URL is set) or real AWS (otherwise, with the default
 * credential chain) by the same switch. Arguments are validated before anything is called.
 */
export const USAGE = `Usage: npm run -s aws -- <command> [options]

Commands (the samples' API calls):
  list-projects                          CodeBuild ListProjects
  batch-get-projects --names a[,b…]      CodeBuild BatchGetProjects
  create-project --name NAME --role ROLE_ARN [--image IMAGE] [--privileged]
                 --source-bucket BUCKET --source-key KEY
                                         CodeBuild CreateProject: an S3-sourced, Linux
                                         container project (image default
                                         ${DEFAULT_PROJECT_IMAGE})
  start-build --project NAME             CodeBuild StartBuild (prints the build)
  batch-get-builds --ids id1[,id2…]      CodeBuild BatchGetBuilds
  describe-repositories [--names a[,b…]] ECR DescribeRepositories (default: every repository)
  describe-images --repository-name NAME ECR DescribeImages
  ecr-get-login-password                 ECR GetAuthorizationToken, the password only, for
                                         \`… | docker login --username AWS --password-stdin <registry>\`
Options:
  --region REGION   default: AWS_REGION, else AWS_DEFAULT_REGION
  --help            this text

Target: the local AWS when AWS_ENDPOINT_URL is set (test credentials), else real AWS.
-s keeps npm's banner out of the output (it matters when the output is piped).

Note: ${START_BUILD_NOTE}. start-build and batch-get-builds say so on stderr there.`;

const COMMANDS = [
  "list-projects",
  "batch-get-projects",
  "create-project",
  "start-build",
  "batch-get-builds",
  "describe-repositories",
  "describe-images",
  "ecr-get-login-password",
] as const;
type Command = (typeof COMMANDS)[number];
/** Each command's options: required ones, optional ones with a value, and switches (no value). */
const OPTIONS: Record<Command, { required: string[]; optional?: string[]; switches?: string[] }> = {
  "list-projects": { required: [] },
  "batch-get-projects": { required: ["--names"] },
  "create-project": { required: ["--name", "--role", "--source-bucket", "--source-key"], optional: ["--image"], switches: ["--privileged"] },
  "start-build": { required: ["--project"] },
  "batch-get-builds": { required: ["--ids"] },
  "describe-repositories": { required: [], optional: ["--names"] },
  "describe-images": { required: ["--repository-name"] },
  "ecr-get-login-password": { required: [] },
};

/** A parsed command line. */
export interface Invocation {
  readonly command: Command;
  readonly options: Record<string, string>;
  readonly target: AwsTarget;
}

/** Parses argv; throws one line per problem (what, the value, the rule). */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Invocation | "help" {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h") return "help";
  const problems: string[] = [];
  const [command, ...rest] = argv;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new Error(`command ${JSON.stringify(command)} is unknown (known: ${COMMANDS.join(", ")})`);
  }
  const spec = OPTIONS[command as Command];
  const switches = spec.switches ?? [];
  const allowed = [...spec.required, ...(spec.optional ?? []), ...switches, "--region"];
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (switches.includes(flag)) {
      options[flag] = "true";
      continue;
    }
    const value = rest[i + 1];
    const hasValue = value !== undefined && !value.startsWith("--");
    if (hasValue) i++;
    if (!allowed.includes(flag)) {
      problems.push(`option ${JSON.stringify(flag)} is unknown for ${command} (known: ${allowed.join(", ")})`);
    } else if (!hasValue) {
      problems.push(`option ${flag} needs a value`);
      options[flag] = "";
    } else {
      options[flag] = value;
    }
  }
  for (const required of spec.required) {
    if (!(required in options)) problems.push(`option ${required} is required for ${command}`);
  }
  const role = options["--role"];
  if (role && !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(role)) {
    problems.push(`--role ${JSON.stringify(role)} must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)`);
  }
  const name = options["--name"];
  if (name && !/^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/.test(name)) {
    problems.push(`--name ${JSON.stringify(name)} must be 2-255 letters, digits, - or _, starting with a letter or digit (CodeBuild project names)`);
  }
  const region = options["--region"] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined) problems.push("no region: pass --region REGION or set AWS_REGION");
  else if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) problems.push(`--region ${JSON.stringify(region)} is not an AWS region name (e.g. eu-central-1)`);
  const endpoint = env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(endpoint)) {
    problems.push(`AWS_ENDPOINT_URL ${JSON.stringify(endpoint)} must be an http(s) URL such as http://127.0.0.1:5000`);
  }
  if (problems.length) throw new Error(problems.join("\n"));
  return { command: command as Command, options, target: { region: region as string, endpoint } };
}

const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);

/** The AWS CLI arguments of a command. */
export function cliArgs(inv: Invocation): string[] {
  const region = ["--region", inv.target.region];
  switch (inv.command) {
    case "list-projects":
      return ["codebuild", "list-projects", ...region, "--output", "json"];
    case "batch-get-projects":
      return ["codebuild", "batch-get-projects", "--names", ...list(inv.options["--names"]), ...region, "--output", "json"];
    case "start-build":
      return ["codebuild", "start-build", "--project-name", inv.options["--project"], ...region, "--output", "json"];
    case "batch-get-builds":
      return ["codebuild", "batch-get-builds", "--ids", ...list(inv.options["--ids"]), ...region, "--output", "json"];
    case "create-project": {
      const o = inv.options;
      const environment = {
        type: "LINUX_CONTAINER",
        image: o["--image"] ?? DEFAULT_PROJECT_IMAGE,
        computeType: "BUILD_GENERAL1_SMALL",
        privilegedMode: o["--privileged"] === "true",
      };
      return [
        "codebuild", "create-project", "--name", o["--name"],
        "--source", JSON.stringify({ type: "S3", location: `${o["--source-bucket"]}/${o["--source-key"]}` }),
        "--artifacts", JSON.stringify({ type: "NO_ARTIFACTS" }),
        "--environment", JSON.stringify(environment),
        "--service-role", o["--role"],
        ...region, "--output", "json",
      ];
    }
    case "describe-repositories": {
      const names = inv.options["--names"];
      return ["ecr", "describe-repositories", ...(names ? ["--repository-names", ...list(names)] : []), ...region, "--output", "json"];
    }
    case "describe-images":
      return ["ecr", "describe-images", "--repository-name", inv.options["--repository-name"], ...region, "--output", "json"];
    case "ecr-get-login-password":
      return ["ecr", "get-login-password", ...region];
  }
}

/** The line printed on stderr with the answer of a command, when there is something to know about it. */
export function noteFor(inv: Invocation): string | undefined {
  const local = inv.target.endpoint !== undefined;
  if (local && (inv.command === "start-build" || inv.command === "batch-get-builds")) return `note: ${START_BUILD_NOTE}`;
  return undefined;
}

/** Runs one command with the AWS CLI and returns what it printed; throws with its error text. */
export function execute(inv: Invocation, base: NodeJS.ProcessEnv = process.env): Promise<string> {
  const env = inv.target.endpoint === undefined ? base : { ...base, ...localAwsEnv(inv.target.endpoint, inv.target.region) };
  return new Promise((resolve, reject) => {
    const child = spawn(base.AWS_CLI ?? "aws", cliArgs(inv), { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", () =>
      reject(new Error("the AWS CLI (aws) was not found: install it with `pip install awscli` or `apt-get install awscli`, or set AWS_CLI")),
    );
    child.on("close", (code) => (code === 0 ? resolve(out.trimEnd()) : reject(new Error(err.trim() || `aws exited with ${code}`))));
  });
}

if (require.main === module) {
  runCli({
    parse: () => parseArgs(process.argv.slice(2)),
    usage: USAGE,
    run: async (inv) => {
      process.stdout.write(`${await execute(inv)}\n`);
      const note = noteFor(inv);
      if (note) process.stderr.write(`${note}\n`);
    },
  });
}
