import * as fs from "fs";
import * as path from "path";
import { ConfigError, configFilePath, projectRoot } from "../../config/environments";
import { runCli } from "../shared/cli";
import { writeFileAtomic } from "../shared/files";
import { listStacks } from "../stacks/list";
import { atlantisYaml } from "./config";

export const USAGE = `Usage: npm run -s atlantis-config [-- options]

Writes atlantis.yaml (repo-level config, version 3) at the project root: one Atlantis project per
stack (its synthesized folder, workspace default), autoplanned when a source of the synth
changes, planned by the cdktf workflow (synthesizes the stack into its folder, then init and
plan), applied only when approved and mergeable, in execution order groups from the apply waves.

  --stdout   print the file instead of writing it
  --check    write nothing; exit 1 when atlantis.yaml differs from what would be written
  --help     this text
Environment: ENVIRONMENTS (default: all: Atlantis plans the real environments), CONFIG_FILE
(default config/environments.json; must be inside the project), CDKTF_OUTDIR (default cdktf.out;
must be inside the project).`;

interface Args {
  readonly mode: "write" | "stdout" | "check";
}

export function parseArgs(argv: readonly string[]): Args | "help" {
  const modes: Args["mode"][] = [];
  const problems: string[] = [];
  for (const a of argv) {
    if (a === "--help" || a === "-h") return "help";
    if (a === "--stdout") modes.push("stdout");
    else if (a === "--check") modes.push("check");
    else problems.push(`unknown argument ${JSON.stringify(a)} (options: --stdout, --check, --help)`);
  }
  if (modes.length > 1) problems.push(`give at most one of --stdout and --check (got ${modes.map((m) => `--${m}`).join(" ")})`);
  if (problems.length) throw new Error(problems.join("\n"));
  return { mode: modes[0] ?? "write" };
}

/** The atlantis.yaml text for the environment `env` describes (ENVIRONMENTS default: all). */
export function generate(env: NodeJS.ProcessEnv = process.env, root: string = projectRoot(), cwd: string = process.cwd()): string {
  const selection = env.ENVIRONMENTS ?? "all";
  const stacks = listStacks({ env: { ...env, ENVIRONMENTS: selection }, root, cwd });
  const configFile = path.relative(root, path.resolve(cwd, configFilePath(env))).split(path.sep).join("/");
  const extra = [env.CONFIG_FILE !== undefined ? `CONFIG_FILE=${configFile}` : "", env.CDKTF_OUTDIR !== undefined ? `CDKTF_OUTDIR=${env.CDKTF_OUTDIR}` : ""].filter(Boolean);
  return atlantisYaml(stacks, { configFile, generatedBy: `\`npm run -s atlantis-config\` (ENVIRONMENTS=${selection}${extra.map((e) => `, ${e}`).join("")})` });
}

async function main(args: Args): Promise<number> {
  const root = projectRoot();
  let text: string;
  try {
    text = generate(process.env, root);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.problems) process.stderr.write(`error: ${line}\n`);
    return 1;
  }
  const file = path.join(root, "atlantis.yaml");
  if (args.mode === "stdout") {
    process.stdout.write(text);
    return 0;
  }
  if (args.mode === "check") {
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    if (current === text) {
      process.stderr.write("atlantis.yaml is current\n");
      return 0;
    }
    process.stderr.write(`error: atlantis.yaml is ${current === undefined ? "missing" : "stale"} (${file}): regenerate it with npm run -s atlantis-config and commit it\n`);
    return 1;
  }
  writeFileAtomic(file, text);
  process.stderr.write(`wrote atlantis.yaml: ${text.split("\n  - name: ").length - 1} project(s)\n`);
  return 0;
}

if (require.main === module) {
  runCli({ parse: () => parseArgs(process.argv.slice(2)), usage: USAGE, run: main });
}
