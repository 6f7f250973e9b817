import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { BuildResult, parseBuildspec, runBuildspec, RunBuildspecOptions } from "../../../scripts/build-runner/runner";
import { tempDir } from "../../support/app";

/** A version 0.2 buildspec as YAML, from the sections given. */
function spec(sections: Record<string, unknown>): string {
  return stringify({ version: 0.2, ...sections });
}

/** Runs a buildspec in a fresh source folder (or `srcDir`), with only PATH from this process. */
function run(buildspec: string, opts: Partial<RunBuildspecOptions> = {}): Promise<BuildResult> {
  return runBuildspec({ buildspec, srcDir: opts.srcDir ?? tempDir("buildspec-src"), baseEnv: { PATH: process.env.PATH }, ...opts });
}

/** What the commands printed: the output without the runner's `[Container]` lines. */
function printed(result: BuildResult): string[] {
  return result.output.split("\n").filter((l) => l !== "" && !l.startsWith("[Container]"));
}

const statuses = (result: BuildResult) => result.phases.map((p) => p.status);
const phase = (result: BuildResult, name: string) => result.phases.find((p) => p.name === name);

/** Whether a process is still running (a zombie, waiting to be reaped, is not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("runBuildspec", () => {
  describe("one shell for the whole build", () => {
    test("commands run in order, and a variable and the folder set in install are still there in post_build", async () => {
      // GIVEN a source folder with a subfolder
      const srcDir = tempDir("buildspec-src");
      fs.mkdirSync(path.join(srcDir, "sub"));
      // WHEN install sets an unexported variable and changes folder
      const result = await run(
        spec({
          phases: {
            install: { commands: ["echo one", "GREETING=from-install", "cd sub"] },
            pre_build: { commands: ["echo two"] },
            build: { commands: ["echo three"] },
            post_build: { commands: ['echo "$GREETING in $(basename "$PWD")"'] },
          },
        }),
        { srcDir },
      );
      // THEN every phase ran, in order, in the same shell
      expect(statuses(result)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
      expect(printed(result)).toEqual(["one", "two", "three", "from-install in sub"]);
      expect(result.succeeded).toBe(true);
    });

    test("a YAML block (|) runs as one multi-line command", async () => {
      const result = await run(
        [
          "version: 0.2",
          "phases:",
          "  build:",
          "    commands:",
          "      - |",
          "        for n in 1 2; do",
          '          echo "line $n"',
          "        done",
          "        cat <<EOF",
          "        heredoc",
          "        EOF",
          "      - echo after",
          "",
        ].join("\n"),
      );
      expect(printed(result)).toEqual(["line 1", "line 2", "heredoc", "after"]);
      expect(result.succeeded).toBe(true);
    });

    test("a command that reads stdin gets end of file and does not eat the commands after it", async () => {
      const result = await run(spec({ phases: { build: { commands: ["cat", "head -c 1", "echo still-here"] } } }));
      expect(printed(result)).toEqual(["still-here"]);
      expect(result.succeeded).toBe(true);
    });

    test("a command with a syntax error fails without swallowing the rest of the build", async () => {
      const result = await run(
        spec({ phases: { build: { commands: ['echo "unterminated', "echo skipped"] }, post_build: { commands: ["echo post"] } } }),
      );
      expect(phase(result, "build")).toEqual({ name: "build", status: "FAILED", failedCommand: 'echo "unterminated', exitCode: 2 });
      expect(printed(result)).toContain("post");
      expect(printed(result)).not.toContain("skipped");
    });

    test("a command of only comments succeeds", async () => {
      const result = await run(spec({ phases: { build: { commands: ["# nothing to do", "echo done"] } } }));
      expect(result.succeeded).toBe(true);
      expect(printed(result)).toEqual(["done"]);
    });

    test("background processes of the build are killed when it ends", async () => {
      const srcDir = tempDir("buildspec-src");
      const result = await run(spec({ phases: { install: { commands: ["sleep 60 & echo $! > bg.pid"] } } }), { srcDir });
      expect(result.succeeded).toBe(true);
      expect(alive(Number(fs.readFileSync(path.join(srcDir, "bg.pid"), "utf8")))).toBe(false);
    });

    test("log gets every line of the output as it comes", async () => {
      const lines: string[] = [];
      const result = await run(spec({ phases: { build: { commands: ["echo out", "echo err >&2"] } } }), { log: (l) => lines.push(l) });
      expect(lines).toContain("out");
      expect(lines).toContain("err");
      expect(lines).toContain("[Container] Running command echo out");
      expect(lines.join("\n") + "\n").toBe(result.output);
    });
  });

  describe("env.shell", () => {
    const bashTest = { commands: ["[[ a == a ]] && echo bash-syntax"] };

    test("defaults to sh, where [[ is not a command", async () => {
      const result = await run(spec({ phases: { build: bashTest } }));
      expect(phase(result, "build")).toMatchObject({ status: "FAILED", exitCode: 127 });
    });

    test.each(["sh", "/bin/sh"])("%s is /bin/sh, where [[ is not a command", async (shell) => {
      const result = await run(spec({ env: { shell }, phases: { build: bashTest } }));
      expect(phase(result, "build")).toMatchObject({ status: "FAILED", exitCode: 127 });
    });

    test("bash runs bash syntax", async () => {
      const result = await run(spec({ env: { shell: "bash" }, phases: { build: bashTest } }));
      expect(result.succeeded).toBe(true);
      expect(printed(result)).toEqual(["bash-syntax"]);
    });
  });

  describe("environment variables", () => {
    test("the project's variables override the buildspec's, which override the base environment; values are literal", async () => {
      // GIVEN a variable defined in all three places, and one in two
      const result = await run(
        spec({
          env: { variables: { ALL: "buildspec", SPEC_BASE: "buildspec", LITERAL: "$PATH:/extra", NUMBER: 8080 } },
          phases: { build: { commands: ['echo "$ALL $SPEC_BASE $BASE_ONLY $LITERAL $NUMBER"'] } },
        }),
        {
          env: { ALL: "project" },
          baseEnv: { PATH: process.env.PATH, ALL: "base", SPEC_BASE: "base", BASE_ONLY: "base" },
        },
      );
      // THEN start build > project > buildspec > image (build-spec-ref, env/variables)
      expect(printed(result)).toEqual(["project buildspec base $PATH:/extra 8080"]);
    });

    test("the CodeBuild variables describe the build, with the commit of the source's Git repository", async () => {
      // GIVEN a source folder that is a Git repository with one commit
      const srcDir = tempDir("buildspec-git");
      const git = (...args: string[]) => execFileSync("git", args, { cwd: srcDir, encoding: "utf8" }).trim();
      git("init", "-q");
      fs.writeFileSync(path.join(srcDir, "README"), "x\n");
      git("add", "README");
      git("-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "first");
      const head = git("rev-parse", "HEAD");
      const before = Date.now();
      // WHEN the build prints its CODEBUILD_ variables
      const result = await run(spec({ phases: { build: { commands: ["env | grep -E '^(CODEBUILD_|AWS_)' | sort"] } } }), {
        srcDir,
        baseEnv: { PATH: process.env.PATH, AWS_DEFAULT_REGION: "eu-central-1", CODEBUILD_WEBHOOK_EVENT: "PUSH" },
      });
      // THEN
      const vars = Object.fromEntries(printed(result).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      expect(vars).toEqual({
        AWS_DEFAULT_REGION: "eu-central-1",
        AWS_REGION: "eu-central-1",
        CODEBUILD_BUILD_ARN: `arn:aws:codebuild:eu-central-1:000000000000:build/${vars.CODEBUILD_BUILD_ID}`,
        CODEBUILD_BUILD_ID: expect.stringMatching(/^local:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        CODEBUILD_BUILD_IMAGE: "local",
        CODEBUILD_BUILD_NUMBER: "1",
        CODEBUILD_BUILD_SUCCEEDING: "1",
        CODEBUILD_INITIATOR: "local-runner",
        CODEBUILD_RESOLVED_SOURCE_VERSION: head,
        CODEBUILD_SOURCE_VERSION: head,
        CODEBUILD_SRC_DIR: srcDir,
        CODEBUILD_START_TIME: expect.stringMatching(/^\d+$/),
      });
      expect(Number(vars.CODEBUILD_START_TIME)).toBeGreaterThanOrEqual(before);
      expect(Number(vars.CODEBUILD_START_TIME)).toBeLessThanOrEqual(Date.now());
    });

    test("sourceVersion sets the source versions; outside Git, without it, they are unset", async () => {
      const commands = ['echo "${CODEBUILD_SOURCE_VERSION-unset} ${CODEBUILD_RESOLVED_SOURCE_VERSION-unset}"'];
      const given = await run(spec({ phases: { build: { commands } } }), { sourceVersion: "abc123" });
      const none = await run(spec({ phases: { build: { commands } } }));
      expect(printed(given)).toEqual(["abc123 abc123"]);
      expect(printed(none)).toEqual(["unset unset"]);
    });

    test("a CODEBUILD_ variable of the project or the buildspec is ignored: the prefix is reserved", async () => {
      const result = await run(
        spec({ env: { variables: { CODEBUILD_BUILD_IMAGE: "spec" } }, phases: { build: { commands: ['echo "$CODEBUILD_BUILD_NUMBER $CODEBUILD_BUILD_IMAGE"'] } } }),
        { env: { CODEBUILD_BUILD_NUMBER: "99" } },
      );
      expect(printed(result)).toEqual(["1 local"]);
      expect(result.output).toContain("[Container] Ignoring CODEBUILD_BUILD_NUMBER from the project environment: the CODEBUILD_ prefix is reserved");
    });
  });

  describe("phase transitions", () => {
    test("a failing command fails its phase: the phase's later commands are skipped and its finally runs", async () => {
      const result = await run(
        spec({ phases: { build: { commands: ["echo before", "false", "echo skipped"], finally: ["echo finally"] } } }),
      );
      expect(phase(result, "build")).toEqual({ name: "build", status: "FAILED", failedCommand: "false", exitCode: 1 });
      expect(printed(result)).toEqual(["before", "finally"]);
      expect(result.succeeded).toBe(false);
    });

    test("a failure in finally fails the phase", async () => {
      const result = await run(spec({ phases: { build: { commands: ["echo ok"], finally: ["exit 4"] } } }));
      expect(phase(result, "build")).toEqual({ name: "build", status: "FAILED", failedCommand: "exit 4", exitCode: 4 });
      expect(result.succeeded).toBe(false);
    });

    test.each([
      ["install", ["FAILED", "SKIPPED", "SKIPPED", "SKIPPED"]],
      ["pre_build", ["SUCCEEDED", "FAILED", "SKIPPED", "SKIPPED"]],
    ])("a failed %s skips the later phases (after its finally)", async (failing, expected) => {
      const phases: Record<string, unknown> = {
        install: { commands: ["echo install"] },
        pre_build: { commands: ["echo pre_build"] },
        build: { commands: ["echo build"] },
        post_build: { commands: ["echo post_build"] },
      };
      phases[failing] = { commands: ["false"], finally: [`echo ${failing}-finally`] };
      const result = await run(spec({ phases }));
      expect(statuses(result)).toEqual(expected);
      expect(printed(result)).not.toContain("build");
      expect(printed(result)).not.toContain("post_build");
      expect(printed(result)).toContain(`${failing}-finally`);
    });

    test("a failed build still runs post_build, which sees CODEBUILD_BUILD_SUCCEEDING=0", async () => {
      const result = await run(
        spec({
          phases: {
            build: { commands: ['echo "build $CODEBUILD_BUILD_SUCCEEDING"', "false"], finally: ['echo "finally $CODEBUILD_BUILD_SUCCEEDING"'] },
            post_build: { commands: ['echo "post_build $CODEBUILD_BUILD_SUCCEEDING"'] },
          },
        }),
      );
      expect(statuses(result)).toEqual(["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED"]);
      expect(printed(result)).toEqual(["build 1", "finally 0", "post_build 0"]);
      expect(result.succeeded).toBe(false);
    });

    test("on-failure CONTINUE runs the next phase, and the build still fails", async () => {
      const result = await run(
        spec({
          phases: {
            pre_build: { "on-failure": "CONTINUE", commands: ["false", "echo skipped"] },
            build: { commands: ['echo "build $CODEBUILD_BUILD_SUCCEEDING"'] },
          },
        }),
      );
      expect(statuses(result)).toEqual(["SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"]);
      expect(printed(result)).toEqual(["build 0"]);
      expect(result.succeeded).toBe(false);
    });

    test("on-failure ABORT in build skips post_build", async () => {
      const result = await run(
        spec({ phases: { build: { "on-failure": "ABORT", commands: ["false"] }, post_build: { commands: ["echo post_build"] } } }),
      );
      expect(statuses(result)).toEqual(["SUCCEEDED", "SUCCEEDED", "FAILED", "SKIPPED"]);
      expect(printed(result)).toEqual([]);
    });

    test("exit in a command fails it, and the build goes on in a new shell in the same folder with the exported variables", async () => {
      // GIVEN a build that exports a variable, changes folder and exits the shell
      const srcDir = tempDir("buildspec-src");
      fs.mkdirSync(path.join(srcDir, "sub"));
      const started = Date.now();
      const result = await run(
        spec({
          phases: {
            build: { commands: ["export KEPT=kept", "cd sub", "exit 3", "echo skipped"], finally: ['echo "finally in $(basename "$PWD") $KEPT"'] },
            post_build: { commands: ['echo "post_build $CODEBUILD_BUILD_SUCCEEDING"'] },
          },
        }),
        { srcDir },
      );
      // THEN the build fails cleanly and quickly
      expect(phase(result, "build")).toEqual({ name: "build", status: "FAILED", failedCommand: "exit 3", exitCode: 3 });
      expect(printed(result)).toEqual(["finally in sub kept", "post_build 0"]);
      expect(result.succeeded).toBe(false);
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });

  describe("artifacts", () => {
    function sourceWithFiles(): string {
      const srcDir = tempDir("buildspec-src");
      fs.mkdirSync(path.join(srcDir, "out", "reports", "unit"), { recursive: true });
      fs.writeFileSync(path.join(srcDir, "out", "app.txt"), "");
      fs.writeFileSync(path.join(srcDir, "out", "reports", "unit", "junit.xml"), "");
      fs.writeFileSync(path.join(srcDir, "imagedefinitions.json"), "[]");
      return srcDir;
    }

    test("files matching artifacts.files, relative to the source folder, are listed", async () => {
      const srcDir = sourceWithFiles();
      const result = await run(spec({ phases: { build: { commands: ["true"] } }, artifacts: { files: ["imagedefinitions.json", "out/**/*.xml"] } }), { srcDir });
      expect(result.succeeded).toBe(true);
      expect(result.artifacts).toEqual([path.join(srcDir, "imagedefinitions.json"), path.join(srcDir, "out", "reports", "unit", "junit.xml")]);
      expect(result.missingArtifacts).toEqual([]);
    });

    test("with base-directory, patterns are relative to it; ** matches every folder depth and a folder name means its files", async () => {
      const srcDir = sourceWithFiles();
      const result = await run(spec({ phases: { build: { commands: ["true"] } }, artifacts: { "base-directory": "out", files: ["*", "reports"] } }), { srcDir });
      expect(result.artifacts).toEqual([path.join(srcDir, "out", "app.txt"), path.join(srcDir, "out", "reports", "unit", "junit.xml")]);
      const all = await run(spec({ phases: { build: { commands: ["true"] } }, artifacts: { "base-directory": "out", files: ["**/*"] } }), { srcDir });
      expect(all.artifacts).toEqual(result.artifacts);
    });

    test("a pattern that matches no file fails the build and is listed in missingArtifacts", async () => {
      const srcDir = sourceWithFiles();
      const result = await run(spec({ phases: { build: { commands: ["true"] } }, artifacts: { files: ["imagedefinitions.json", "dist/*.zip"] } }), { srcDir });
      expect(result.succeeded).toBe(false);
      expect(result.missingArtifacts).toEqual(["dist/*.zip"]);
      expect(statuses(result)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
      expect(result.output).toContain("no matching artifact paths found: dist/*.zip");
    });

    test("are not looked for when the build failed", async () => {
      const result = await run(spec({ phases: { build: { commands: ["false"] } }, artifacts: { files: ["dist/*.zip"] } }));
      expect(result.missingArtifacts).toEqual([]);
      expect(result.artifacts).toEqual([]);
    });
  });

  describe("timeout", () => {
    test("kills every process of the build, fails the running phase and skips the rest", async () => {
      const srcDir = tempDir("buildspec-src");
      const started = Date.now();
      const result = await run(
        spec({ phases: { install: { commands: ["sleep 60 & echo $! > bg.pid"] }, build: { commands: ["sleep 60"] }, post_build: { commands: ["echo post"] } } }),
        { srcDir, timeoutSeconds: 1 },
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.timedOut).toBe(true);
      expect(result.succeeded).toBe(false);
      expect(result.phases).toEqual([
        { name: "install", status: "SUCCEEDED" },
        { name: "pre_build", status: "SUCCEEDED" },
        { name: "build", status: "FAILED", failedCommand: "sleep 60" },
        { name: "post_build", status: "SKIPPED" },
      ]);
      expect(alive(Number(fs.readFileSync(path.join(srcDir, "bg.pid"), "utf8")))).toBe(false);
    });
  });

  describe("validation", () => {
    test.each([
      [{ version: 0.1 }, 'Invalid buildspec: version "0.1" is not supported: the local runner runs buildspec version 0.2 only'],
      [{ version: "1.0" }, 'Invalid buildspec: version "1.0" is not supported: the local runner runs buildspec version 0.2 only'],
      [{}, "Invalid buildspec: version is required: the local runner runs buildspec version 0.2"],
    ])("a version other than 0.2 is rejected: %j", (version, message) => {
      expect(() => parseBuildspec(stringify({ ...version, phases: { build: { commands: ["true"] } } }))).toThrow(message);
    });

    test("an unknown phase is rejected before anything runs", async () => {
      const srcDir = tempDir("buildspec-src");
      await expect(run(spec({ phases: { install: { commands: ["touch ran"] }, deploy: { commands: ["true"] } } }), { srcDir })).rejects.toThrow(
        "Invalid buildspec: unknown phase phases.deploy (allowed: install, pre_build, build, post_build)",
      );
      expect(fs.existsSync(path.join(srcDir, "ran"))).toBe(false);
    });

    test("an unknown top-level key is rejected", () => {
      expect(() => parseBuildspec(spec({ phase: {}, phases: { build: { commands: ["true"] } } }))).toThrow(
        'Invalid buildspec: unknown top-level key "phase" (allowed: version, run-as, env, proxy, batch, phases, reports, artifacts, cache)',
      );
    });

    test("every problem is reported at once", () => {
      expect(() => parseBuildspec(stringify({ version: 0.1, phases: { build: { "on-failure": "RETRY", commands: [{ "echo a": "b" }] } } }))).toThrow(
        'Invalid buildspec: version "0.1" is not supported: the local runner runs buildspec version 0.2 only; ' +
          'phases.build.on-failure "RETRY" must be ABORT or CONTINUE; ' +
          'phases.build.commands[0] is a YAML mapping, not a command: quote a command that contains ": " (build-spec-ref)',
      );
    });

    test("commands is required in build", () => {
      expect(() => parseBuildspec(spec({ phases: { build: { finally: ["true"] } } }))).toThrow("Invalid buildspec: phases.build.commands is required when build is specified");
    });

    test("Parameter Store and Secrets Manager variables are not supported by the local runner", () => {
      expect(() => parseBuildspec(spec({ env: { "parameter-store": { PASSWORD: "/ci/password" } }, phases: { build: { commands: ["true"] } } }))).toThrow(
        "Invalid buildspec: env.parameter-store is not supported by the local runner: pass PASSWORD as project environment variables (env option) instead",
      );
      expect(() => parseBuildspec(spec({ env: { "secrets-manager": { TOKEN: "ci:token" } }, phases: { build: { commands: ["true"] } } }))).toThrow(
        "Invalid buildspec: env.secrets-manager is not supported by the local runner: pass TOKEN as project environment variables (env option) instead",
      );
    });

    test("a Windows shell is not supported by the local runner", () => {
      expect(() => parseBuildspec(spec({ env: { shell: "powershell.exe" }, phases: { build: { commands: ["true"] } } }))).toThrow(
        'Invalid buildspec: env.shell "powershell.exe" is a Windows shell: not supported by the local runner (use bash or /bin/sh)',
      );
    });

    test("runtime-versions, exported-variables and run-as are ignored with a log line", async () => {
      const result = await run(
        spec({
          env: { "exported-variables": ["X"] },
          phases: { install: { "runtime-versions": { nodejs: 20 }, commands: ["true"] }, build: { "run-as": "nobody", commands: ["true"] } },
        }),
      );
      expect(result.succeeded).toBe(true);
      expect(result.output).toContain("[Container] Local runner: phases.install.runtime-versions is not installed by the local runner");
      expect(result.output).toContain("[Container] Local runner: env.exported-variables are not exported anywhere by the local runner");
      expect(result.output).toContain("[Container] Local runner: phases.build.run-as is not applied by the local runner");
    });

    test("buildspecFile is read from disk and named in errors; exactly one of buildspec and buildspecFile is required", async () => {
      const dir = tempDir("buildspec-file");
      const good = path.join(dir, "good.yml");
      const bad = path.join(dir, "bad.yml");
      fs.writeFileSync(good, spec({ phases: { build: { commands: ["echo from-file"] } } }));
      fs.writeFileSync(bad, stringify({ version: 0.1, phases: { build: { commands: ["true"] } } }));
      const srcDir = tempDir("buildspec-src");
      expect(printed(await runBuildspec({ buildspecFile: good, srcDir }))).toEqual(["from-file"]);
      await expect(runBuildspec({ buildspecFile: bad, srcDir })).rejects.toThrow(`Invalid buildspec ${bad}: version "0.1" is not supported`);
      await expect(runBuildspec({ srcDir })).rejects.toThrow("runBuildspec: give exactly one of buildspec (YAML text) and buildspecFile (a path)");
    });
  });
});
