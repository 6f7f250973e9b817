/**
 * Turns `terraform show -json` plans into a review: counts, every resource, flagged risks, the
 * policy-pack suppressions, and the destructive-change guard's decision. Pure functions, so the
 * same code serves `npm run plan`, CI and the tests.
 */
import { assignments, type LocalEndpointUse } from "../../config/local-endpoint-guard";

/** What Terraform will do to one resource. */
export type Action = "create" | "update" | "delete" | "replace" | "read" | "no-op";

/** One resource change of a plan. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly action: Action;
}

/** A flagged risk. */
export interface Risk {
  readonly kind: "repository-lost" | "iam-change" | "privileged-on" | "backend-change";
  readonly address: string;
  readonly message: string;
}

/** The review of one stack's plan. */
export interface StackReview {
  readonly stack: string;
  readonly counts: Record<"add" | "change" | "destroy" | "replace", number>;
  readonly changes: ResourceChange[];
  readonly risks: Risk[];
  readonly suppressions: { address: string; rule: string; reason: string }[];
  /** `<stack>:<address>` of repositories and roles the plan deletes or replaces. */
  readonly destructive: string[];
}

/** Resource types whose deletion or replacement is blocked unless allowed by name. */
export const GUARDED_TYPES = ["aws_ecr_repository", "aws_iam_role"] as const;

const IAM_POLICY_FIELDS: Record<string, string[]> = {
  aws_iam_role: ["assume_role_policy", "permissions_boundary", "managed_policy_arns"],
  aws_iam_role_policy: ["policy"],
  aws_iam_policy: ["policy"],
  aws_ecr_repository_policy: ["policy"],
  aws_iam_role_policy_attachment: ["policy_arn"],
};

function actionOf(actions: string[]): Action {
  if (actions.includes("delete") && actions.includes("create")) return "replace";
  if (actions.includes("create")) return "create";
  if (actions.includes("delete")) return "delete";
  if (actions.includes("update")) return "update";
  if (actions.includes("read")) return "read";
  return "no-op";
}

function normalizeJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(normalizeJson(a)) === JSON.stringify(normalizeJson(b));
const first = (v: any) => (Array.isArray(v) ? v[0] : v);

/**
 * Reviews one plan.
 * @param plan `terraform show -json <planfile>`
 * @param synthesized the stack's cdk.tf.json (for the policy-pack suppressions)
 * @param backendBefore the backend settings the state was last initialized with, if known
 */
export function reviewPlan(stack: string, plan: any, synthesized: any, backendBefore?: Record<string, unknown>): StackReview {
  const changes: ResourceChange[] = [];
  const risks: Risk[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode === "data") continue;
    const action = actionOf(rc.change?.actions ?? []);
    if (action === "no-op" || action === "read") continue;
    changes.push({ address: rc.address, type: rc.type, action });
    const before = rc.change.before ?? {};
    const after = rc.change.after ?? {};
    const unknown = rc.change.after_unknown ?? {};

    if (rc.type === "aws_ecr_repository" && (action === "delete" || action === "replace")) {
      risks.push({
        kind: "repository-lost",
        address: rc.address,
        message: `ECR repository ${before.name ?? rc.address} is ${action === "delete" ? "deleted" : "replaced"}: its images are lost`,
      });
    }
    const fields = IAM_POLICY_FIELDS[rc.type];
    if (fields) {
      // A policy that becomes "known after apply" (it references something being replaced) is a change too.
      const changed =
        action === "update" ? fields.filter((f) => unknown[f] === true || (after[f] !== undefined && !same(before[f], after[f]))) : fields;
      if (action !== "update" || changed.length > 0) {
        risks.push({
          kind: "iam-change",
          address: rc.address,
          message: `IAM ${action === "update" ? `change of ${changed.join(", ")}` : action} on ${rc.type} ${rc.address}`,
        });
      }
    }
    if (rc.type === "aws_codebuild_project") {
      const was = first(before.environment)?.privileged_mode === true;
      const is = first(after.environment)?.privileged_mode === true;
      if (is && !was) {
        risks.push({ kind: "privileged-on", address: rc.address, message: `privileged mode turned on for CodeBuild project ${after.name ?? rc.address}` });
      }
    }
  }

  const backendNow = synthesized?.terraform?.backend?.s3;
  if (backendBefore && backendNow) {
    const keys = [...new Set([...Object.keys(backendBefore), ...Object.keys(backendNow)])].filter(
      (k) => backendBefore[k] !== undefined && backendNow[k] !== undefined && !same(backendBefore[k], backendNow[k]),
    );
    if (keys.length) {
      risks.push({
        kind: "backend-change",
        address: "terraform.backend.s3",
        message: `state backend changes: ${keys.map((k) => `${k} ${JSON.stringify(backendBefore[k])} -> ${JSON.stringify(backendNow[k])}`).join(", ")}`,
      });
    }
  }

  const suppressions = Object.entries<any>(synthesized?.resource ?? {}).flatMap(([type, byId]) =>
    Object.entries<any>(byId).flatMap(([id, body]) =>
      (body?.["//"]?.policy_suppressions ?? []).map((s: any) => ({ address: `${type}.${id}`, rule: s.rule, reason: s.reason })),
    ),
  );

  const count = (a: Action) => changes.filter((c) => c.action === a).length;
  return {
    stack,
    counts: { add: count("create"), change: count("update"), destroy: count("delete"), replace: count("replace") },
    changes,
    risks,
    suppressions,
    destructive: changes
      .filter((c) => (GUARDED_TYPES as readonly string[]).includes(c.type) && (c.action === "delete" || c.action === "replace"))
      .map((c) => `${stack}:${c.address}`),
  };
}

/** The guard's decision: what blocks the plan, and allowances that match nothing. */
export interface GuardDecision {
  readonly blocked: string[];
  readonly unusedAllowances: string[];
  readonly ok: boolean;
}

/** Blocks every guarded deletion/replacement not named in `allowed`; an allowance must name one. */
export function guard(reviews: StackReview[], allowed: string[]): GuardDecision {
  const destructive = reviews.flatMap((r) => r.destructive);
  const blocked = destructive.filter((d) => !allowed.includes(d));
  const unusedAllowances = allowed.filter((a) => !destructive.includes(a));
  return { blocked, unusedAllowances, ok: blocked.length === 0 && unusedAllowances.length === 0 };
}

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
  if (decision.ok) verdict.push(":white_check_mark: No unallowed deletion or replacement of a repository or role.", "");
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
    stacks: reviews,
  };
}
