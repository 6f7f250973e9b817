/**
 * Per-file CPU for `bench/suite-cpu.sh`: with SUITE_CPU_LOG set, each test file appends one JSON
 * line to that file, the CPU its jest worker and every child the worker waited for used while the
 * file ran (`/proc/self/stat`: utime, stime, cutime, cstime). Unset (every normal run), it does nothing.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { relative } from "node:path";

const log = process.env.SUITE_CPU_LOG;

/** Clock ticks per second of /proc's times: 100 on every Linux this runs on (USER_HZ). */
const TICKS = 100;

/** This process's own and its waited-for children's CPU so far, in seconds (user, system). */
function cpuNow(): { user: number; system: number } {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // Fields after the command name (which may contain spaces): state is field 3, utime 14 … cstime 17.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return { user: (f[11] + f[13]) / TICKS, system: (f[12] + f[14]) / TICKS };
}

if (log) {
  // A sample at the file's start and one in its afterAll. A file's own afterAll hooks (stopping
  // servers, destroying) run after this one, so bench/suite-cpu.mjs measures a file from its start
  // to the next file's start in the same worker, and uses the afterAll sample only for a worker's last file.
  const file = relative(process.cwd(), expect.getState().testPath ?? "?");
  const sample = (at: string) =>
    appendFileSync(log, JSON.stringify({ at, file, pid: process.pid, time: Date.now(), ...cpuNow() }) + "\n");
  sample("start");
  afterAll(() => sample("end"));
}
