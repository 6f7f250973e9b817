/**
 * Which stacks are not deployed as the code says (`npm run -s stacks -- --pending`): each selected
 * stack is synthesized, and its digest compared with the one its state record (beside its state,
 * in its backend) holds. A stack is pending when it has no record (never deployed here, or its
 * backend moved), when its record's digest differs (a change not deployed: a push whose deploy
 * failed or was cancelled included), or when its last record is a destroy.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { getJson, recordLocation, shownLocation } from "../plan-review/record-store";
import { select } from "../plan-review/select";
import { parseRecord, stackDigest, synthesizedBackend, type StateRecord } from "../plan-review/state-record";
import { synthesize } from "../plan-review/synth";
import { listStacks, type StackInfo } from "./list";

/** Why a stack is pending. */
export type PendingReason = "never deployed" | "changed" | "destroyed" | "unreadable record";

/** A pending stack and why. */
export interface PendingStack {
  readonly stack: StackInfo;
  readonly reason: PendingReason;
  /** The deploy its record names, when it has one. */
  readonly deployed?: { readonly commit: string | null; readonly at: string };
}

/** The verdict for one stack: undefined when its record matches the digest. Pure. */
export function pendingReason(record: StateRecord | undefined | "unreadable", digest: string): PendingReason | undefined {
  if (record === "unreadable") return "unreadable record";
  if (record === undefined) return "never deployed";
  if (record.after === "destroy") return "destroyed";
  return record.digest === digest ? undefined : "changed";
}

/** The line `--pending` writes to stderr for a pending stack. */
export function pendingLine(p: PendingStack): string {
  const since = p.deployed ? ` (deployed ${p.deployed.commit ? `from ${p.deployed.commit.slice(0, 12)}` : "from an unknown commit"} at ${p.deployed.at})` : "";
  const why: Record<PendingReason, string> = {
    "never deployed": "no state record at its backend: never deployed there",
    changed: `its synthesized Terraform differs from the one last deployed${since}`,
    destroyed: `its state was destroyed${since}, and the config still has it`,
    "unreadable record": "its state record cannot be read (the warning above): listed so that a deploy decides",
  };
  return `pending: ${p.stack.name}: ${why[p.reason]}`;
}

/**
 * The selected stacks (ENVIRONMENTS) whose deployed digest differs from the synth of this
 * checkout, in wave order. The synth goes into a temporary folder (cdktf.out is not touched).
 * Local environments need their local AWS (AWS_ENDPOINT_URL, or the one kept running).
 */
export async function pendingStacks(env: NodeJS.ProcessEnv, warn: (line: string) => void, log: (s: string) => void): Promise<PendingStack[]> {
  const root = projectRoot();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-pending-"));
  try {
    const runEnv = { ...env, CDKTF_OUTDIR: outdir };
    const selected = select(runEnv, log, {
      allowLocalEndpoint: true,
      command: "stacks -- --pending",
      doing: "comparing",
      noneNote: "the local environments' records are in their local AWS: start it with npm start -- --keep-running, or set AWS_ENDPOINT_URL",
    });
    const stacks = await synthesize(root, selected, runEnv, { records: "none", ensureState: false });
    const infos = new Map(listStacks({ env }).map((s) => [s.name, s]));
    const pending: PendingStack[] = [];
    for (const s of stacks) {
      const backend = synthesizedBackend(s.dir);
      const location = backend && recordLocation(backend, env, s.environment.local === true);
      let record: StateRecord | undefined | "unreadable";
      try {
        const v = location ? await getJson(location) : undefined;
        record = v === undefined ? undefined : parseRecord(v, s.name);
      } catch (e) {
        const m = (e as Error).message;
        // An absent bucket holds no deploy: never deployed, not unreadable.
        if (/NoSuchBucket/.test(m)) record = undefined;
        else {
          warn(`${s.name}: the state record ${m.startsWith("s3://") ? m : `${location ? shownLocation(location) : "?"} is ignored (${m})`}`);
          record = "unreadable";
        }
      }
      const reason = pendingReason(record, stackDigest(s.dir));
      if (reason) pending.push({ stack: infos.get(s.name)!, reason, ...(record && record !== "unreadable" ? { deployed: { commit: record.commit, at: record.at } } : {}) });
    }
    return [...infos.values()].flatMap((i) => pending.filter((p) => p.stack.name === i.name));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
