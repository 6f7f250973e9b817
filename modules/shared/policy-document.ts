import type { PolicyCondition } from "./iam";

/** A statement of an IAM policy document, in the shape the modules build. */
export interface DocumentStatement {
  readonly sid: string;
  readonly actions: readonly string[];
  /** Omitted in resource policies (the resource is implied). */
  readonly resources?: readonly string[];
  /** For trust and resource policies: principal type (`Service`, `AWS`) and identifiers. */
  readonly principals?: readonly { readonly type: string; readonly identifiers: readonly string[] }[];
  readonly conditions?: readonly PolicyCondition[];
}

/**
 * Renders an IAM policy document as JSON text at synth. Attribute tokens inside it become
 * Terraform interpolations, so the policy is known at plan time whenever the ARNs are: unlike an
 * `aws_iam_policy_document` data source, it is never re-read (and shown as a pending IAM change)
 * just because a referenced resource has an unrelated change.
 */
export function renderPolicyDocument(statements: readonly DocumentStatement[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => {
      const out: Record<string, unknown> = { Sid: s.sid, Effect: "Allow" };
      if (s.principals?.length) {
        out.Principal = Object.fromEntries(s.principals.map((p) => [p.type, p.identifiers.length === 1 ? p.identifiers[0] : [...p.identifiers]]));
      }
      out.Action = [...s.actions];
      if (s.resources) out.Resource = [...s.resources];
      if (s.conditions?.length) {
        const condition: Record<string, Record<string, string[]>> = {};
        for (const c of s.conditions) condition[c.test] = { ...(condition[c.test] ?? {}), [c.variable]: [...c.values] };
        out.Condition = condition;
      }
      return out;
    }),
  });
}
