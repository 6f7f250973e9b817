/**
 * The review stage's Markdown and JSON: one stack's review, and the summary of a run (what
 * `npm run plan` prints and CI posts as one comment, within GitHub's size limit), with the guard's decision.
 */
import { assignments, type LocalEndpointUse } from "../../config/local-endpoint-guard";
import type { Action, GuardDecision, StackReview } from "./review";

/** Real environments planned against a local endpoint on purpose (`--allow-local-endpoint` or `ALLOW_LOCAL_ENDPOINT=1`). */
export interface LocalEndpointPlan extends LocalEndpointUse {
  /** The stacks of those environments. */
  readonly stacks: string[];
}

/** The line the review opens with when real environments were planned against a local endpoint. */
export function localEndpointNotice(p: LocalEndpointPlan): string {
  const many = p.environments.length > 1;
  return (
    `:warning: **Planned against a local endpoint, not AWS**: ${many ? "environments" : "environment"} ${p.environments.map((e) => `\`${e}\``).join(", ")} ` +
    `(not local) ${many ? "were" : "was"} planned with \`${assignments(p)}\` (allowed on purpose); this plan says nothing about ${many ? "their AWS accounts" : "its AWS account"}.`
  );
}

const ICON: Record<Action, string> = { create: "+", update: "~", delete: "-", replace: "-/+", read: "<=", "no-op": " " };

/**
 * Markdown for one stack.
 * @param localEndpoint when set and naming this stack, the review opens with {@link localEndpointNotice}
 */
export function stackMarkdown(r: StackReview, localEndpoint?: LocalEndpointPlan): string {
  const lines = [
    `## ${r.stack}`,
    "",
    ...(localEndpoint?.stacks.includes(r.stack) ? [localEndpointNotice(localEndpoint), ""] : []),
    `**${r.counts.add} to add, ${r.counts.change} to change, ${r.counts.destroy} to destroy, ${r.counts.replace} to replace**`,
    "",
  ];
  if (r.risks.length) {
    lines.push("Risks:", "", ...r.risks.map((k) => `- :warning: **${k.kind}**: ${k.message}`), "");
  } else {
    lines.push("Risks: none flagged.", "");
  }
  if (r.drift?.length) {
    lines.push("Drift (changed outside Terraform):", "", "| resource | outside Terraform | attributes | this plan |", "|---|---|---|---|");
    lines.push(
      ...r.drift.map((d) => `| \`${d.address}\` | ${d.action === "delete" ? "deleted" : "changed"} | ${d.attributes.join(", ")} | ${d.corrected ? (d.action === "delete" ? "creates it again" : "changes it back") : "keeps the change"} |`),
      "",
    );
  }
  if (r.changes.length) {
    lines.push("| action | resource |", "|---|---|", ...r.changes.map((c) => `| \`${ICON[c.action]}\` ${c.action} | \`${c.address}\` |`), "");
  } else {
    lines.push("No changes.", "");
  }
  if (r.suppressions.length) {
    lines.push("Policy-pack suppressions:", "", "| resource | rule | reason |", "|---|---|---|");
    lines.push(...r.suppressions.map((s) => `| \`${s.address}\` | ${s.rule} | ${s.reason} |`), "");
  }
  return lines.join("\n");
}

/** The most characters GitHub accepts in a pull-request comment. */
export const GITHUB_COMMENT_LIMIT = 65536;

/**
 * The default size limit of {@link summaryMarkdown}: GitHub's, less room for what the commenting
 * action adds (its hidden header) and a margin.
 */
export const SUMMARY_MAX_CHARS = 60000;

/** Options of {@link summaryMarkdown}. */
export interface SummaryOptions {
  /**
   * The most characters of the summary; the stacks' details that do not fit are left out, and
   * then the table rows, with a note that points to the plans artifact.
   * @default SUMMARY_MAX_CHARS
   */
  readonly maxChars?: number;
}

/** The note of a summary cut to fit a comment. */
function truncationNote(total: number, rows: number, details: number): string {
  const cut = [
    ...(rows < total ? [`the table lists the first ${rows} of ${total} stacks`] : []),
    `the details of ${total - details} of ${total} stacks are left out`,
  ].join(" and ");
  return (
    `:scissors: **Truncated to fit a pull-request comment** (GitHub's limit is ${GITHUB_COMMENT_LIMIT.toLocaleString("en-US")} characters): ${cut}. ` +
    "Every stack's review is in the `plans` artifact of this run (`<stack>.md`, and `summary.json` for all of them)."
  );
}

/**
 * Markdown for the whole review, fit for a pull-request comment: at most `maxChars`
 * characters, since GitHub refuses longer comments (each new stack adds ~2 KB of details).
 * @param localEndpoint when set, the review opens with {@link localEndpointNotice}
 */
