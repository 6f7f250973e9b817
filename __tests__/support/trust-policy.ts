/**
 * What STS decides for AssumeRoleWithWebIdentity, as far as a GitHub Actions trust policy says:
 * an Allow statement for the action, whose Federated principal is the token's provider, and whose
 * every condition holds for the token's claims (StringEquals, StringLike; each key's values OR-ed,
 * keys AND-ed). The local AWS (moto) does not evaluate trust policies, so tests ask this instead.
 * An operator it does not know fails loudly rather than passing.
 */

/** A token's claims, by name (`sub`, `aud`, …), and the provider that issued it. */
export interface WebIdentityToken {
  /** The provider's ARN as the trust policy names it (a literal, or the Terraform interpolation of a created provider). */
  readonly provider: string;
  readonly claims: Readonly<Record<string, string>>;
}

const ISSUER = "token.actions.githubusercontent.com";

/** Whether the policy document (JSON text or object) lets a holder of `token` assume the role. */
export function trustAllows(policy: string | object, token: WebIdentityToken): boolean {
  const doc = typeof policy === "string" ? JSON.parse(policy) : policy;
  const statements: any[] = [doc.Statement].flat();
  return statements.some((st) => st.Effect === "Allow" && actions(st).includes("sts:AssumeRoleWithWebIdentity") && federated(st).includes(token.provider) && conditionsHold(st.Condition ?? {}, token));
}

const actions = (st: any): string[] => [st.Action].flat();
const federated = (st: any): string[] => [st.Principal?.Federated ?? []].flat();

function conditionsHold(condition: Record<string, Record<string, string | string[]>>, token: WebIdentityToken): boolean {
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => {
      if (!key.startsWith(`${ISSUER}:`)) throw new Error(`trust policy condition key ${key} is not a claim of ${ISSUER}`);
      const claim = token.claims[key.slice(ISSUER.length + 1)];
      if (claim === undefined) return false;
      const list = [values].flat();
      switch (operator) {
        case "StringEquals":
          return list.includes(claim);
        case "StringLike":
          return list.some((v) => globToRegExp(v).test(claim));
        default:
          throw new Error(`trust policy condition operator ${operator} is not evaluated here: add it`);
      }
    }),
  );
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

/** The claims GitHub puts in a job's token: `sub` by event and the job's environment, `aud` for configure-aws-credentials. */
export function githubClaims(repository: string, job: { event: string; ref: string; environment?: string }): Record<string, string> {
  const repo = `repo:${repository}`;
  const sub = job.environment ? `${repo}:environment:${job.environment}` : job.event === "pull_request" || job.event === "pull_request_target" ? `${repo}:pull_request` : `${repo}:ref:${job.ref}`;
  return { sub, aud: "sts.amazonaws.com", repository, ref: job.ref, event_name: job.event };
}
