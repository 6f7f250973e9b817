import * as path from "path";
import { Testing } from "cdktf";
import { loadConfigFile } from "../../config/environments";
import { RegionalStack } from "../../stacks";
import { prodEnvironment } from "../support/environments";
import { policyDocuments, resources, Synthesized } from "../support/synth";

/**
 * Every synthesized stack of the shipped local organization (the owner `local`, its consumers,
 * the replication destination) and of the real-account fixture `prod`.
 */
const shipped = loadConfigFile(path.join(__dirname, "..", "..", "config", "environments.json"));
const all: [string, Synthesized][] = [
  ...shipped.map((environment) => ({ environment, organization: shipped })),
  { environment: prodEnvironment(), organization: [prodEnvironment()] },
].flatMap(({ environment, organization }) =>
  environment.regions.map((region): [string, Synthesized] => {
    const stack = new RegionalStack(Testing.app(), { environment, region, organization });
    return [stack.node.id, JSON.parse(Testing.synth(stack, true))];
  }),
);

/** The stacks that create IAM roles: the building regions (CodeBuild service roles) and the consumers' first regions (pull roles). */
const stacks = all.filter(([, json]) => resources(json, "aws_iam_role").length > 0);

/** The statements of every inline policy of the stack's roles. */
const identityStatements = (json: Synthesized) =>
  Object.entries(policyDocuments(json))
    .filter(([id]) => /_PolicyDocument_/.test(id))
    .flatMap(([, doc]) => doc.statement as any[]);

/** The statements of every trust policy, read from the roles themselves. */
const trustStatements = (json: Synthesized) => resources(json, "aws_iam_role").flatMap((r) => JSON.parse(r.assume_role_policy).Statement as any[]);

describe("IAM roles of the stacks", () => {
  test("only building regions and consumers' first regions create roles; replica regions and other consumer regions create none", () => {
    const local = shipped.filter((e) => e.local === true);
    const owner = local.find((e) => e.build !== undefined)!;
    const building = owner.regions.filter((r) => !(owner.build!.replicaRegions ?? []).includes(r)).map((r) => `${owner.name}-${r}`);
    const consumers = local.filter((e) => e.pullFrom === owner.name).map((e) => `${e.name}-${e.regions[0]}`);
    expect(stacks.map(([name]) => name).sort()).toEqual([...building, ...consumers, "prod-eu-west-1", "prod-us-west-2"].sort());
    expect(building).toEqual(["local-eu-central-1"]);
    expect(consumers).toHaveLength(2);
  });
});

describe.each(stacks)("IAM policies of stack %s", (_name, json) => {
  test("there are identity policies to check (one inline policy per role)", () => {
    const roles = resources(json, "aws_iam_role");
    expect(roles).toHaveLength(2);
    expect(Object.keys(policyDocuments(json)).filter((id) => /_PolicyDocument_/.test(id))).toHaveLength(roles.length);
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

  test("every trust policy admits only the service the roles exist for, under an aws:SourceAccount condition", () => {
    // GIVEN CodeBuild service roles in building regions, pull roles (ECS tasks, EC2, EKS pods) elsewhere
    const builds = resources(json, "aws_codebuild_project").length > 0;
    const services = builds ? ["codebuild.amazonaws.com"] : ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "pods.eks.amazonaws.com"];

    // WHEN
    const trust = trustStatements(json);

    // THEN
    expect(trust).toHaveLength(2);
    for (const s of trust) {
      expect(s.Effect).toBe("Allow");
      expect(Object.keys(s.Principal)).toEqual(["Service"]);
      for (const service of [s.Principal.Service].flat()) expect(services).toContain(service);
      // The account is a literal (pull roles) or the caller's account, read at apply (CodeBuild roles).
      expect(s.Condition.StringEquals["aws:SourceAccount"]).toBeDefined();
      if (builds) expect(s.Condition.ArnLike["aws:SourceArn"]).toBeDefined();
    }
  });
});