export function summaryMarkdown(reviews: StackReview[], decision: GuardDecision, localEndpoint?: LocalEndpointPlan, options: SummaryOptions = {}): string {
  const maxChars = options.maxChars ?? SUMMARY_MAX_CHARS;
  const head = ["# Terraform plan review", "", ...(localEndpoint ? [localEndpointNotice(localEndpoint), ""] : []), "| stack | add | change | destroy | replace | risks |", "|---|---:|---:|---:|---:|---|"];
  const rows = reviews.map((r) => {
    const risks = r.risks.length ? [...new Set(r.risks.map((k) => k.kind))].join(", ") : "none";
    return `| ${r.stack} | ${r.counts.add} | ${r.counts.change} | ${r.counts.destroy} | ${r.counts.replace} | ${risks} |`;
  });
  const verdict: string[] = [""];
  if (decision.blocked.length) {
    verdict.push(
      `:no_entry: **Blocked**: the plan deletes or replaces ${decision.blocked.map((b) => `\`${b}\``).join(", ")}. ` +
        `Re-run with \`--allow-destroy <stack>:<address>\` naming exactly the resources allowed to go.`,
      "",
    );
  }
  if (decision.unusedAllowances.length) {
    verdict.push(`:no_entry: **--allow-destroy names resources the plan does not destroy**: ${decision.unusedAllowances.map((b) => `\`${b}\``).join(", ")}.`, "");
  }
  if (decision.emptyState?.length) {
    verdict.push(
      `:no_entry: **Blocked: empty state**: ${decision.emptyState.map((s) => `\`${s}\``).join(", ")} plan${decision.emptyState.length > 1 ? "" : "s"} to create everything again, ` +
        "although the last apply left resources in the state (`state-empty` below). Check the environment's `state.keyPrefix`, " +
        "`state.bucket` and `state.region`, or restore the state (docs/recovery.md); after an interrupted apply, adopt what it created with " +
        "`npm run recover -- --stack <stack>`; if the stack is meant to start empty, " +
        "re-run with `--allow-empty-state <stack>`.",
      "",
    );
  }
  if (decision.unusedEmptyStateAllowances?.length) {
    verdict.push(`:no_entry: **--allow-empty-state names stacks whose state is not unexpectedly empty**: ${decision.unusedEmptyStateAllowances.map((s) => `\`${s}\``).join(", ")}.`, "");
  }
  if (decision.ok) verdict.push(":white_check_mark: No unallowed deletion or replacement of a repository or role.", "");
  const allowedEmpty = reviews.filter((r) => r.risks.some((k) => k.kind === "state-empty") && !(decision.emptyState ?? []).includes(r.stack)).map((r) => r.stack);
  if (allowedEmpty.length) {
    verdict.push(`:warning: **Empty state allowed** (\`--allow-empty-state\`): ${allowedEmpty.map((s) => `\`${s}\``).join(", ")} will be created again from nothing.`, "");
  }
  const drifted = reviews.flatMap((r) => (r.drift ?? []).map((d) => ({ stack: r.stack, ...d })));
  if (drifted.length) {
    // Bounded: the verdict is never cut to fit a comment.
    const shown = drifted.slice(0, DRIFT_LINES);
    verdict.push(
      "Drift (changed outside Terraform):",
      "",
      ...shown.map(
        (d) =>
          `- \`${d.stack}\`: \`${d.address}\` ${d.action === "delete" ? "deleted" : `changed (${d.attributes.join(", ")})`}` +
          (d.corrected ? `: this plan ${d.action === "delete" ? "creates it again" : "changes it back"}` : ""),
      ),
      ...(drifted.length > shown.length ? [`- … and ${drifted.length - shown.length} more (each stack's review lists them)`] : []),
      "",
    );
  }
  const details = reviews.map((r) => stackMarkdown(r, localEndpoint));

  const render = (rowCount: number, detailCount: number): string => {
    const note = rowCount < rows.length || detailCount < details.length ? [truncationNote(reviews.length, rowCount, detailCount), ""] : [];
    return [...head, ...rows.slice(0, rowCount), ...verdict, ...note, ...details.slice(0, detailCount)].join("\n");
  };
  const full = render(rows.length, details.length);
  if (full.length <= maxChars) return full;
  // Whole details go first (the table and the verdict matter most), then whole rows of the table.
  const detailCount = largestFitting(details.length, (n) => render(rows.length, n).length <= maxChars);
  const rowCount = largestFitting(rows.length, (n) => render(n, detailCount).length <= maxChars);
  return render(rowCount, detailCount);
}

/** The most drifted resources {@link summaryMarkdown} lists above the stacks' details. */
const DRIFT_LINES = 20;

/** The largest n in 0..max for which `fits(n)` holds (`fits` turns false as n grows), or 0. */
function largestFitting(max: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The whole review as JSON (summary.json), for tools; `localEndpoint` comes first, null when unused. */
export function summaryJson(reviews: StackReview[], decision: GuardDecision, localEndpoint?: LocalEndpointPlan): object {
  return {
    localEndpoint: localEndpoint ? { notice: localEndpointNotice(localEndpoint), ...localEndpoint } : null,
    ok: decision.ok,
    blocked: decision.blocked,
    unusedAllowances: decision.unusedAllowances,
    emptyState: decision.emptyState ?? [],
    unusedEmptyStateAllowances: decision.unusedEmptyStateAllowances ?? [],
    drift: reviews.flatMap((r) => (r.drift ?? []).map((d) => ({ stack: r.stack, ...d }))),
    stacks: reviews,
  };
}
