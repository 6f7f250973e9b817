/**
 * Turns `terraform show -json` plans into a review: counts, every resource, flagged risks, the
 * policy-pack suppressions, and the destructive-change guard's decision. Pure functions, so the
 * same code serves `npm run plan`, CI and the tests.
 */
import { scanningDowngrades } from "./scanning";
import type { StateRecord } from "./state-record";

export { scanningDowngrades } from "./scanning";

/** What Terraform will do to one resource. */
export type Action = "create" | "update" | "delete" | "replace" | "read" | "no-op";

/** One resource change of a plan. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly action: Action;
  /** Of an update or replacement: the names of the top-level attributes that change (never values; sensitive ones are only counted). */
  readonly attributes?: string[];
  /** How many sensitive attributes change (their names are not shown either). */
  readonly sensitive?: number;
}

/** A flagged risk. */
export interface Risk {
  readonly kind: "repository-lost" | "iam-change" | "privileged-on" | "backend-change" | "state-empty" | "drift" | "scanning-downgrade";
  readonly address: string;
  readonly message: string;
}

/** A resource changed outside Terraform, as the plan's refresh found it (`resource_drift`). */
export interface DriftedResource {
  readonly address: string;
  readonly type: string;
  /** update: changed outside Terraform; delete: deleted outside Terraform. */
  readonly action: "update" | "delete";
  /** The top-level attributes that changed (names only: values may be secrets). */
  readonly attributes: string[];
  /** True when this plan changes the resource (back): the change is a drift correction, not a change of the code. */
  readonly corrected: boolean;
}

/** What is known of the stack's state before this plan: the record of its last apply (see state-record.ts). */
export type LastKnownState = Pick<StateRecord, "outputs" | "resources" | "after" | "at">;

/** The review of one stack's plan. */
export interface StackReview {
  readonly stack: string;
  /** The AWS account the stack deploys to. @default - not known (a review written before accounts were recorded) */
  readonly account?: string;
  readonly counts: Record<"add" | "change" | "destroy" | "replace", number>;
  readonly changes: ResourceChange[];
  readonly risks: Risk[];
  /** Resources changed outside Terraform since the state was written. */
  readonly drift: DriftedResource[];
  readonly suppressions: { address: string; rule: string; reason: string }[];
  /** `<stack>:<address>` of repositories and roles the plan deletes or replaces. */
  readonly destructive: string[];
  /** The last deploy its state record names (the commit, null when unknown), if it has one. */
  readonly deployed?: { readonly commit: string | null; readonly at: string };
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
  if (typeof v === "string") {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  // `terraform init` records every setting of a nested block, unset ones as null (endpoints.sso:
  // null): an unset setting is the same as an absent one.
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== null && x !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, normalizeJson(x)]),
    );
  }
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(normalizeJson(a)) === JSON.stringify(normalizeJson(b));
const first = (v: any) => (Array.isArray(v) ? v[0] : v);

/**
 * Reviews one plan.
 * @param plan `terraform show -json <planfile>`
 * @param synthesized the stack's cdk.tf.json (for the policy-pack suppressions)
 * @param backendBefore the backend settings the state was last applied (or initialized) with, if known
 * @param lastKnown what the state held after the last apply, if known: a plan that creates
 *   everything although it held resources or outputs is a `state-empty` risk (the guard blocks it)
 */
