/**
 * The summary of a run as Markdown: what `npm run plan` prints and CI posts as the one pull-request
 * comment (and the job's step summary). Bounded in every case: each list of the verdict shows its
 * first entries and "… and N more (see the plans artifact)", then whole details and table rows are
 * left out, and as a last resort the text is cut, so it never passes GitHub's limit.
 */
import type { AllowancesFile } from "./allowances";
import { GITHUB_COMMENT_LIMIT, localEndpointNotice, stackMarkdown, SUMMARY_MAX_CHARS, type LocalEndpointPlan } from "./render";
import type { GuardDecision, StackReview } from "./review";

/** Where and what the review was made from, shown under the title. */
export interface RunContext {
  /** The commit planned. */
  readonly commit?: string | null;
  /** The CI run's page. */
  readonly runUrl?: string;
  /** Planned in CI (GITHUB_ACTIONS=true): the advice names deploy-allowances.json, never flags. */
  readonly ci?: boolean;
}

/** Options of {@link summaryMarkdown}. */
export interface SummaryOptions {
  /**
   * The most characters of the summary; the stacks' details that do not fit are left out, and
   * then the table rows, with a note that points to the plans artifact.
   * @default SUMMARY_MAX_CHARS
   */
  readonly maxChars?: number;
  readonly context?: RunContext;
  /** The reviewed allowances file the decision took, shown with what it allowed and what is stale. */
  readonly allowances?: AllowancesFile;
}

/** How many entries each list of the verdict shows before "… and N more". */
export const LIST_ITEMS = 20;

/** The CI context of a run from the variables GitHub Actions sets. */
export function runContext(env: NodeJS.ProcessEnv, commit: string | null): RunContext {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
  return { commit, ci: env.GITHUB_ACTIONS === "true", ...(server && repo && run ? { runUrl: `${server}/${repo}/actions/runs/${run}` } : {}) };
}

/** `a`, `b`, … and N more (see the plans artifact): at most `max` items, each in backticks. */
export function boundedList(items: readonly string[], max = LIST_ITEMS): string {
  const shown = items.slice(0, max).map((i) => `\`${i}\``).join(", ");
  return items.length > max ? `${shown} … and ${items.length - max} more (see the plans artifact)` : shown;
}

