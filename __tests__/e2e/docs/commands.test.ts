import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bootstrap, selectLocalEnvironments } from "../../../scripts/local-aws/deploy";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";
import { requireTerraform } from "../../../scripts/terraform/env";
import { ROOT, tempDir } from "../../support/app";
import { scratchCopy } from "../../support/scratch";
import { allCommands } from "./extract";
import { COMMANDS, type RunHere } from "./commands";

/**
 * Every command the README and docs/ show is run by a test: here, in a scratch copy of the
 * project against a local AWS of its own, or by the test its registry entry names.
 */
const docCommands = allCommands(ROOT);
const registered = new Map(COMMANDS);

describe("the commands the documents show", () => {
  test("each has an entry in __tests__/e2e/docs/commands.ts", () => {
    const missing = docCommands.filter((c) => !registered.has(c.text)).map((c) => `${c.file}: ${c.text}`);
    expect(missing).toEqual([]);
  });

  test("each entry is still shown by a document", () => {
    const shown = new Set(docCommands.map((c) => c.text));
    expect(COMMANDS.map(([text]) => text).filter((t) => !shown.has(t))).toEqual([]);
  });

  test.each(COMMANDS.filter(([, t]) => t.kind === "by").map(([text, t]) => [text.split("\n")[0], t] as const))(
    "%s is run by the test its entry names",
    (_text, t) => {
      if (t.kind !== "by") throw new Error("unreachable");
      for (const { test, marker } of [t, ...(t.also ? [t.also] : [])]) {
        const file = path.join(ROOT, test);
        expect(fs.existsSync(file)).toBe(true);
        expect(fs.readFileSync(file, "utf8")).toContain(marker);
      }
    },
  );
});

/** A `docker` that only logs in: it checks the password it reads is one clean line. */
function dockerStub(dir: string): void {
  const bin = path.join(dir, "docker");
  fs.writeFileSync(
    bin,
    [
      "#!/usr/bin/env bash",
      'set -euo pipefail',
      '[ "$1" = login ] || { echo "docker stub: only login" >&2; exit 2; }',
      'pw=$(cat)',
      '[ "$(printf "%s\\n" "$pw" | wc -l)" = 1 ] || { echo "docker stub: the password is not one line: $pw" >&2; exit 1; }',
      '[[ "$pw" =~ ^[A-Za-z0-9+/=._-]+$ ]] || { echo "docker stub: the password has other characters: $pw" >&2; exit 1; }',
      'echo "Login Succeeded"',
    ].join("\n") + "\n",
  );
  fs.chmodSync(bin, 0o755);
}

/** The environments file of docs/environments.md's `prod` example (with a source). */
const PROD_CONFIG = {
  environments: {
    prod: {
      description: "Production account",
      accountId: "111111111111",
      regions: ["eu-west-1"],
      state: { bucket: "acme-tfstate", region: "eu-central-1" },
      build: {
        repositoryName: "acme/app",
        privilegedProject: { projectName: "acme-app", source: { type: "GITHUB", location: "https://github.com/acme/app.git" } },
        dindProject: { projectName: "acme-app-dind", source: { type: "GITHUB", location: "https://github.com/acme/app.git" } },
      },
    },
  },
};

/** The runnable script of a `here` entry. */
export function scriptOf(text: string, t: RunHere): string {
  let body = text;
  for (const [placeholder, value] of Object.entries(t.placeholders ?? {})) body = body.split(placeholder).join(value);
  if (t.append) {
    if (body.includes("\n")) throw new Error(`append is only for one-line commands: ${text}`);
    body = `${body} ${t.append.args}`;
  }
  return ["set -eo pipefail", ...(t.before ? [t.before] : []), body, ...(t.after ? [t.after] : [])].join("\n");
}

describe("run as shown, in order, in a scratch copy against a local AWS of its own", () => {
  let aws: LocalAws;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requireTerraform();
    aws = await startLocalAws();
    dir = scratchCopy();
    const bin = tempDir("docs-bin");
    dockerStub(bin);
    fs.writeFileSync(path.join(dir, "docs-prod-environments.json"), JSON.stringify(PROD_CONFIG, null, 2));
    spawnSync("git", ["init", "-q"], { cwd: dir });
    await bootstrap({ endpoint: aws.endpoint, root: dir, outdir: path.join(dir, "cdktf.out") }, selectLocalEnvironments({ root: dir, environments: "local" }));
    env = {
      ...process.env,
      PATH: `${bin}${path.delimiter}${process.env.PATH}`,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "eu-central-1",
      // Only the owner's environment: the consumers' stacks would only make each plan slower.
      ENVIRONMENTS: "local",
      CHECKPOINT_DISABLE: "1",
      npm_config_update_notifier: "false",
    };
    delete env.CONFIG_FILE;
    delete env.CDKTF_OUTDIR;
    delete env.TF_CLI_CONFIG_FILE;
  }, 120_000);

  afterAll(async () => {
    await aws?.stop();
  });

  const here = COMMANDS.filter(([, t]) => t.kind === "here") as ReadonlyArray<readonly [string, RunHere]>;
  test.each(here.map(([text, t]) => [text.split("\n").join(" ⏎ "), text, t] as const))(
    "%s",
    (_title, text, t) => {
      const childEnv = { ...env, ...(t.env ?? {}) };
      for (const k of t.unset ?? []) delete childEnv[k];
      const r = spawnSync("bash", ["-c", scriptOf(text, t)], { cwd: dir, env: childEnv, encoding: "utf8", timeout: 300_000 });
      // eslint-disable-next-line no-control-regex
      const output = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
      const ok = r.status === (t.code ?? 0) && (t.output ?? /(?:)/).test(output);
      if (!ok) throw new Error(`exit ${r.status} (expected ${t.code ?? 0}), output ${t.output ?? "(any)"} expected; it printed:\n${output.slice(-4000)}`);
    },
    300_000,
  );
});
