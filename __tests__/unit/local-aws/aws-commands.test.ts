import { cliArgs, DEFAULT_PROJECT_IMAGE, noteFor, parseArgs, USAGE, type Invocation } from "../../../scripts/local-aws/aws";
import { START_BUILD_NOTE } from "../../../scripts/local-aws/limits";
import { messageOf } from "../../support/synth";

const env = { AWS_REGION: "eu-central-1" };
const parsed = (argv: string[], e: NodeJS.ProcessEnv = env) => parseArgs(argv, e) as Invocation;
const ROLE = "arn:aws:iam::123456789012:role/codebuild-sample";

describe("npm run aws: describe-repositories, describe-images, create-project", () => {
  test("describe-repositories lists every repository, or the named ones", () => {
    expect(cliArgs(parsed(["describe-repositories"]))).toEqual(["ecr", "describe-repositories", "--region", "eu-central-1", "--output", "json"]);
    expect(cliArgs(parsed(["describe-repositories", "--names", "a/b,c"]))).toEqual([
      "ecr", "describe-repositories", "--repository-names", "a/b", "c", "--region", "eu-central-1", "--output", "json",
    ]);
  });

  test("describe-images needs --repository-name", () => {
    expect(cliArgs(parsed(["describe-images", "--repository-name", "codebuild-sample/dckr-push-ecr"]))).toEqual([
      "ecr", "describe-images", "--repository-name", "codebuild-sample/dckr-push-ecr", "--region", "eu-central-1", "--output", "json",
    ]);
    expect(messageOf(() => parseArgs(["describe-images"], env))).toBe("option --repository-name is required for describe-images");
  });

  test("create-project makes an S3-sourced Linux container project, on CodeBuild's standard image unless --image says otherwise", () => {
    const args = cliArgs(parsed(["create-project", "--name", "p1", "--role", ROLE, "--source-bucket", "b", "--source-key", "app/source.zip", "--privileged"]));
    expect(args.slice(0, 4)).toEqual(["codebuild", "create-project", "--name", "p1"]);
    const value = (flag: string) => JSON.parse(args[args.indexOf(flag) + 1]);
    expect(value("--source")).toEqual({ type: "S3", location: "b/app/source.zip" });
    expect(value("--artifacts")).toEqual({ type: "NO_ARTIFACTS" });
    expect(value("--environment")).toEqual({ type: "LINUX_CONTAINER", image: DEFAULT_PROJECT_IMAGE, computeType: "BUILD_GENERAL1_SMALL", privilegedMode: true });
    expect(args[args.indexOf("--service-role") + 1]).toBe(ROLE);
    const other = cliArgs(parsed(["create-project", "--name", "p1", "--role", ROLE, "--source-bucket", "b", "--source-key", "k", "--image", "public.ecr.aws/x:1"]));
    expect(JSON.parse(other[other.indexOf("--environment") + 1])).toMatchObject({ image: "public.ecr.aws/x:1", privilegedMode: false });
  });

  test("create-project refuses a missing option, a role that is not a role ARN and a bad project name, all at once", () => {
    expect(messageOf(() => parseArgs(["create-project", "--name", "-x", "--role", "codebuild", "--source-bucket", "b"], env)).split("\n")).toEqual([
      "option --source-key is required for create-project",
      '--role "codebuild" must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)',
      '--name "-x" must be 2-255 letters, digits, - or _, starting with a letter or digit (CodeBuild project names)',
    ]);
  });
});

describe("start-build on the local AWS", () => {
  const local = { ...env, AWS_ENDPOINT_URL: "http://127.0.0.1:5000" };

  test("start-build and batch-get-builds say what a build on the local AWS does and where the samples' builds stop; real AWS gets no such note", () => {
    expect(noteFor(parsed(["start-build", "--project", "p"], local))).toBe(`note: ${START_BUILD_NOTE}`);
    expect(noteFor(parsed(["batch-get-builds", "--ids", "p:1"], local))).toBe(`note: ${START_BUILD_NOTE}`);
    expect(noteFor(parsed(["start-build", "--project", "p"]))).toBeUndefined();
    expect(noteFor(parsed(["list-projects"], local))).toBeUndefined();
    expect(START_BUILD_NOTE).toMatch(/start-build runs the project's buildspec for real .* stop in BUILD when the Dockerfile's base images are not on this machine/);
  });

  test("the usage says it next to start-build, shows -s and lists the new commands", () => {
    expect(USAGE).toMatch(/^Usage: npm run -s aws -- <command>/);
    expect(USAGE).toContain(`Note: ${START_BUILD_NOTE}.`);
    for (const c of ["describe-repositories", "describe-images --repository-name NAME", "create-project --name NAME"]) expect(USAGE).toContain(c);
  });
});
