import { PolicyCondition, PolicyStatement, WILDCARD_RESOURCE_ACTIONS } from "./iam";
import { renderPolicyDocument } from "./policy-document";
import { PropProblems } from "./validation";

interface MergedStatement {
  actions: Set<string>;
  resources: Set<string>;
  conditions: Map<string, PolicyCondition & { values: string[] }>;
}

/**
 * The statements of one inline identity policy: checked as they are added (exact actions,
 * `*` only for actions AWS offers no resource ARN for), merged by sid, rendered as JSON.
 */
export class PolicyStatements {
  private readonly statements = new Map<string, MergedStatement>();

  constructor(
    private readonly constructName: string,
    private readonly id: string,
  ) {}

  /** How many statements (distinct sids) the policy has. */
  public get size(): number {
    return this.statements.size;
  }

  /**
   * Adds an Allow statement; a statement with an existing sid is merged into it (actions,
   * resources and condition values are unioned). Throws when an action contains a wildcard, or
   * when `*` is the resource of any action other than the ones without resource ARNs.
   */
  public add(statement: PolicyStatement): void {
    const problems = new PropProblems(this.constructName, this.id);
    for (const action of statement.actions) {
      problems.check(!action.includes("*"), `statement "${statement.sid}" action`, action, "must not contain a wildcard (name exact actions)");
    }
    if (statement.resources.length === 0) {
      problems.add(`statement "${statement.sid}" resources`, [], "must name at least one ARN");
    }
    if (statement.resources.includes("*")) {
      const widened = statement.actions.filter((a) => !WILDCARD_RESOURCE_ACTIONS.includes(a));
      problems.check(
        widened.length === 0,
        `statement "${statement.sid}" resource "*" for actions`,
        widened,
        `is not allowed (only ${WILDCARD_RESOURCE_ACTIONS.join(", ")} may use "*"; name exact ARNs)`,
      );
    }
    problems.throwIfAny();

    const merged = this.statements.get(statement.sid) ?? { actions: new Set<string>(), resources: new Set<string>(), conditions: new Map() };
    statement.actions.forEach((a) => merged.actions.add(a));
    statement.resources.forEach((r) => merged.resources.add(r));
    for (const c of statement.conditions ?? []) {
      const key = `${c.test}|${c.variable}`;
      const existing = merged.conditions.get(key);
      const values = [...new Set([...(existing?.values ?? []), ...c.values])];
      merged.conditions.set(key, { test: c.test, variable: c.variable, values });
    }
    this.statements.set(statement.sid, merged);
  }

  /** The policy document as JSON text (actions sorted, statements in the order first added). */
  public render(): string {
    return renderPolicyDocument(
      [...this.statements.entries()].map(([sid, s]) => ({
        sid,
        actions: [...s.actions].sort(),
        resources: [...s.resources],
        conditions: [...s.conditions.values()],
      })),
    );
  }
}