export function reviewPlan(
  stack: string,
  plan: any,
  synthesized: any,
  backendBefore?: Record<string, unknown>,
  lastKnown?: LastKnownState,
  options: ReviewOptions = {},
): StackReview {
  const changes: ResourceChange[] = [];
  const risks: Risk[] = [];
  const drift = driftOf(plan);
  for (const d of drift) {
    risks.push({
      kind: "drift",
      address: d.address,
      message:
        d.action === "delete"
          ? `${d.address} was deleted outside Terraform (the plan creates it again)`
          : `${d.address} was changed outside Terraform: ${d.attributes.join(", ")} (${d.corrected ? "the plan changes it back" : "the plan keeps the change"})`,
    });
  }
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode === "data") continue;
    const action = actionOf(rc.change?.actions ?? []);
    if (action === "no-op" || action === "read") continue;
    changes.push({ address: rc.address, type: rc.type, action, ...(action === "update" || action === "replace" ? changedAttributes(rc.change) : {}) });
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
    if (rc.type === "aws_ecr_registry_scanning_configuration") {
      for (const message of scanningDowngrades(rc.address, action, before, after)) risks.push({ kind: "scanning-downgrade", address: rc.address, message });
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

  const managed = (plan.resource_changes ?? []).filter((rc: any) => rc.mode !== "data");
  const recreatesAll = managed.length > 0 && managed.every((rc: any) => actionOf(rc.change?.actions ?? []) === "create" && (rc.change?.actions ?? []).length === 1);
  if (lastKnown && recreatesAll && (lastKnown.resources > 0 || lastKnown.outputs.length > 0)) {
    const where = backendNow?.bucket !== undefined ? `s3://${backendNow.bucket}/${backendNow.key}` : "of this stack";
    const outputs = lastKnown.outputs.length
      ? ` and ${lastKnown.outputs.length} output${lastKnown.outputs.length > 1 ? "s" : ""} (${lastKnown.outputs.slice(0, 4).join(", ")}${lastKnown.outputs.length > 4 ? ", …" : ""})`
      : "";
    const recorded = lastKnown.after === "init" ? "the first plan of this stack here found" : "the last apply recorded";
    risks.push({
      kind: "state-empty",
      address: "terraform.backend.s3",
      message:
        `the state at ${where} is empty (the plan creates all ${managed.length} resources) but ${recorded} ${lastKnown.resources} resource${lastKnown.resources === 1 ? "" : "s"}${outputs} ` +
        `(${lastKnown.at}): check state.keyPrefix, state.bucket and state.region of the environment, or restore the state (docs/recovery.md); ` +
        `after an interrupted apply, adopt what it created with npm run recover -- --stack ${stack}; ` +
        (options.ci
          ? `if the stack is meant to start empty, add "${stack}" to allowEmptyState in deploy-allowances.json in this pull request`
          : `if the stack is meant to start empty, re-run with --allow-empty-state ${stack}`),
    });
  }

  const suppressions = Object.entries<any>(synthesized?.resource ?? {}).flatMap(([type, byId]) =>
    Object.entries<any>(byId).flatMap(([id, body]) =>
      (body?.["//"]?.policy_suppressions ?? []).map((s: any) => ({ address: `${type}.${id}`, rule: s.rule, reason: s.reason })),
    ),
  );

  const count = (a: Action) => changes.filter((c) => c.action === a).length;
  return {
    stack,
    ...(options.account ? { account: options.account } : {}),
    counts: { add: count("create"), change: count("update"), destroy: count("delete"), replace: count("replace") },
    changes,
    risks,
    drift,
    suppressions,
    destructive: changes
      .filter((c) => (GUARDED_TYPES as readonly string[]).includes(c.type) && (c.action === "delete" || c.action === "replace"))
      .map((c) => `${stack}:${c.address}`),
  };
}

/** How a plan is reviewed beyond the plan itself. */
export interface ReviewOptions {
  /** The stack's AWS account, shown in the summary. @default - not shown */
  readonly account?: string;
  /** Planned in CI (GITHUB_ACTIONS=true): advice names deploy-allowances.json, not flags. @default false */
  readonly ci?: boolean;
}

/** The names of the top-level attributes an update changes (or leaves unknown until apply); sensitive ones only counted. */
export function changedAttributes(change: any): { attributes: string[]; sensitive: number } {
  const before = change?.before ?? {};
  const after = change?.after ?? {};
  const unknown = change?.after_unknown ?? {};
  const isSensitive = (k: string) => Boolean(change?.before_sensitive?.[k]) || Boolean(change?.after_sensitive?.[k]);
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown)])]
    .filter((k) => unknown[k] === true || !same(emptyAsNull(before[k]), emptyAsNull(after[k])))
    .sort();
  return { attributes: changed.filter((k) => !isSensitive(k)), sensitive: changed.filter(isSensitive).length };
}

/** `<role name>:<policy name>` of every aws_iam_role_policy the plan's state or configuration holds. */
function managedInlinePolicies(plan: any): Set<string> {
  const out = new Set<string>();
  const walk = (module: any): void => {
    for (const r of module?.resources ?? []) if (r.type === "aws_iam_role_policy" && r.values?.role && r.values?.name) out.add(`${r.values.role}:${r.values.name}`);
    for (const child of module?.child_modules ?? []) walk(child);
  };
  walk(plan?.prior_state?.values?.root_module);
  walk(plan?.planned_values?.root_module);
  return out;
}

/** Whether every inline policy of the role in these values is one that the stack manages itself. */
function onlyManaged(role: unknown, values: unknown[], managed: Set<string>): boolean {
  const names = values.flatMap((v) => (Array.isArray(v) ? v : [])).map((p: any) => p?.name);
  return typeof role === "string" && names.every((n) => typeof n === "string" && managed.has(`${role}:${n}`));
}

