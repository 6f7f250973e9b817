/** The `scanning-downgrade` risk: what lowers the scanning of a registry in a plan. */
import type { Action } from "./review";

/** How much a scan frequency scans: continuously, on push, only by hand. */
const SCAN_RANK: Record<string, number> = { CONTINUOUS_SCAN: 2, SCAN_ON_PUSH: 1, MANUAL: 0 };

/** The rules of an `aws_ecr_registry_scanning_configuration` as plan JSON holds them: frequency and sorted filters. */
function scanningRules(v: any): { frequency: string; filters: string[] }[] {
  return (Array.isArray(v?.rule) ? v.rule : []).map((r: any) => ({
    frequency: String(r?.scan_frequency),
    filters: (Array.isArray(r?.repository_filter) ? r.repository_filter : []).map((f: any) => String(f?.filter)).sort(),
  }));
}

/**
 * What lowers the scanning of a registry, one message each: the configuration deleted (the
 * registry goes back to BASIC without rules), ENHANCED -> BASIC, a rule removed, or a rule's
 * frequency lowered (CONTINUOUS_SCAN -> SCAN_ON_PUSH or MANUAL, SCAN_ON_PUSH -> MANUAL). A rule
 * is matched by its frequency, else by its filters; a MANUAL rule scans nothing by itself, so
 * removing one lowers nothing. Changes of a kept rule's filters are not judged (a filter can widen).
 */
export function scanningDowngrades(address: string, action: Action, before: any, after: any): string[] {
  if (action === "create" || action === "read" || action === "no-op") return [];
  const was = describeScanningState(before);
  if (action === "delete") {
    return [`registry scanning configuration ${address} is deleted: the registry goes back to BASIC scanning without rules (was ${was})`];
  }
  const out: string[] = [];
  if (before?.scan_type === "ENHANCED" && after?.scan_type === "BASIC") {
    out.push(`registry scanning goes from ENHANCED (Amazon Inspector) to BASIC in ${address}`);
  }
  const beforeRules = scanningRules(before);
  const afterRules = scanningRules(after);
  for (const b of beforeRules) {
    if ((SCAN_RANK[b.frequency] ?? 0) === 0) continue;
    if (afterRules.some((a) => a.frequency === b.frequency)) continue;
    const moved = afterRules.find((a) => JSON.stringify(a.filters) === JSON.stringify(b.filters));
    if (moved === undefined) {
      out.push(`registry scanning rule ${b.frequency} [${b.filters.join(", ")}] is removed in ${address}`);
    } else if ((SCAN_RANK[moved.frequency] ?? 0) < SCAN_RANK[b.frequency]) {
      out.push(`registry scanning of [${b.filters.join(", ")}] goes from ${b.frequency} to ${moved.frequency} in ${address}`);
    }
  }
  return out;
}

function describeScanningState(v: any): string {
  const rules = scanningRules(v).map((r) => `${r.frequency} [${r.filters.join(", ")}]`);
  return `${v?.scan_type ?? "unknown"}${rules.length ? `: ${rules.join("; ")}` : ", no rules"}`;
}

