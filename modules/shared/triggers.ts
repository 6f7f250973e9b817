import type { CodebuildWebhookFilterGroup } from "@cdktf/provider-aws/lib/codebuild-webhook";
import { PropProblems } from "./validation";

/**
 * A webhook event CodeBuild can start a build on. Which ones a source supports:
 * GITHUB all of them; GITHUB_ENTERPRISE all but RELEASED and PRERELEASED; BITBUCKET PUSH,
 * PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_MERGED and PULL_REQUEST_CLOSED.
 */
export type WebhookEvent =
  | "PUSH"
  | "PULL_REQUEST_CREATED"
  | "PULL_REQUEST_UPDATED"
  | "PULL_REQUEST_REOPENED"
  | "PULL_REQUEST_MERGED"
  | "PULL_REQUEST_CLOSED"
  | "RELEASED"
  | "PRERELEASED";

/** The pull request events: the only ones of `triggers.pullRequest`, never of `triggers.push`. */
export const PULL_REQUEST_EVENTS: readonly WebhookEvent[] = [
  "PULL_REQUEST_CREATED",
  "PULL_REQUEST_UPDATED",
  "PULL_REQUEST_REOPENED",
  "PULL_REQUEST_MERGED",
  "PULL_REQUEST_CLOSED",
];

/** The webhook events each source type supports (CodeBuild user guide, "GitHub/Bitbucket webhook events"). */
export const WEBHOOK_EVENTS_BY_SOURCE: Readonly<Record<WebhookSourceType, readonly WebhookEvent[]>> = {
  GITHUB: ["PUSH", ...PULL_REQUEST_EVENTS, "RELEASED", "PRERELEASED"],
  GITHUB_ENTERPRISE: ["PUSH", ...PULL_REQUEST_EVENTS],
  BITBUCKET: ["PUSH", "PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED", "PULL_REQUEST_MERGED", "PULL_REQUEST_CLOSED"],
};

/** The source types CodeBuild has webhooks for. */
export type WebhookSourceType = "GITHUB" | "GITHUB_ENTERPRISE" | "BITBUCKET";

/**
 * A filter pattern: a regular expression the value must match, or, with `exclude: true`, must
 * not match. CodeBuild evaluates it with its own regex flavour; synth compiles it with
 * JavaScript's RegExp, the closest approximation.
 */
export type WebhookPattern = string | { readonly pattern: string; readonly exclude?: boolean };

/**
 * One filter group: a build starts when every filter of the group matches (and when any group
 * of the webhook does).
 */
export interface WebhookFilterGroup {
  /** The events (the group's EVENT filter, required). */
  readonly events: readonly WebhookEvent[];
  /** HEAD_REF: the pushed ref or the pull request's source branch, e.g. `^refs/heads/main$`. */
  readonly headRef?: WebhookPattern;
  /** BASE_REF: the pull request's target branch (pull request events only). */
  readonly baseRef?: WebhookPattern;
  /** FILE_PATH: a changed file (not with GITHUB_ENTERPRISE pull request events). */
  readonly filePath?: WebhookPattern;
  /** ACTOR_ACCOUNT_ID: the account ID of the user who caused the event. */
  readonly actorAccountId?: WebhookPattern;
}

/**
 * What starts builds of a project: a webhook on its source (GITHUB, GITHUB_ENTERPRISE or
 * BITBUCKET, with a CodeConnections `connectionArn`). Pushes build and push with the project;
 * pull requests build, without pushing, with a second project (`<projectName>-pr`) whose
 * role can only pull from the repository.
 */
export interface ProjectTriggers {
  /**
   * The default branch the default filter groups name.
   * @default - the source's `branch`, else "main"
   */
  readonly branch?: string;

  /**
   * Filter groups of the project's own webhook: these builds push. No pull request event.
   * `false`: no webhook on the project.
   * @default - [{ events: ["PUSH"], headRef: "^refs/heads/<branch>$" }]
   */
  readonly push?: readonly WebhookFilterGroup[] | false;

  /**
   * Filter groups of the pull request project's webhook: these builds run with PUSH_IMAGE=false
   * and a role that can only pull. Pull request events only. `false`: no pull request project.
   * @default - [{ events: [PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED (not on BITBUCKET)], baseRef: "^refs/heads/<branch>$" }]
   */
  readonly pullRequest?: readonly WebhookFilterGroup[] | false;

