import { cliArgs, parseArgs, type Invocation } from "../../../scripts/local-aws/aws";
import { parseFlags } from "../../../scripts/local-aws/start";
import { messageOf } from "../../support/synth";

const env = { AWS_REGION: "eu-central-1" };
const parsed = (argv: string[], e: NodeJS.ProcessEnv = env) => parseArgs(argv, e) as Invocation;

describe("npm run aws (the samples' API calls)", () => {
  test.each([
    [["list-projects"], ["codebuild", "list-projects", "--region", "eu-central-1", "--output", "json"]],
    [["batch-get-projects", "--names", "a,b"], ["codebuild", "batch-get-projects", "--names", "a", "b", "--region", "eu-central-1", "--output", "json"]],
    [["start-build", "--project", "p"], ["codebuild", "start-build", "--project-name", "p", "--region", "eu-central-1", "--output", "json"]],
    [["batch-get-builds", "--ids", "p:1"], ["codebuild", "batch-get-builds", "--ids", "p:1", "--region", "eu-central-1", "--output", "json"]],
    [["ecr-get-login-password", "--region", "us-east-1"], ["ecr", "get-login-password", "--region", "us-east-1"]],
  ])("%j runs aws %j", (argv, expected) => {
    expect(cliArgs(parsed(argv))).toEqual(expected);
  });

  test("targets the local AWS when AWS_ENDPOINT_URL is set, real AWS otherwise", () => {
    expect(parsed(["list-projects"], { ...env, AWS_ENDPOINT_URL: "http://127.0.0.1:5000" }).target).toEqual({
      region: "eu-central-1",
      endpoint: "http://127.0.0.1:5000",
    });
    expect(parsed(["list-projects"]).target).toEqual({ region: "eu-central-1", endpoint: undefined });
  });

  test("no arguments or --help asks for the usage", () => {
    expect(parseArgs([], env)).toBe("help");
    expect(parseArgs(["--help"], env)).toBe("help");
  });

  test.each([
    [
      ["deploy"],
      `command "deploy" is unknown (known: list-projects, batch-get-projects, create-project, start-build, batch-get-builds, describe-repositories, describe-images, ecr-get-login-password)`,
    ],
    [["start-build"], "option --project is required for start-build"],
    [["start-build", "--project"], "option --project needs a value"],
    [["list-projects", "--names", "a"], `option "--names" is unknown for list-projects (known: --region)`],
    [["list-projects", "--region", "Europe"], `--region "Europe" is not an AWS region name (e.g. eu-central-1)`],
  ])("%j is refused: %s", (argv, message) => {
    expect(messageOf(() => parseArgs(argv, env))).toBe(message);
  });

  test("a missing region is refused", () => {
    expect(messageOf(() => parseArgs(["list-projects"], {}))).toBe("no region: pass --region REGION or set AWS_REGION");
  });

  test("a malformed AWS_ENDPOINT_URL is refused", () => {
    expect(messageOf(() => parseArgs(["list-projects"], { ...env, AWS_ENDPOINT_URL: "moto" }))).toBe(
      `AWS_ENDPOINT_URL "moto" must be an http(s) URL such as http://127.0.0.1:5000`,
    );
  });

  test("all problems are reported together", () => {
    expect(messageOf(() => parseArgs(["start-build", "--x", "1"], {})).split("\n")).toEqual([
      `option "--x" is unknown for start-build (known: --project, --region)`,
      "option --project is required for start-build",
      "no region: pass --region REGION or set AWS_REGION",
    ]);
  });
});

describe("npm start flags", () => {
  test("--keep-running and --help are the flags", () => {
    expect(parseFlags([])).toEqual({ keepRunning: false, build: true, parallelism: undefined });
    expect(parseFlags(["--keep-running"])).toEqual({ keepRunning: true, build: true, parallelism: undefined });
    expect(parseFlags(["--no-build"])).toEqual({ keepRunning: false, build: false, parallelism: undefined });
    expect(parseFlags(["--help"])).toBe("help");
  });

  test("each unknown flag is one line", () => {
    expect(messageOf(() => parseFlags(["--keep", "-v"]))).toBe(
      'unknown flag "--keep" (known: --keep-running, --no-build, --parallelism, --help)\nunknown flag "-v" (known: --keep-running, --no-build, --parallelism, --help)',
    );
  });
});
