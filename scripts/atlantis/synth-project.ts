import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { runCli } from "../shared/cli";
import { copyFileAtomic } from "../shared/files";
import { listStacks } from "../stacks/list";

export const USAGE = `Usage: node dist/scripts/atlantis/synth-project.js STACK

The first plan step of the cdktf workflow of atlantis.yaml ($PROJECT_NAME is the stack): synthesizes
the environment of STACK into a temporary folder and replaces the files of the stack's folder
with the new ones, leaving the rest of the folder (.terraform, Atlantis' plan files) and every
other stack's folder alone, so projects planned in parallel do not disturb each other. Fails when
the stack is not in the environments file or the synth fails.
Environment: CONFIG_FILE, CDKTF_OUTDIR (as for npm run synth; relative to the project root).`;

export function parseArgs(argv: readonly string[]): { stack: string } | "help" {
  if (argv.includes("--help") || argv.includes("-h")) return "help";
  if (argv.length !== 1 || argv[0] === "" || argv[0].startsWith("-")) {
    throw new Error(`expected one argument, the stack (Atlantis' $PROJECT_NAME); got ${argv.length === 0 ? "none" : argv.map((a) => JSON.stringify(a)).join(" ")}`);
  }
  return { stack: argv[0] };
}

async function main(args: { stack: string }): Promise<number> {
  // Atlantis runs the step in the project's folder: relative paths (CONFIG_FILE, CDKTF_OUTDIR) are the project root's.
  const root = projectRoot();
  const all = listStacks({ env: { ...process.env, ENVIRONMENTS: "all" }, root, cwd: root });
  const stack = all.find((s) => s.name === args.stack);
  if (!stack) throw new Error(`stack ${JSON.stringify(args.stack)} is not a stack of the environments file (known: ${all.map((s) => s.name).join(", ")}): regenerate atlantis.yaml with npm run -s atlantis-config`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "atlantis-synth-"));
  try {
    const out = path.join(tmp, "out");
    const r = spawnSync(process.execPath, [path.join(root, "scripts", "app", "synth.js")], {
      cwd: root,
      env: { ...process.env, ENVIRONMENTS: stack.environment, CDKTF_OUTDIR: out },
      encoding: "utf8",
      stdio: ["ignore", "inherit", "pipe"],
    });
    process.stderr.write(r.stderr ?? "");
    if (r.status !== 0) throw new Error(`the synth of environment ${stack.environment} failed (exit ${r.status}): nothing in ${stack.dir} was changed`);
    const from = path.join(out, "stacks", stack.name);
    const to = path.resolve(root, stack.dir);
    fs.mkdirSync(to, { recursive: true });
    for (const f of fs.readdirSync(from, { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const rel = path.relative(from, path.join(f.parentPath ?? f.path, f.name));
      const target = path.join(to, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      copyFileAtomic(path.join(from, rel), target);
    }
    process.stderr.write(`synthesized ${stack.name} (environment ${stack.environment}) into ${stack.dir}\n`);
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runCli({ parse: () => parseArgs(process.argv.slice(2)), usage: USAGE, run: main });
}
