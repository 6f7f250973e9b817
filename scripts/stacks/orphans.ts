/**
 * Stacks deployed and no longer managed (`npm run -s stacks -- --orphans`): the state records in
 * the state buckets of the selected environments whose state still holds resources, and whose
 * stack the config no longer has (a removed region or environment), or whose stack's backend is
 * now elsewhere (a moved `state.keyPrefix`, `state.bucket` or `state.region` left this state behind).
 */
import type { EnvironmentConfig } from "../../config/environments";
import { stateKey, stackName } from "../../stacks/regional-stack";
import { shownLocation } from "../plan-review/record-store";
import { recordsIn, stateBuckets, type FoundRecord } from "../plan-review/state-record";

/** One orphaned state. */
export interface Orphan {
  /** The stack the record names. */
  readonly name: string;
  /** Where its state is. */
  readonly backend: { readonly bucket: string; readonly key: string; readonly region: string };
  /** Managed resource instances its state held at its last apply. */
  readonly resources: number;
  /** Why it is an orphan: `removed` (not in the config) or `moved` (the stack's backend is elsewhere now). */
  readonly reason: "removed" | "moved";
  /** For `moved`: where the stack's state is now. */
  readonly movedTo?: string;
  /** Its last deploy. */
  readonly commit: string | null;
  readonly at: string;
  readonly local: boolean;
}

/** Where each stack of the organization keeps its state now: stack name -> s3://bucket/key. */
export function currentStates(organization: readonly EnvironmentConfig[]): Map<string, string> {
  return new Map(organization.flatMap((e) => e.regions.map((r) => [stackName(e.name, r), `s3://${e.state.bucket}/${stateKey(e, r)}`] as const)));
}

/** An orphan and the record it was found by. */
export interface OrphanRecord {
  readonly orphan: Orphan;
  readonly found: FoundRecord;
}

/** The orphans among records found, with their records. Pure. */
export function orphanRecordsOf(found: readonly FoundRecord[], organization: readonly EnvironmentConfig[]): OrphanRecord[] {
  const current = currentStates(organization);
  const out: OrphanRecord[] = [];
  for (const f of found) {
    const r = f.record;
    if (r.resources === 0 || r.after === "destroy") continue;
    const stateKeyOf = typeof r.backend.key === "string" ? r.backend.key : f.location.key.replace(/\.record\.json$/, "");
    const now = current.get(r.stack);
    if (now === `s3://${f.location.bucket}/${stateKeyOf}`) continue;
    const orphan: Orphan = {
      name: r.stack,
      backend: { bucket: f.location.bucket, key: stateKeyOf, region: f.location.region },
      resources: r.resources,
      reason: now === undefined ? "removed" : "moved",
      ...(now !== undefined ? { movedTo: now } : {}),
      commit: r.commit,
      at: r.at,
      local: r.local,
    };
    out.push({ orphan, found: f });
  }
  const key = (o: Orphan) => `${o.name}\u0000${o.backend.bucket}/${o.backend.key}`;
  return out.sort((a, b) => (key(a.orphan) < key(b.orphan) ? -1 : 1));
}

/** The orphans among records found. Pure. */
export function orphansOf(found: readonly FoundRecord[], organization: readonly EnvironmentConfig[]): Orphan[] {
  return orphanRecordsOf(found, organization).map((o) => o.orphan);
}

/**
 * The orphans in the state buckets of `environments`, with their records (a bucket that cannot
 * be listed is one warning line; the others are still searched).
 */
export async function findOrphanRecords(environments: readonly EnvironmentConfig[], organization: readonly EnvironmentConfig[], endpoint: string | undefined, env: NodeJS.ProcessEnv, warn: (line: string) => void): Promise<OrphanRecord[]> {
  const found: FoundRecord[] = [];
  for (const bucket of stateBuckets(environments, endpoint, env)) {
    try {
      found.push(...(await recordsIn(bucket, undefined, warn)));
    } catch (e) {
      warn(`${(e as Error).message}: orphaned stacks there are not found`);
    }
  }
  return orphanRecordsOf(found, organization);
}

/** The orphans in the state buckets of `environments` (see {@link findOrphanRecords}). */
export async function findOrphans(environments: readonly EnvironmentConfig[], organization: readonly EnvironmentConfig[], endpoint: string | undefined, env: NodeJS.ProcessEnv, warn: (line: string) => void): Promise<Orphan[]> {
  return (await findOrphanRecords(environments, organization, endpoint, env, warn)).map((o) => o.orphan);
}

/** One line per orphan, for a terminal. */
export function orphanLine(o: Orphan): string {
  const where = shownLocation({ bucket: o.backend.bucket, key: o.backend.key });
  const why = o.reason === "removed" ? "is not in the config" : `moved to ${o.movedTo}; this state was left behind`;
  return `orphan: ${o.name} ${why}, and its state ${where} still holds ${o.resources} resource${o.resources === 1 ? "" : "s"} (deployed ${o.commit ? `from ${o.commit.slice(0, 12)} ` : ""}at ${o.at}): destroy it with npm run destroy -- --orphan ${o.name}`;
}

/** The "Orphaned stacks" section of a review (empty string when there is none). */
export function orphansMarkdown(orphans: readonly Orphan[]): string {
  if (!orphans.length) return "";
  const rows = orphans.map(
    (o) =>
      `| \`${o.name}\` | \`${shownLocation({ bucket: o.backend.bucket, key: o.backend.key })}\` | ${o.resources} | ${o.reason === "removed" ? "not in the config" : `backend moved to \`${o.movedTo}\``} | ${o.commit ? `\`${o.commit.slice(0, 12)}\`` : "unknown"} |`,
  );
  return [
    "## Orphaned stacks",
    "",
    `:no_entry: **${orphans.length} stack${orphans.length === 1 ? "" : "s"} deployed and no longer managed**: the state still holds resources that no stack of the config manages. Destroy each with \`npm run destroy -- --orphan <stack>\` (its plan is reviewed first), or bring it back into the config.`,
    "",
    "| stack | state | resources | why | last deployed from |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** Reads an `--orphans` file (the output of `npm run -s stacks -- --orphans --json`); throws one line when it is not one. */
export function parseOrphans(text: string, source: string): Orphan[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON (${(e as Error).message.split("\n")[0]}): expected the output of npm run -s stacks -- --orphans --json`);
  }
  if (!Array.isArray(v)) throw new Error(`${source} must hold a JSON array of orphans (npm run -s stacks -- --orphans --json)`);
  v.forEach((o: any, i) => {
    if (!o || typeof o.name !== "string" || !/^[a-z][a-z0-9-]*$/.test(o.name)) throw new Error(`${source}: entry ${i} has no valid "name"`);
    if (!o.backend || typeof o.backend.bucket !== "string" || typeof o.backend.key !== "string") throw new Error(`${source}: orphan ${o.name} has no "backend" with bucket and key`);
    if (!Number.isInteger(o.resources) || o.resources < 0) throw new Error(`${source}: orphan ${o.name} has no "resources" count`);
    if (o.reason !== "removed" && o.reason !== "moved") throw new Error(`${source}: orphan ${o.name}: "reason" must be removed or moved, not ${JSON.stringify(o.reason)}`);
  });
  return v as Orphan[];
}
