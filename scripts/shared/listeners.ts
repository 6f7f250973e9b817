/**
 * Which processes listen on a local TCP port, and which process group a process is in (Linux's
 * /proc): how a recorded local endpoint's server is found again, whatever became of its parent.
 */
import * as fs from "fs";

/**
 * The IDs of the processes listening on 127.0.0.1:`port` (read from Linux's /proc), or undefined
 * where /proc/net/tcp cannot be read or lists no such listener (then nothing can be said).
 */
export function listeningPids(port: number): number[] | undefined {
  let table: string;
  try {
    table = fs.readFileSync("/proc/net/tcp", "utf8");
  } catch {
    return undefined;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  // Columns: sl local_address rem_address st … inode (10th); st 0A is LISTEN.
  const inodes = new Set(
    table
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length > 9 && f[1] === local && f[3] === "0A")
      .map((f) => `socket:[${f[9]}]`),
  );
  if (inodes.size === 0) return undefined; // no IPv4 listener found: nothing to attribute
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    if (fds.some((fd) => inodes.has(readLink(`/proc/${entry}/fd/${fd}`)))) pids.push(Number(entry));
  }
  return pids;
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return "";
  }
}

/** The process group of `pid` (from /proc/<pid>/stat), or undefined when it is gone. */
export function processGroup(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (comm) ": state, ppid, pgrp, …; comm may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}
