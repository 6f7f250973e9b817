import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..", "..");
const SCRIPT = join(ROOT, "scripts", "git", "remotes.sh");
const GITHUB_URL = "https://github.com/example-org/codebuild-sample.git";
const EXPECTED_FORMS =
  "expected https://github.com/<owner>/<repo>.git, git@github.com:<owner>/<repo>.git, " +
  "https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>, " +
  "ssh://git-codecommit.<region>.amazonaws.com/v1/repos/<name>, codecommit::<region>://<name>, " +
  "or a path/file:// URL of an existing git repository";
const badUrl = (url: string) =>
  `error: URL "${url}" is not a GitHub, CodeCommit or local repository URL (${EXPECTED_FORMS})`;

/** A work tree with one commit plus two bare repositories standing in for GitHub and CodeCommit. */
interface Fixture {
  readonly dir: string;
  readonly workTree: string;
  readonly github: string;
  readonly codecommit: string;
  readonly plainDir: string;
}

let fixture: Fixture;
let env: NodeJS.ProcessEnv;

/** The caller's GIT_* variables (e.g. from a hook) and global config must not leak into the repos. */
function isolatedEnv(home: string): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("GIT_")));
  return {
    ...clean,
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.com",
  };
}

function git(args: string[], cwd: string = fixture.workTree): string {
  const result = spawnSync("git", args, { cwd, env, encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`git ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout.trim();
}

function run(args: string[], cwd: string = fixture.workTree): SpawnSyncReturns<string> {
  return spawnSync("bash", [SCRIPT, ...args], { cwd, env, encoding: "utf8" });
}

function pushUrls(remote = "origin"): string[] {
  const result = spawnSync("git", ["config", "--get-all", `remote.${remote}.pushurl`], {
    cwd: fixture.workTree,
    env,
    encoding: "utf8",
  });
  return result.stdout.split("\n").filter((line) => line !== "");
}

const gitConfig = () => readFileSync(join(fixture.workTree, ".git", "config"), "utf8");

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), "git-remotes-"));
  env = isolatedEnv(dir);
  const workTree = join(dir, "app");
  const github = join(dir, "github.git");
  const codecommit = join(dir, "codecommit.git");
  const plainDir = join(dir, "not-a-repo");
  mkdirSync(workTree);
  mkdirSync(plainDir);
  fixture = { dir, workTree, github, codecommit, plainDir };
  git(["init", "-q", "-b", "main"], workTree);
  git(["commit", "-q", "--allow-empty", "-m", "first"], workTree);
  git(["remote", "add", "origin", GITHUB_URL], workTree);
  git(["init", "-q", "--bare", github], dir);
  git(["init", "-q", "--bare", codecommit], dir);
});

afterEach(() => {
  rmSync(fixture.dir, { recursive: true, force: true });
});

describe("scripts/git/remotes.sh", () => {
  test("a commit pushed to origin arrives in both repositories given", () => {
    // GIVEN
    expect(run([fixture.github, fixture.codecommit]).status).toBe(0);
    git(["commit", "-q", "--allow-empty", "-m", "second"]);
    const head = git(["rev-parse", "HEAD"]);

    // WHEN
    git(["push", "-q", "origin", "HEAD:main"]);

    // THEN
    expect(git(["--git-dir", fixture.github, "rev-parse", "main"], fixture.dir)).toBe(head);
    expect(git(["--git-dir", fixture.codecommit, "rev-parse", "main"], fixture.dir)).toBe(head);
  });

  test("the push URLs become exactly the URLs given, in the given order", () => {
    // WHEN
    const result = run([fixture.codecommit, fixture.github]);

    // THEN
    expect(result).toMatchObject({ status: 0, stdout: 'remote "origin" now pushes to 2 URL(s)\n', stderr: "" });
    expect(pushUrls()).toEqual([fixture.codecommit, fixture.github]);
  });

  test("the fetch URL of an existing remote stays as it is", () => {
    // WHEN
    run([fixture.github, fixture.codecommit]);

    // THEN
    expect(git(["config", "--get-all", "remote.origin.url"])).toBe(GITHUB_URL);
  });

  test("a missing remote is created with the first URL as its fetch URL", () => {
    // GIVEN
    git(["remote", "remove", "origin"]);

    // WHEN
    const result = run([fixture.github, fixture.codecommit]);

    // THEN
    expect(result.status).toBe(0);
    expect(git(["config", "--get-all", "remote.origin.url"])).toBe(fixture.github);
    expect(pushUrls()).toEqual([fixture.github, fixture.codecommit]);
  });

  test("running twice with the same URLs leaves the config identical", () => {
    // GIVEN
    run([fixture.github, fixture.codecommit]);
    const urlsAfterFirstRun = pushUrls();
    const configAfterFirstRun = gitConfig();

    // WHEN
    const result = run([fixture.github, fixture.codecommit]);

    // THEN
    expect(result).toMatchObject({
      status: 0,
      stdout: 'remote "origin" already pushes to these 2 URL(s); nothing changed\n',
    });
    expect(pushUrls()).toEqual(urlsAfterFirstRun);
    expect(gitConfig()).toBe(configAfterFirstRun);
  });

  test("a changed list replaces the push URLs exactly", () => {
    // GIVEN
    run([fixture.github, fixture.codecommit]);

    // WHEN
    const result = run([fixture.codecommit, GITHUB_URL]);

    // THEN
    expect(result.status).toBe(0);
    expect(pushUrls()).toEqual([fixture.codecommit, GITHUB_URL]);
  });

  test("GitHub and CodeCommit URL forms are accepted", () => {
    // GIVEN
    const urls = [
      "https://github.com/example-org/codebuild-sample.git",
      "git@github.com:example-org/codebuild-sample.git",
      "https://git-codecommit.eu-central-1.amazonaws.com/v1/repos/codebuild-sample",
      "ssh://git-codecommit.us-gov-west-1.amazonaws.com/v1/repos/codebuild_sample.v2",
      "codecommit::ap-southeast-2://codebuild-sample",
    ];

    // WHEN
    const result = run(urls);

    // THEN
    expect(result).toMatchObject({ status: 0, stderr: "" });
    expect(pushUrls()).toEqual(urls);
  });

  test("a relative path is stored as an absolute path and a file:// URL as given", () => {
    // WHEN
    const result = run(["--repo", "app", "github.git", `file://${fixture.codecommit}`], fixture.dir);

    // THEN
    expect(result.status).toBe(0);
    expect(pushUrls()).toEqual([fixture.github, `file://${fixture.codecommit}`]);
  });

  test("--repo configures that work tree whatever the current directory", () => {
    // WHEN
    const result = run(["--repo", fixture.workTree, fixture.github], fixture.plainDir);

    // THEN
    expect(result.status).toBe(0);
    expect(pushUrls()).toEqual([fixture.github]);
  });

  test("--remote configures that remote and leaves origin alone", () => {
    // GIVEN
    const originBefore = gitConfig().match(/\[remote "origin"\][^[]*/)?.[0];

    // WHEN
    const result = run(["--remote", "mirror", fixture.github, fixture.codecommit]);

    // THEN
    expect(result.status).toBe(0);
    expect(git(["config", "--get-all", "remote.mirror.url"])).toBe(fixture.github);
    expect(pushUrls("mirror")).toEqual([fixture.github, fixture.codecommit]);
    expect(pushUrls("origin")).toEqual([]);
    expect(gitConfig().match(/\[remote "origin"\][^[]*/)?.[0]).toBe(originBefore);
  });

  test("--list prints the fetch URL and the push URLs", () => {
    // GIVEN
    run([fixture.github, fixture.codecommit]);

    // WHEN
    const result = run(["--list"]);

    // THEN
    expect(result).toMatchObject({
      status: 0,
      stdout: `fetch\t${GITHUB_URL}\npush\t${fixture.github}\npush\t${fixture.codecommit}\n`,
      stderr: "",
    });
  });

  test("--list without push URLs shows that pushes go to the fetch URL", () => {
    // WHEN
    const result = run(["--list"]);

    // THEN
    expect(result).toMatchObject({ status: 0, stdout: `fetch\t${GITHUB_URL}\npush\t${GITHUB_URL}\n` });
  });

  test("--help prints the usage and changes nothing", () => {
    // GIVEN
    const before = gitConfig();

    // WHEN
    const result = run(["--help"]);

    // THEN
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      "Usage: scripts/git/remotes.sh [--repo DIR] [--remote NAME] [--list] URL [URL...]\n",
    );
    expect(gitConfig()).toBe(before);
  });

  const refusals: ReadonlyArray<{ name: string; args: (f: Fixture) => string[]; stderr: (f: Fixture) => string[] }> = [
    {
      name: "a GitLab URL is refused",
      args: (f) => ["https://gitlab.com/example-org/app.git", f.github],
      stderr: () => [badUrl("https://gitlab.com/example-org/app.git")],
    },
    {
      name: "a GitHub URL without .git is refused",
      args: () => ["https://github.com/example-org/app"],
      stderr: () => [badUrl("https://github.com/example-org/app")],
    },
    {
      name: "a CodeCommit URL with a malformed region is refused",
      args: () => ["https://git-codecommit.Frankfurt.amazonaws.com/v1/repos/app"],
      stderr: () => [badUrl("https://git-codecommit.Frankfurt.amazonaws.com/v1/repos/app")],
    },
    {
      name: "a CodeCommit repository name ending in .git is refused",
      args: () => ["codecommit::eu-central-1://app.git"],
      stderr: () => [badUrl("codecommit::eu-central-1://app.git")],
    },
    {
      name: "a path that does not exist is refused",
      args: (f) => [join(f.dir, "missing.git")],
      stderr: (f) => [badUrl(join(f.dir, "missing.git"))],
    },
    {
      name: "a directory that is not a git repository is refused",
      args: (f) => [f.plainDir],
      stderr: (f) => [badUrl(f.plainDir)],
    },
    {
      name: "an empty URL is refused",
      args: () => [""],
      stderr: () => [badUrl("")],
    },
    {
      name: "a URL given twice is refused",
      args: (f) => [f.github, f.codecommit, f.github],
      stderr: (f) => [`error: URL "${f.github}" is given more than once`],
    },
    {
      name: "two paths to the same repository are refused",
      // path.join would normalise the "..", which is the point here.
      args: (f) => [f.github, `${f.workTree}/../github.git`],
      stderr: (f) => [`error: URL "${f.workTree}/../github.git" is the same repository as URL "${f.github}"`],
    },
    {
      name: "no URL is refused",
      args: () => [],
      stderr: () => ["error: no URL given (usage: scripts/git/remotes.sh [--repo DIR] [--remote NAME] [--list] URL [URL...])"],
    },
    {
      name: "a --repo that is not a git work tree is refused",
      args: (f) => ["--repo", f.plainDir, f.github],
      stderr: (f) => [`error: --repo "${f.plainDir}" is not a git work tree`],
    },
    {
      name: "an unknown option is refused",
      args: (f) => ["--force", f.github],
      stderr: () => ['error: unknown option "--force" (known: --repo, --remote, --list, --help)'],
    },
    {
      name: "an option without its value is refused",
      args: (f) => [f.github, "--remote"],
      stderr: () => ["error: option --remote needs a value"],
    },
    {
      name: "an invalid remote name is refused",
      args: (f) => ["--remote", "my remote", f.github],
      stderr: () => ['error: --remote "my remote" is not a valid remote name'],
    },
    {
      name: "--list of a remote that does not exist is refused",
      args: () => ["--list", "--remote", "mirror"],
      stderr: (f) => [`error: remote "mirror" does not exist in "${f.workTree}"`],
    },
    {
      name: "all problems are reported together, one line each",
      args: (f) => ["--force", "https://gitlab.com/example-org/app.git", f.github, f.github],
      stderr: (f) => [
        'error: unknown option "--force" (known: --repo, --remote, --list, --help)',
        badUrl("https://gitlab.com/example-org/app.git"),
        `error: URL "${f.github}" is given more than once`,
      ],
    },
  ];

  test.each(refusals)("$name, exit 2 and the config untouched", ({ args, stderr }) => {
    // GIVEN
    git(["remote", "set-url", "--add", "--push", "origin", GITHUB_URL]);
    const before = gitConfig();

    // WHEN
    const result = run(args(fixture));

    // THEN
    expect(result).toMatchObject({ status: 2, stdout: "", stderr: stderr(fixture).map((line) => `${line}\n`).join("") });
    expect(gitConfig()).toBe(before);
  });

  test("the current directory that is not a git work tree is refused", () => {
    // WHEN
    const result = run([fixture.github], fixture.plainDir);

    // THEN
    expect(result).toMatchObject({
      status: 2,
      stderr: `error: the current directory "${fixture.plainDir}" is not a git work tree (pass --repo DIR)\n`,
    });
  });

  test("the script passes shellcheck", () => {
    // WHEN
    const result = spawnSync("shellcheck", ["scripts/git/remotes.sh"], { cwd: ROOT, encoding: "utf8" });

    // THEN
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
      throw new Error("shellcheck is not installed: apt-get install -y shellcheck");
    }
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: "" });
  });
});