/** Bullet lines, at most `max`, then "- … and N more (see the plans artifact)". */
function boundedLines(lines: readonly string[], max = LIST_ITEMS): string[] {
  return [...lines.slice(0, max), ...(lines.length > max ? [`- … and ${lines.length - max} more (see the plans artifact)`] : [])];
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

/** The line under the title: the commit, the run and its artifacts (and a blank line), or nothing. */
export function contextLine(c: RunContext | undefined): string[] {
  if (!c || (!c.commit && !c.runUrl)) return [];
  const parts = [
    ...(c.commit ? [`Commit \`${c.commit.slice(0, 12)}\``] : []),
    ...(c.runUrl ? [`[run](${c.runUrl})`, `[plans artifact](${c.runUrl}#artifacts)`] : []),
  ];
  return [parts.join(" · "), ""];
}

/** The guard's verdict, each list bounded. */
function verdictLines(reviews: readonly StackReview[], decision: GuardDecision, ci: boolean): string[] {
  const out: string[] = [""];
  if (decision.blocked.length) {
    out.push(
      `:no_entry: **Blocked**: the plan deletes or replaces ${boundedList(decision.blocked)}. ` +
        (ci
          ? "To allow exactly these, add each `<stack>:<address>` to `allowDestroy` in `deploy-allowances.json` (with a `reason`) in this pull request."
          : "Re-run with `--allow-destroy <stack>:<address>` naming exactly the resources allowed to go."),
      "",
    );
  }
  if (decision.unusedAllowances.length) out.push(`:no_entry: **--allow-destroy names resources the plan does not destroy**: ${boundedList(decision.unusedAllowances)}.`, "");
  if (decision.emptyState.length) {
    out.push(
      `:no_entry: **Blocked: empty state**: ${boundedList(decision.emptyState)} plan${decision.emptyState.length > 1 ? "" : "s"} to create everything again, ` +
        "although the last apply left resources in the state (`state-empty` below). Check the environment's `state.keyPrefix`, " +
        "`state.bucket` and `state.region`, or restore the state (docs/recovery.md); after an interrupted apply, adopt what it created with " +
        "`npm run recover -- --stack <stack>`; if the stack is meant to start empty, " +
        (ci ? "add it to `allowEmptyState` in `deploy-allowances.json` in this pull request." : "re-run with `--allow-empty-state <stack>`."),
      "",
    );
  }
  if (decision.unusedEmptyStateAllowances.length) {
    out.push(`:no_entry: **--allow-empty-state names stacks whose state is not unexpectedly empty**: ${boundedList(decision.unusedEmptyStateAllowances)}.`, "");
  }
  if (decision.ok) out.push(":white_check_mark: No unallowed deletion or replacement of a repository or role.", "");
  const allowedEmpty = reviews.filter((r) => r.risks.some((k) => k.kind === "state-empty") && !decision.emptyState.includes(r.stack)).map((r) => r.stack);
  if (allowedEmpty.length) out.push(`:warning: **Empty state allowed**: ${boundedList(allowedEmpty)} will be created again from nothing.`, "");
  return out;
}

/** The reviewed allowances file: what it allows, why, and its stale entries. */
function allowancesLines(file: AllowancesFile | undefined, decision: GuardDecision): string[] {
  if (!file || (!file.allowDestroy.length && !file.allowEmptyState.length)) return [];
  const stale = decision.stale ?? { allowDestroy: [], allowEmptyState: [] };
  const used = (all: string[], s: string[]) => all.filter((a) => !s.includes(a));
  const destroy = used(file.allowDestroy, stale.allowDestroy);
  const empty = used(file.allowEmptyState, stale.allowEmptyState);
  return [
    `**Allowed in \`${file.file}\`** (reviewed with this pull request): ${file.reason.replace(/\s+/g, " ").slice(0, 500)}`,
    "",
    ...(destroy.length ? [`- may be deleted or replaced: ${boundedList(destroy)}`] : []),
    ...(empty.length ? [`- may start on an empty state: ${boundedList(empty)}`] : []),
    ...(stale.allowDestroy.length || stale.allowEmptyState.length
      ? [`- :warning: **stale** (matches nothing in these plans; remove it): ${boundedList([...stale.allowDestroy, ...stale.allowEmptyState])}`]
      : []),
    "",
  ];
}

/** Drift of every stack, bounded. */
function driftLines(reviews: readonly StackReview[]): string[] {
  const drifted = reviews.flatMap((r) => (r.drift ?? []).map((d) => ({ stack: r.stack, ...d })));
  if (!drifted.length) return [];
  const lines = drifted.map(
    (d) =>
      `- \`${d.stack}\`: \`${d.address}\` ${d.action === "delete" ? "deleted" : `changed (${d.attributes.join(", ")})`}` +
      (d.corrected ? `: this plan ${d.action === "delete" ? "creates it again" : "changes it back"}` : ""),
  );
  return ["Drift (changed outside Terraform):", "", ...boundedLines(lines), ""];
}

/** The policy-pack suppressions of every stack, once: one row per resource, rule and reason, with the stacks that hold it. */
function suppressionLines(reviews: readonly StackReview[]): string[] {
  const rows = new Map<string, { rule: string; reason: string; address: string; stacks: string[] }>();
  for (const r of reviews) {
    for (const s of r.suppressions) {
      const key = JSON.stringify([s.rule, s.reason, s.address]);
      const row = rows.get(key) ?? { ...s, stacks: [] };
      row.stacks.push(r.stack);
      rows.set(key, row);
    }
  }
  if (!rows.size) return [];
  const all = [...rows.values()];
  const shown = all.slice(0, LIST_ITEMS).map((s) => `| ${s.rule} | ${s.reason} | \`${s.address}\` | ${s.stacks.length === 1 ? s.stacks[0] : `${s.stacks.length} stacks`} |`);
  return [
    "Policy-pack suppressions:",
    "",
    "| rule | reason | resource | in |",
    "|---|---|---|---|",
    ...shown,
    ...(all.length > LIST_ITEMS ? [`| … | and ${all.length - LIST_ITEMS} more (see the plans artifact) | | |`] : []),
    "",
  ];
}

/**
 * Markdown for the whole review, fit for a pull-request comment: at most `maxChars`
 * characters, since GitHub refuses longer comments.
 * @param localEndpoint when set, the review opens with {@link localEndpointNotice}
 */
export function summaryMarkdown(reviews: StackReview[], decision: GuardDecision, localEndpoint?: LocalEndpointPlan, options: SummaryOptions = {}): string {
  const maxChars = options.maxChars ?? SUMMARY_MAX_CHARS;
  const accounts = reviews.some((r) => r.account);
  const head = [
    "# Terraform plan review",
    "",
    ...(localEndpoint ? [localEndpointNotice(localEndpoint), ""] : []),
    ...contextLine(options.context),
    `| stack |${accounts ? " account |" : ""} add | change | destroy | replace | risks |`,
    `|---|${accounts ? "---|" : ""}---:|---:|---:|---:|---|`,
  ];
  const rows = reviews.map((r) => {
    const risks = r.risks.length ? [...new Set(r.risks.map((k) => k.kind))].join(", ") : "none";
    return `| ${r.stack} |${accounts ? ` ${r.account ?? ""} |` : ""} ${r.counts.add} | ${r.counts.change} | ${r.counts.destroy} | ${r.counts.replace} | ${risks} |`;
  });
  const verdict = [
    ...verdictLines(reviews, decision, options.context?.ci === true),
    ...allowancesLines(options.allowances, decision),
    ...driftLines(reviews),
    ...suppressionLines(reviews),
  ];
  const details = reviews.map((r) => stackMarkdown(r, localEndpoint, { suppressions: false }));

  const render = (rowCount: number, detailCount: number): string => {
    const note = rowCount < rows.length || detailCount < details.length ? [truncationNote(reviews.length, rowCount, detailCount), ""] : [];
    return [...head, ...rows.slice(0, rowCount), ...verdict, ...note, ...details.slice(0, detailCount)].join("\n");
  };
  const full = render(rows.length, details.length);
  if (full.length <= maxChars) return full;
  // Whole details go first (the table and the verdict matter most), then whole rows of the table.
  const detailCount = largestFitting(details.length, (n) => render(rows.length, n).length <= maxChars);
  const rowCount = largestFitting(rows.length, (n) => render(n, detailCount).length <= maxChars);
  const fitted = render(rowCount, detailCount);
  return fitted.length <= maxChars ? fitted : cut(fitted, maxChars);
}

/** The last resort of a limit smaller than the verdict itself: whole lines up to the limit, and a line saying so. */
function cut(text: string, maxChars: number): string {
  const tail = "\n\n:scissors: … cut here to fit the size limit (see the plans artifact).";
  if (maxChars <= tail.length) return text.slice(0, Math.max(0, maxChars));
  const room = text.slice(0, maxChars - tail.length);
  const end = room.lastIndexOf("\n");
  return `${end > 0 ? room.slice(0, end) : room}${tail}`;
}

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
