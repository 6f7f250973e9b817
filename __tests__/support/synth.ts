import { Testing, TerraformStack } from "cdktf";
import { resolve } from "cdktf/lib/_tokens";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";

/** A parsed synthesized stack (Terraform JSON). */
export interface Synthesized {
  resource: Record<string, Record<string, any>>;
  data: Record<string, Record<string, any>>;
  output?: Record<string, any>;
  provider?: Record<string, any>;
  terraform?: Record<string, any>;
}

/** A fresh app and stack (with an AWS provider) to build constructs in. */
export function newStack(): TerraformStack {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-central-1" });
  return stack;
}

/** Synthesizes `stack` (running validations) and parses the JSON. */
export function synthJson(stack: TerraformStack, runValidations = true): Synthesized {
  return JSON.parse(Testing.synth(stack, runValidations));
}

/** Synthesizes what `build` creates in a fresh stack; returns the JSON string for the jest matchers. */
export function synthScope(build: (scope: Construct) => void): string {
  return Testing.synthScope(build);
}

/** All resources of one Terraform type, as a list. */
export function resources(json: Synthesized, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}

/** The only resource of a type; fails when there are none or several. */
export function only(json: Synthesized, type: string): any {
  const all = resources(json, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** An IAM statement turned into the lowercase, list-valued shape the tests compare. */
function normalizeStatement(st: any): any {
  const list = (v: unknown) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
  const out: any = { sid: st.Sid, effect: st.Effect, actions: list(st.Action), resources: list(st.Resource) };
  if (st.NotAction) out.not_actions = list(st.NotAction);
  if (st.NotResource) out.not_resources = list(st.NotResource);
  if (st.Principal) out.principals = Object.entries(st.Principal).map(([type, ids]) => ({ type, identifiers: list(ids) }));
  if (st.Condition) {
    out.condition = Object.entries(st.Condition).flatMap(([test, vars]) =>
      Object.entries(vars as Record<string, unknown>).map(([variable, values]) => ({ test, variable, values: list(values) })),
    );
  }
  if (out.resources === undefined) delete out.resources;
  return out;
}

/**
 * Every IAM policy document of a synthesized stack, keyed like its construct path with a hash:
 * `<Role>_PolicyDocument_<HASH>` (inline policy), `<Role>_TrustPolicy_<HASH>` (trust policy),
 * `<Repo>_PullPolicyDocument_<HASH>` (repository policy); statements normalized.
 */
export function policyDocuments(json: Synthesized): Record<string, { statement: any[] }> {
  const docs: Record<string, { statement: any[] }> = {};
  const add = (key: string, text: string) => (docs[key] = { statement: JSON.parse(text).Statement.map(normalizeStatement) });
  for (const [id, r] of Object.entries(json.resource?.aws_iam_role_policy ?? {})) add(id.replace(/_Policy_([0-9A-F]{8})$/, "_PolicyDocument_$1"), r.policy);
  for (const [id, r] of Object.entries(json.resource?.aws_iam_role ?? {})) add(id.replace(/_([0-9A-F]{8})$/, "_TrustPolicy_$1"), r.assume_role_policy);
  for (const [id, r] of Object.entries(json.resource?.aws_ecr_repository_policy ?? {})) add(id.replace(/_PullPolicy_([0-9A-F]{8})$/, "_PullPolicyDocument_$1"), r.policy);
  return docs;
}

/** The statements of the policy document whose construct path ends with `suffix` (e.g. `Role/PolicyDocument`). */
export function statementsOf(json: Synthesized, suffix: string): any[] {
  const docs = policyDocuments(json);
  const wanted = new RegExp(`(^|_)${suffix.replace(/\//g, "_")}_[0-9A-F]{8}$`);
  const key = Object.keys(docs).find((k) => wanted.test(k));
  if (!key) throw new Error(`no policy document ending with ${suffix}; have ${Object.keys(docs).join(", ")}`);
  return docs[key].statement;
}

/** The statement with `sid` in the document ending with `suffix`. */
export function statement(json: Synthesized, suffix: string, sid: string): any {
  const found = statementsOf(json, suffix).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${suffix}`);
  return found;
}

/** Resolves a token (e.g. an attribute) to the Terraform expression it synthesizes to. */
export function ref(scope: Construct, value: unknown): any {
  return resolve(scope, value);
}

/** The message of the error `fn` throws; fails the test when it does not throw. */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error, but nothing was thrown");
}