  /**
   * The name of the pull request project.
   * @default - "<projectName>-pr"
   */
  readonly pullRequestProjectName?: string;
}

/** The variable the bundled buildspecs read: "false" builds without logging in to push or pushing. */
export const PUSH_IMAGE_VARIABLE = "PUSH_IMAGE";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The branch the default groups name: `triggers.branch`, else the source's branch, else "main". */
export function triggerBranch(triggers: ProjectTriggers, sourceBranch: string | undefined): string {
  return triggers.branch ?? sourceBranch ?? "main";
}

/** The filter groups of the project's own webhook (`undefined`: none). */
export function pushGroups(triggers: ProjectTriggers, branch: string): readonly WebhookFilterGroup[] | undefined {
  if (triggers.push === false) return undefined;
  return triggers.push ?? [{ events: ["PUSH"], headRef: `^refs/heads/${escapeRegExp(branch)}$` }];
}

/** The filter groups of the pull request project's webhook (`undefined`: no pull request project). */
export function pullRequestGroups(triggers: ProjectTriggers, branch: string, source: WebhookSourceType): readonly WebhookFilterGroup[] | undefined {
  if (triggers.pullRequest === false) return undefined;
  const events: WebhookEvent[] = ["PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED"];
  if (source !== "BITBUCKET") events.push("PULL_REQUEST_REOPENED");
  return triggers.pullRequest ?? [{ events, baseRef: `^refs/heads/${escapeRegExp(branch)}$` }];
}

const FILTER_TYPES = { headRef: "HEAD_REF", baseRef: "BASE_REF", filePath: "FILE_PATH", actorAccountId: "ACTOR_ACCOUNT_ID" } as const;

/** A filter group as `aws_codebuild_webhook` takes it: the EVENT filter first, then the others in a fixed order. */
export function renderFilterGroup(group: WebhookFilterGroup): CodebuildWebhookFilterGroup {
  const filter = [{ type: "EVENT", pattern: group.events.join(", ") }];
  for (const [prop, type] of Object.entries(FILTER_TYPES)) {
    const p = group[prop as keyof typeof FILTER_TYPES];
    if (p === undefined) continue;
    const { pattern, exclude } = typeof p === "string" ? { pattern: p, exclude: false } : { pattern: p.pattern, exclude: p.exclude ?? false };
    filter.push({ type, pattern, ...(exclude ? { excludeMatchedPattern: true } : {}) });
  }
  return { filter };
}

/**
 * Checks the triggers of a project whose source is `sourceType`: one line per problem, each
 * naming the prop path (`triggers.push[0].headRef`), its value and the rule.
 */
