import { runCli } from "../shared/cli";
import { keptServers, parseRecordCommandFlags, stopServer, STATE_DIR_VARIABLE } from "./kept";

export const USAGE = `Usage: npm stop

Stops every local AWS left running by \`npm start -- --keep-running\` (the servers recorded under
.local-aws/ of the project) and removes their records; everything deployed into them is gone
(moto keeps its state in memory). Only recorded servers whose process still runs the recorded
command are signalled, so a reused process ID is never hit. Exits 0, also when nothing runs.

  --help   this text

Environment: ${STATE_DIR_VARIABLE} (where the records are, default .local-aws/ of the project).`;

/** Parses the flags: only --help (shared with the other record commands). */
export const parseStopFlags = parseRecordCommandFlags;

/** Stops every recorded server. */
export async function stop(env: NodeJS.ProcessEnv = process.env, log: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  const servers = keptServers(env);
  if (servers.length === 0) {
    log("no local AWS is kept running: nothing to stop\n");
    return 0;
  }
  for (const s of servers) {
    await stopServer(s);
    const r = s.record;
    log(s.running ? `stopped the local AWS at ${r.endpoint} (pid ${r.pid})\n` : `the local AWS recorded at ${r.endpoint} (pid ${r.pid}) was not running any more: record removed\n`);
  }
  return 0;
}

if (require.main === module) {
  runCli({ parse: () => parseStopFlags(process.argv.slice(2)), usage: USAGE, run: () => stop() });
}
