/**
 * The review stage's Markdown and JSON: one stack's review, and the summary of a run (what
 * `npm run plan` prints and CI posts as one comment, within GitHub's size limit), with the guard's decision.
 */
import { assignments, type LocalEndpointUse } from "../../config/local-endpoint-guard";
import type { Action, GuardDecision, ResourceChange, StackReview } from "./review";
import type { RecordedAllowances } from "./saved-plans";

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
export function stackMarkdown(r: StackReview, localEndpoint?: LocalEndpointPlan, options: { readonly suppressions?: boolean } = {}): string {
  const lines = [
    `## ${r.stack}${r.account ? ` (account ${r.account})` : ""}`,
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
    lines.push("| action | resource | changed attributes |", "|---|---|---|", ...r.changes.map((c) => `| \`${ICON[c.action]}\` ${c.action} | \`${c.address}\` | ${attributeNames(c)} |`), "");
  } else {
    lines.push("No changes.", "");
  }
  if (r.suppressions.length && options.suppressions !== false) {
    lines.push("Policy-pack suppressions:", "", "| resource | rule | reason |", "|---|---|---|");
    lines.push(...r.suppressions.map((s) => `| \`${s.address}\` | ${s.rule} | ${s.reason} |`), "");
  }
  return lines.join("\n");
}

/** The names of the attributes a change changes (values never; sensitive ones counted, not named). */
export function attributeNames(c: ResourceChange): string {
  const names = (c.attributes ?? []).join(", ");
  const sensitive = c.sensitive ? `${names ? " and " : ""}${c.sensitive} sensitive` : "";
  return `${names}${sensitive}`;
}

/** The most characters GitHub accepts in a pull-request comment. */
export const GITHUB_COMMENT_LIMIT = 65536;

/**
 * The default size limit of the summary: GitHub's, less room for what the commenting action adds
 * (its hidden header) and a margin.
 */
export const SUMMARY_MAX_CHARS = 60000;

/** The whole review as JSON (summary.json), for tools; `localEndpoint` comes first, null when unused. */
export function summaryJson(reviews: StackReview[], decision: GuardDecision, localEndpoint?: LocalEndpointPlan, allowances?: RecordedAllowances): object {
  return {
    localEndpoint: localEndpoint ? { notice: localEndpointNotice(localEndpoint), ...localEndpoint } : null,
    ok: decision.ok,
    blocked: decision.blocked,
    unusedAllowances: decision.unusedAllowances,
    emptyState: decision.emptyState ?? [],
    unusedEmptyStateAllowances: decision.unusedEmptyStateAllowances ?? [],
    staleAllowances: decision.stale ?? { allowDestroy: [], allowEmptyState: [] },
    // What the decision allowed: npm run deploy -- --plans decides again with exactly these.
    allowances: allowances ?? { flags: { allowDestroy: [], allowEmptyState: [] }, file: null },
    drift: reviews.flatMap((r) => (r.drift ?? []).map((d) => ({ stack: r.stack, ...d }))),
    stacks: reviews,
  };
}