export function validateTriggers(
  p: PropProblems,
  triggers: ProjectTriggers,
  projectName: string,
  sourceType: string,
  connectionArn: string | undefined,
): void {
  const webhookSource = sourceType === "GITHUB" || sourceType === "GITHUB_ENTERPRISE" || sourceType === "BITBUCKET";
  if (!webhookSource) {
    p.add("triggers", "(set)", `need a GITHUB, GITHUB_ENTERPRISE or BITBUCKET source (CodeBuild has no webhook for a ${sourceType} source)`);
    return;
  }
  if (connectionArn === undefined) {
    p.add("source.connectionArn", undefined, "is required with triggers: the source is read through a CodeConnections connection, not a personal token");
  }
  if (triggers.branch !== undefined) {
    p.check(typeof triggers.branch === "string" && /^[^\s~^:?*[\\]+$/.test(triggers.branch) && !triggers.branch.startsWith("refs/"), "triggers.branch", triggers.branch, "must be a branch name (no spaces, no ~ ^ : ? * [ \\, without refs/heads/)");
  }
  if (triggers.push === false && triggers.pullRequest === false) {
    p.add("triggers", "{ push: false, pullRequest: false }", "start no build: leave triggers unset, or keep push or pullRequest");
  }
  if (triggers.pullRequestProjectName !== undefined) {
    p.check(/^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/.test(triggers.pullRequestProjectName), "triggers.pullRequestProjectName", triggers.pullRequestProjectName, "must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)");
    p.check(triggers.pullRequestProjectName !== projectName, "triggers.pullRequestProjectName", triggers.pullRequestProjectName, "must differ from projectName");
  } else if (triggers.pullRequest !== false) {
    p.check(`${projectName}-pr`.length <= 255, "projectName", projectName, "must leave room for the pull request project's name \"<projectName>-pr\" (255 characters; or set triggers.pullRequestProjectName)");
  }
  const supported = WEBHOOK_EVENTS_BY_SOURCE[sourceType as WebhookSourceType];
  for (const kind of ["push", "pullRequest"] as const) {
    const groups = triggers[kind];
    if (groups === undefined || groups === false) continue;
    if (!Array.isArray(groups) || groups.length === 0) {
      p.add(`triggers.${kind}`, groups, "must hold at least one filter group (a webhook without filter groups builds every push and pull request of every branch); use false for none");
      continue;
    }
    groups.forEach((group: WebhookFilterGroup, i: number) => {
      const at = `triggers.${kind}[${i}]`;
      const events = Array.isArray(group?.events) ? group.events : [];
      if (events.length === 0) {
        p.add(`${at}.events`, group?.events, "must name at least one event (a filter group needs an EVENT filter)");
        return;
      }
      for (const e of events) {
        if (!(WEBHOOK_EVENTS_BY_SOURCE.GITHUB as readonly string[]).includes(e)) {
          p.add(`${at}.events`, e, `is not a webhook event (${WEBHOOK_EVENTS_BY_SOURCE.GITHUB.join(", ")})`);
        } else if (!supported.includes(e)) {
          p.add(`${at}.events`, e, `is not a ${sourceType} webhook event (${supported.join(", ")})`);
        }
      }
      p.check(new Set(events).size === events.length, `${at}.events`, events, "must not repeat an event");
      const pr = events.filter((e) => PULL_REQUEST_EVENTS.includes(e));
      if (kind === "push") {
        for (const e of pr) p.add(`${at}.events`, e, "is a pull request event: these builds push, so pull requests belong in triggers.pullRequest (built without pushing)");
      } else {
        for (const e of events.filter((x) => !PULL_REQUEST_EVENTS.includes(x))) {
          p.add(`${at}.events`, e, "is not a pull request event (triggers.pullRequest starts the pull request project, which never pushes; put it in triggers.push)");
        }
      }
      if (group.baseRef !== undefined && pr.length !== events.length) {
        p.add(`${at}.baseRef`, patternOf(group.baseRef), "needs pull request events only (CodeBuild's BASE_REF filter works with pull request events only)");
      }
      if (group.filePath !== undefined && sourceType === "GITHUB_ENTERPRISE" && pr.length > 0) {
        p.add(`${at}.filePath`, patternOf(group.filePath), "does not work with GITHUB_ENTERPRISE pull request events (CodeBuild's FILE_PATH filter)");
      }
      for (const prop of Object.keys(group)) {
        if (prop !== "events" && !(prop in FILTER_TYPES)) p.add(`${at}.${prop}`, (group as any)[prop], `is not a filter (events, ${Object.keys(FILTER_TYPES).join(", ")})`);
      }
      for (const prop of Object.keys(FILTER_TYPES) as (keyof typeof FILTER_TYPES)[]) {
        const value = group[prop];
        if (value === undefined) continue;
        const pattern = patternOf(value);
        if (typeof pattern !== "string" || pattern.length === 0) {
          p.add(`${at}.${prop}`, pattern, "must be a non-empty regular expression");
          continue;
        }
        const problem = regexProblem(pattern);
        if (problem !== undefined) p.add(`${at}.${prop}`, pattern, `must be a regular expression that compiles (${problem})`);
        if (typeof value === "object" && value.exclude !== undefined && typeof value.exclude !== "boolean") {
          p.add(`${at}.${prop}.exclude`, value.exclude, "must be true or false");
        }
      }
    });
  }
}

function patternOf(value: WebhookPattern): unknown {
  return typeof value === "object" && value !== null ? value.pattern : value;
}

/** Why `pattern` does not compile as a JavaScript regular expression (CodeBuild's flavour is close), or undefined. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
