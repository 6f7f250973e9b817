import * as fs from "fs";
import * as path from "path";
import { parseConfigText } from "../../config/config-text";
import type { EnvironmentConfig } from "../../config/environments";
import { problemLine } from "../../config/problems";

/** The account moto answers as when no role is assumed. */
export const LOCAL_ACCOUNT_ID = "123456789012";

/** A field of a local environment that moto cannot serve: its path, its value and the rule. */
export interface LocalEnvironmentProblem {
  readonly path: string;
  readonly value: unknown;
  readonly rule: string;
}

/**
 * What moto cannot do with an environment that is valid for AWS: the account it answers as, and
 * the features it lacks (webhooks, pull-through cache, batch builds). Real environments
 * (`local` unset) have none of these problems.
 */
export function localEnvironmentProblems(env: EnvironmentConfig): LocalEnvironmentProblem[] {
  if (env.local !== true) return [];
  const out: LocalEnvironmentProblem[] = [];
  // moto answers as its default account, or as the account of a role assumed through its STS.
  if (env.accountId !== LOCAL_ACCOUNT_ID && env.assumeRoleArn === undefined) {
    out.push({
      path: "accountId",
      value: env.accountId,
      rule: `needs assumeRoleArn (a role in ${env.accountId}) in a local environment: moto answers as ${LOCAL_ACCOUNT_ID}, or as the account of a role assumed through its STS`,
    });
  }
  if (env.accountId === LOCAL_ACCOUNT_ID && env.assumeRoleArn !== undefined) {
    out.push({ path: "assumeRoleArn", value: env.assumeRoleArn, rule: `must not be set in a local environment of moto's default account ${LOCAL_ACCOUNT_ID}` });
  }
  const build = env.build;
  for (const project of ["privilegedProject", "dindProject"] as const) {
    const triggers = build?.[project].triggers;
    if (triggers !== undefined) {
      out.push({ path: `build.${project}.triggers`, value: triggers, rule: "must not be set in a local environment: moto has no webhooks (they deploy to AWS only)" });
    }
  }
  if (build?.platforms !== undefined) {
    out.push({
      path: "build.platforms",
      value: undefined,
      rule: "must not be set in a local environment: moto has no CodeBuild batch builds, which multi-arch images are (set it in real environments only)",
    });
  }
  if (build?.pullThroughCache !== undefined) {
    out.push({ path: "build.pullThroughCache", value: undefined, rule: "must not be set in a local environment: moto has no ECR pull-through cache (set it in real environments only)" });
  }
  return out;
}

/**
 * The lines `npm start` refuses a selection with: one per problem of {@link localEnvironmentProblems},
 * in the config's own format (`<file>:<line>:<column>: environment "<name>": <field> <value> <rule>`).
 * `file` is the environments file as given (relative to `root`, or absolute).
 */
export function localConfigLines(envs: readonly EnvironmentConfig[], file: string, root: string): string[] {
  const problems = envs.flatMap((env) => localEnvironmentProblems(env).map((p) => ({ env: env.name, p })));
  if (problems.length === 0) return [];
  let text: string | undefined;
  try {
    text = fs.readFileSync(path.resolve(root, file), "utf8");
  } catch {
    text = undefined; // Lines without a position: the file was read once already, by the selection.
  }
  const parsed = text === undefined ? undefined : parseConfigText(file, text);
  const locate = parsed !== undefined && "locate" in parsed ? parsed.locate : undefined;
  return problems.map(({ env, p }) => problemLine(file, env, p, locate));
}
