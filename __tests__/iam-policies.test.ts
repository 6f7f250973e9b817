import { Testing } from "cdktf";
import { RegionalStack } from "../stacks";
import { localEnvironment, prodEnvironment } from "./support/environments";
import { policyDocuments, Synthesized } from "./support/synth";

/** Every synthesized stack of both fixture environments. */
const stacks: [string, Synthesized][] = [localEnvironment(), prodEnvironment()].flatMap((environment) =>
  environment.regions.map((region): [string, Synthesized] => {
    const stack = new RegionalStack(Testing.app(), { environment, region });
    return [stack.node.id, JSON.parse(Testing.synth(stack, true))];
  }),
);

const identityStatements = (json: Synthesized) =>
  Object.entries(policyDocuments(json))
    .filter(([id]) => /_Role_PolicyDocument_/.test(id))
    .flatMap(([, doc]) => doc.statement as any[]);

const trustStatements = (json: Synthesized) =>
  Object.entries(policyDocuments(json))
    .filter(([id]) => /_Role_TrustPolicy_/.test(id))
    .flatMap(([, doc]) => doc.statement as any[]);

describe.each(stacks)("IAM policies of stack %s", (_name, json) => {
  test("there are identity policies to check (one per role)", () => {
    expect(Object.keys(policyDocuments(json)).filter((id) => /_Role_PolicyDocument_/.test(id))).toHaveLength(2);
  });

  test("no action has a wildcard", () => {
    const wild = identityStatements(json).flatMap((s) => s.actions).filter((a: string) => a.includes("*"));
    expect(wild).toEqual([]);
  });

  test('"*" is a resource only of ecr:GetAuthorizationToken', () => {
    const onStar = identityStatements(json)
      .filter((s) => s.resources.includes("*"))
      .flatMap((s) => s.actions);
    expect([...new Set(onStar)]).toEqual(["ecr:GetAuthorizationToken"]);
  });

  test("no statement uses NotAction or NotResource and every statement allows", () => {
    for (const s of identityStatements(json)) {
      expect(s.not_actions).toBeUndefined();
      expect(s.not_resources).toBeUndefined();
      expect(s.effect).toBe("Allow");
    }
  });

  test("every trust policy admits only CodeBuild under an aws:SourceAccount condition", () => {
    const trust = trustStatements(json);
    expect(trust).toHaveLength(2);
    for (const s of trust) {
      expect(s.principals).toEqual([{ type: "Service", identifiers: ["codebuild.amazonaws.com"] }]);
      expect(s.condition).toContainEqual(expect.objectContaining({ test: "StringEquals", variable: "aws:SourceAccount" }));
      expect(s.condition).toContainEqual(expect.objectContaining({ test: "ArnLike", variable: "aws:SourceArn" }));
    }
  });
});
