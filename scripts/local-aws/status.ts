import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { runCli } from "../shared/cli";
import { answers, exportLine, keptServers, parseRecordCommandFlags, since, STATE_DIR_VARIABLE } from "./kept";
import { START_BUILD_NOTE } from "./limits";

export const USAGE = `Usage: npm run status

Says whether a local AWS left running by \`npm start -- --keep-running\` is up: its endpoint,
process, start time, the stacks deployed into it, and how to use and stop it. A record whose
server has ended (stopped by hand, machine restarted) is reported and removed. Exits 0.

  --help   this text

Environment: ${STATE_DIR_VARIABLE} (where the records are, default .local-aws/ of the project).`;

/** Parses the flags: only --help (shared with the other record commands). */
export const parseStatusFlags = parseRecordCommandFlags;

/** Prints the status of every recorded server. */
export async function status(env: NodeJS.ProcessEnv = process.env, log: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  const servers = keptServers(env);
  if (servers.length === 0) {
    log("no local AWS is kept running (start one with: npm start -- --keep-running)\n");
    return 0;
  }
  for (const s of servers) {
    const r = s.record;
    if (!s.running) {
      fs.rmSync(s.file, { force: true });
      log(`the local AWS recorded at ${r.endpoint} (pid ${r.pid}, started ${r.startedAt}) is not running any more: record removed\n`);
      continue;
    }
    const up = await answers(r.endpoint);
    log(
      `local AWS running at ${r.endpoint}: server pid ${r.pid}${r.group === undefined ? "" : ` (process group ${r.group})`}, started ${r.startedAt} (${since(r.startedAt)} ago), ` +
        `${up ? "answering" : "NOT answering"}; record ${path.relative(projectRoot(), s.file) || s.file}\n` +
        `  deployed: ${r.stacks.length ? r.stacks.join(", ") : "nothing"}\n` +
        `  use it:   ${exportLine(r.endpoint, r.region)}\n` +
        `  note:     ${START_BUILD_NOTE}\n` +
        `  stop it:  npm stop\n`,
    );
  }
  return 0;
}

if (require.main === module) {
  runCli({ parse: () => parseStatusFlags(process.argv.slice(2)), usage: USAGE, run: () => status() });
}
