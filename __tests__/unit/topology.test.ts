import { Testing } from "cdktf";
import { validateConfig, type EnvironmentConfig } from "../../config/environments";
import { RegionalStack } from "../../stacks";
import { pullRoleArns, pullRoleName, repositoryArn } from "../../stacks/topology";
import { organization } from "../support/environments";
import { resources, statement, Synthesized } from "../support/synth";

const FILE = "config/org.json";

function synth(name: string, region: string, org: EnvironmentConfig[] = organization()): Synthesized {
  const environment = org.find((e) => e.name === name)!;
  const stack = new RegionalStack(Testing.app(), { environment, region, organization: org });
  return JSON.parse(Testing.synth(stack, true));
}

/** The organization as a raw config file, changed by `change`, validated; the error lines. */
function problemsOf(change: (envs: Record<string, any>) => void): string[] {
  const envs: Record<string, any> = Object.fromEntries(organization().map(({ name, ...e }) => [name, JSON.parse(JSON.stringify(e))]));
  change(envs);
  try {
    validateConfig({ environments: envs }, FILE);
    return [];
  } catch (e) {
    return [...(e as { problems: string[] }).problems];
  }
}

describe("topology: owners, consumers, replication", () => {
  describe("config", () => {
    test("the organization is valid", () => {
      expect(problemsOf(() => undefined)).toEqual([]);
    });

    test("an environment that neither builds nor pulls is refused", () => {
      expect(problemsOf((e) => delete e.staging.pullFrom)).toEqual([
        `${FILE}: environment "staging": build or pullFrom is required (an environment owns an image pipeline, pulls from one, or both)`,
      ]);
    });

    test("a consumer of a missing environment is refused", () => {
      expect(problemsOf((e) => (e.staging.pullFrom = "qa"))).toEqual([
        `${FILE}: environment "staging": pullFrom "qa" is not an environment of this file (known: tools, staging, prod)`,
      ]);
    });

    test("an environment that pulls the repository it owns is refused", () => {
      expect(problemsOf((e) => (e.tools.pullFrom = "tools"))).toEqual([
        `${FILE}: environment "tools": pullFrom "tools" names the environment itself: an environment does not pull the repository it owns`,
      ]);
    });

    test("pulling from an environment that owns no pipeline is refused", () => {
      expect(problemsOf((e) => (e.prod.pullFrom = "staging"))).toEqual([
        `${FILE}: environment "prod": pullFrom "staging" names an environment that owns no image pipeline (it has no build)`,
      ]);
    });

    test("a cycle of pullFrom is refused once, naming the cycle", () => {
      const lines = problemsOf((e) => {
        e.staging.build = JSON.parse(JSON.stringify({ ...e.tools.build, repositoryName: "acme/staging", replicaRegions: undefined, replicateToEnvironments: undefined }));
        e.tools.pullFrom = "staging";
      });
      expect(lines).toEqual([`${FILE}: environment "staging": pullFrom "tools" forms a cycle: staging -> tools -> staging (each must be deployed before the other)`]);
    });

    test("a replica region that is not a region of the environment is refused", () => {
      expect(problemsOf((e) => (e.tools.build.replicaRegions = ["ap-south-1"]))).toEqual([
        `${FILE}: environment "tools": build.replicaRegions "ap-south-1" is not one of the environment's regions (eu-west-1, us-west-2)`,
        `${FILE}: environment "tools": build.replicaRegions ["ap-south-1"] must leave exactly one region that builds (the primary, the source of the replication)`,
      ]);
    });

    test("replica regions that leave no building region are refused", () => {
      expect(problemsOf((e) => (e.tools.build.replicaRegions = ["eu-west-1", "us-west-2"]))).toEqual([
        `${FILE}: environment "tools": build.replicaRegions ["eu-west-1","us-west-2"] must leave exactly one region that builds (the primary, the source of the replication)`,
      ]);
    });

    test("replication to a missing environment, to itself, or to the same account is refused", () => {
      expect(problemsOf((e) => (e.tools.build.replicateToEnvironments = ["qa"]))).toEqual([
        `${FILE}: environment "tools": build.replicateToEnvironments "qa" is not an environment of this file (known: tools, staging, prod)`,
      ]);
      expect(problemsOf((e) => (e.tools.build.replicateToEnvironments = ["tools"]))).toEqual([
        `${FILE}: environment "tools": build.replicateToEnvironments "tools" names the environment itself (its own other regions are build.replicaRegions)`,
      ]);
      expect(problemsOf((e) => (e.prod.accountId = "111111111111") && (e.prod.assumeRoleArn = "arn:aws:iam::111111111111:role/deployer"))).toEqual([
        `${FILE}: environment "tools": build.replicateToEnvironments "prod" is in the same account 111111111111: list its regions in build.replicaRegions of one environment instead`,
      ]);
    });

    test("an unknown pullFrom name shape is refused by the schema", () => {
      expect(problemsOf((e) => (e.staging.pullFrom = "Tools"))).toEqual([
        `${FILE}: environment "staging": pullFrom "Tools" must be the name of another environment of this file`,
      ]);
    });
  });

  describe("stacks", () => {
    test("the owner's primary region builds, replicates to its replica region and to every region of prod, filtered to its repository", () => {
      const json = synth("tools", "eu-west-1");
      expect(resources(json, "aws_codebuild_project")).toHaveLength(2);
      const [replication] = resources(json, "aws_ecr_replication_configuration");
      expect(replication.replication_configuration.rule).toEqual([
        {
          destination: [
            { region: "us-west-2", registry_id: "111111111111" },
            { region: "eu-west-1", registry_id: "444444444444" },
            { region: "eu-central-1", registry_id: "444444444444" },
          ],
          repository_filter: [{ filter: "acme/app", filter_type: "PREFIX_MATCH" }],
        },
      ]);
    });

    test("a replica region holds the repository but no projects and no replication", () => {
      const json = synth("tools", "us-west-2");
      expect(resources(json, "aws_ecr_repository")).toHaveLength(1);
      expect(resources(json, "aws_codebuild_project")).toEqual([]);
      expect(resources(json, "aws_ecr_replication_configuration")).toEqual([]);
      expect(Object.keys(json.output ?? {}).sort()).toEqual(["repository_arn", "repository_url"]);
    });

    test("the owner's repository policy names each consumer's two pull roles, not :root", () => {
      for (const region of ["eu-west-1", "us-west-2"]) {
        const json = synth("tools", region);
        expect(statement(json, "Repository/PullPolicyDocument", "CrossAccountEcrPull").principals).toEqual([
          {
            type: "AWS",
            identifiers: [
              `arn:aws:iam::333333333333:role/${pullRoleName("tools", "ecsExecution")}`,
              `arn:aws:iam::333333333333:role/${pullRoleName("tools", "workload")}`,
              `arn:aws:iam::444444444444:role/${pullRoleName("tools", "ecsExecution")}`,
              `arn:aws:iam::444444444444:role/${pullRoleName("tools", "workload")}`,
            ],
          },
        ]);
        expect(JSON.stringify(json)).not.toContain(":root");
        expect(resources(json, "aws_iam_role_policy").filter((p) => String(p.role).startsWith("ecr-pull"))).toEqual([]);
      }
    });

    test("a consumer's first region has both pull roles, each allowed to pull exactly the owner's repository in every region that holds it", () => {
      const json = synth("prod", "eu-west-1");
      const roles = resources(json, "aws_iam_role").map((r) => r.name).sort();
      expect(roles).toEqual(["ecr-pull-tools-ecs-execution", "ecr-pull-tools-workload"]);
      for (const kind of ["ecsExecution", "workload"]) {
        expect(statement(json, `PullRole-${kind}-Grants/PolicyDocument`, "EcrPull").resources).toEqual([
          "arn:aws:ecr:eu-west-1:111111111111:repository/acme/app",
          "arn:aws:ecr:us-west-2:111111111111:repository/acme/app",
        ]);
      }
      expect(JSON.stringify(json)).not.toContain("terraform_remote_state");
      expect(resources(json, "aws_ecr_repository")).toEqual([]);
    });

    test("a consumer's other regions have no pull roles (IAM is global)", () => {
      expect(resources(synth("prod", "eu-central-1"), "aws_iam_role")).toEqual([]);
    });

    test("each region of a destination of cross-account replication allows the owner to replicate into it", () => {
      for (const region of ["eu-west-1", "eu-central-1"]) {
        const [policy] = resources(synth("prod", region), "aws_ecr_registry_policy");
        expect(JSON.parse(policy.policy).Statement).toEqual([
          {
            Sid: "ReplicationFrom111111111111",
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::111111111111:root" },
            Action: ["ecr:CreateRepository", "ecr:ReplicateImage"],
            Resource: `arn:aws:ecr:${region}:444444444444:repository/acme/app`,
          },
        ]);
      }
      expect(resources(synth("staging", "eu-west-1"), "aws_ecr_registry_policy")).toEqual([]);
    });

    test("the pull roles trust their services only from the consumer's account", () => {
      const json = synth("staging", "eu-west-1");
      const trust = Object.fromEntries(resources(json, "aws_iam_role").map((r) => [r.name, JSON.parse(r.assume_role_policy).Statement[0]]));
      expect(trust["ecr-pull-tools-ecs-execution"]).toMatchObject({
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: ["sts:AssumeRole"],
        Condition: { StringEquals: { "aws:SourceAccount": "333333333333" } },
      });
      expect(trust["ecr-pull-tools-workload"]).toMatchObject({
        Principal: { Service: ["ec2.amazonaws.com", "pods.eks.amazonaws.com"] },
        Action: ["sts:AssumeRole", "sts:TagSession"],
      });
    });
  });
});