/** The resources of a plan's `resource_drift` that changed or went outside Terraform, with the names of the changed attributes. */
export function driftOf(plan: any): DriftedResource[] {
  const drift: DriftedResource[] = [];
  const managed = managedInlinePolicies(plan);
  const planned = new Map<string, Action>((plan?.resource_changes ?? []).map((rc: any) => [rc.address, actionOf(rc.change?.actions ?? [])]));
  const corrected = (address: string) => !["no-op", "read", undefined].includes(planned.get(address));
  for (const rd of plan?.resource_drift ?? []) {
    if (rd.mode === "data") continue;
    const actions: string[] = rd.change?.actions ?? [];
    if (actions.includes("delete")) {
      drift.push({ address: rd.address, type: rd.type, action: "delete", attributes: [], corrected: corrected(rd.address) });
    } else if (actions.includes("update")) {
      const before = rd.change.before ?? {};
      const after = rd.change.after ?? {};
      const attributes = [...new Set([...Object.keys(before), ...Object.keys(after)])]
        .filter((k) => !same(emptyAsNull(before[k]), emptyAsNull(after[k])))
        // A role's inline policies that aws_iam_role_policy resources of this stack manage are read
        // back into the role after their first apply: not a change made outside Terraform.
        .filter((k) => !(rd.type === "aws_iam_role" && k === "inline_policy" && onlyManaged(after.name, [before[k], after[k]], managed)))
        .sort();
      // Only a representation changed (equivalent policy JSON, no tags read back as {}): nothing to review.
      if (attributes.length) drift.push({ address: rd.address, type: rd.type, action: "update", attributes, corrected: corrected(rd.address) });
    }
  }
  return drift;
}

/** null for an unset value and for an empty one ("", [], {}): the provider reads back either. */
function emptyAsNull(v: unknown): unknown {
  if (v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) return null;
  if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) return null;
  return v;
}

/** The guard's decision: what blocks the plan, and allowances that match nothing. */
export interface GuardDecision {
  readonly blocked: string[];
  readonly unusedAllowances: string[];
  /** Stacks whose plan recreates everything on an empty state (`state-empty`) that `--allow-empty-state` does not name. */
  readonly emptyState: string[];
  /** `--allow-empty-state` names of stacks without a `state-empty` risk. */
  readonly unusedEmptyStateAllowances: string[];
  /** Entries of the allowances file that match nothing in these plans: shown (remove them), never blocking. */
  readonly stale?: Allowances;
  readonly ok: boolean;
}

/** Allowed destructions (`<stack>:<address>`) and stacks allowed to start on an empty state. */
export interface Allowances {
  readonly allowDestroy: string[];
  readonly allowEmptyState: string[];
}

/**
 * Blocks every guarded deletion/replacement not named in `allowed` (or `file`), and every stack
 * with a `state-empty` risk not named in `allowedEmptyState` (or `file`). An allowance given as a
 * flag must name one (so a stale one fails the run that gave it); an entry of the reviewed
 * allowances file that names none is only reported as stale.
 */
export function guard(reviews: StackReview[], allowed: string[], allowedEmptyState: string[] = [], file?: Allowances): GuardDecision {
  const destructive = reviews.flatMap((r) => r.destructive);
  const allowedAll = [...allowed, ...(file?.allowDestroy ?? [])];
  const blocked = destructive.filter((d) => !allowedAll.includes(d));
  const unusedAllowances = allowed.filter((a) => !destructive.includes(a));
  const empty = reviews.filter((r) => r.risks.some((k) => k.kind === "state-empty")).map((r) => r.stack);
  const emptyState = empty.filter((s) => !allowedEmptyState.includes(s) && !(file?.allowEmptyState ?? []).includes(s));
  const unusedEmptyStateAllowances = allowedEmptyState.filter((s) => !empty.includes(s));
  const stale = file && {
    allowDestroy: file.allowDestroy.filter((a) => !destructive.includes(a)),
    allowEmptyState: file.allowEmptyState.filter((s) => !empty.includes(s)),
  };
  return {
    blocked,
    unusedAllowances,
    emptyState,
    unusedEmptyStateAllowances,
    ...(stale ? { stale } : {}),
    ok: blocked.length === 0 && unusedAllowances.length === 0 && emptyState.length === 0 && unusedEmptyStateAllowances.length === 0,
  };
}

export { attributeNames, GITHUB_COMMENT_LIMIT, localEndpointNotice, stackMarkdown, SUMMARY_MAX_CHARS, summaryJson, type LocalEndpointPlan } from "./render";
export { boundedList, LIST_ITEMS, runContext, summaryMarkdown, type RunContext, type SummaryOptions } from "./summary-markdown";