describe("ARNs derived from the config", () => {
  /** The organization moved to `regions` (the owner's and the consumers'). */
  function movedTo(regions: string[]): EnvironmentConfig[] {
    return organization().map((e) => ({ ...e, regions, state: { ...e.state, region: regions[0] } }));
  }

  test.each<[string, string, string]>([
    ["cn-north-1", "aws-cn", "a China region"],
    ["us-gov-west-1", "aws-us-gov", "a GovCloud region"],
    ["eu-west-1", "aws", "a commercial region"],
  ])("take the partition of %s (%s) for the pull roles and the repository: %s", (region, partition) => {
    // GIVEN
    const org = movedTo([region]);
    const owner = org.find((e) => e.build !== undefined && org.some((c) => c.pullFrom === e.name))!;
    const consumer = org.find((e) => e.pullFrom === owner.name)!;

    // WHEN
    const roles = pullRoleArns(owner, consumer);
    const repository = repositoryArn(owner, region);

    // THEN
    expect(roles).toEqual([
      `arn:${partition}:iam::${consumer.accountId}:role/${pullRoleName(owner.name, "ecsExecution")}`,
      `arn:${partition}:iam::${consumer.accountId}:role/${pullRoleName(owner.name, "workload")}`,
    ]);
    expect(repository).toBe(`arn:${partition}:ecr:${region}:${owner.accountId}:repository/${owner.build?.repositoryName}`);
  });
});
