import * as path from "path";
import { Construct } from "constructs";
import { Aspects, S3Backend, Testing, TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { resolve } from "cdktf/lib/_tokens";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { CodebuildProject, CodebuildProjectConfig } from "@cdktf/provider-aws/lib/codebuild-project";
import { EcrRepositoryPolicy } from "@cdktf/provider-aws/lib/ecr-repository-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { CodeBuildDindProject, CodeBuildPrivilegedProject, CodeBuildServiceRole, EcrRepo, TagMutability } from "../../modules";
import { formatViolation, PolicyPack, RULES, SUPPRESSION_METADATA } from "../../modules/policy-pack";
import { loadConfigFile } from "../../config/environments";
import { RegionalStack } from "../../stacks";
import { localEnvironment, prodEnvironment } from "../support/environments";
import { messageOf } from "../support/synth";

interface Checked {
  stack: TerraformStack;
  pack: PolicyPack;
  ids: string[];
}

/** Builds resources in a stack with the pack (and a compliant backend unless told), runs the aspects. */
function check(build: (scope: Construct) => void, backend: Record<string, unknown> | null = { encrypt: true, use_lockfile: true }): Checked {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-central-1" });
  if (backend) {
    const b = new S3Backend(stack, { bucket: "state", key: "k", region: "eu-central-1", encrypt: backend.encrypt as boolean | undefined });
    if (backend.use_lockfile) b.addOverride("use_lockfile", true);
  }
  const pack = PolicyPack.applyTo(stack);
  build(stack);
  invokeAspects(stack);
  return { stack, pack, ids: pack.violations.map((v) => v.rule.id) };
}

const ROLE_ARN = "arn:aws:iam::111111111111:role/r";
function rawProject(scope: Construct, overrides: Partial<CodebuildProjectConfig> = {}, environment: Partial<CodebuildProjectConfig["environment"]> = {}) {
  return new CodebuildProject(scope, "Raw", {
    name: "raw",
    serviceRole: ROLE_ARN,
    artifacts: { type: "NO_ARTIFACTS" },
    source: { type: "NO_SOURCE", buildspec: "version: 0.2" },
    buildTimeout: 30,
    logsConfig: { cloudwatchLogs: { status: "ENABLED" } },
    environment: { type: "LINUX_CONTAINER", computeType: "BUILD_GENERAL1_SMALL", image: "aws/codebuild/standard:7.0", ...environment },
    ...overrides,
  });
}

describe("PolicyPack", () => {
  describe("stays quiet on the defaults", () => {
    const shipped = loadConfigFile(path.join(__dirname, "..", "..", "config", "environments.json"));
    test.each([
      ...shipped.flatMap((environment) => environment.regions.map((region) => [`${environment.name}-${region}`, environment, region, shipped] as const)),
      ...prodEnvironment().regions.map((region) => [`prod-${region}`, prodEnvironment(), region, [prodEnvironment()]] as const),
    ])("the RegionalStack %s (shipped local organization, real prod) has no violation", (_n, environment, region, organization) => {
      const stack = new RegionalStack(Testing.app(), { environment, region, organization });
      invokeAspects(stack);
      expect(stack.node.validate()).toEqual([]);
    });

    test("the privileged projects are exempt from CKV_AWS_316 only by a suppression with its reason, written into the stack", () => {
      const stack = new RegionalStack(Testing.app(), { environment: localEnvironment(), region: "eu-central-1" });
      invokeAspects(stack);
      // (Testing.synth drops "//" entries; the stack's own rendering keeps them, as cdk.tf.json does.)
      const json = resolve(stack, stack.toTerraform());
      for (const project of Object.values<any>(json.resource.aws_codebuild_project)) {
        expect(project["//"].policy_suppressions).toEqual([
          {
            rule: "CKV_AWS_316",
            reason:
              "building Docker images needs the Docker daemon, and the daemon runs only in privileged mode; AWS retired the matching Security Hub control CodeBuild.5",
          },
        ]);
      }
    });
  });

  describe("fires on a construct that breaks a rule", () => {
    test("ECR: mutable tags (CKV_AWS_51)", () => {
      expect(check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b", tagMutability: TagMutability.MUTABLE })).ids).toEqual(["CKV_AWS_51"]);
    });

    test("ECR: scan on push off (CKV_AWS_163)", () => {
      expect(check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b", scanOnPush: false })).ids).toEqual(["CKV_AWS_163"]);
    });

    test("ECR: AES256 instead of KMS (CKV_AWS_136)", () => {
      const { ids } = check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b" }).resource.addOverride("encryption_configuration.0.encryption_type", "AES256"));
      expect(ids).toEqual(["CKV_AWS_136"]);
    });

    test("ECR: no lifecycle policy (ECR.3)", () => {
      expect(check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b", lifecycleRules: [] })).ids).toEqual(["ECR.3"]);
    });

    test("ECR: a public repository policy (CKV_AWS_32)", () => {
      const { ids } = check((s) => {
        const repo = new EcrRepo(s, "Repo", { repositoryName: "a/b" });
        new EcrRepositoryPolicy(s, "Public", {
          repository: repo.repositoryName,
          policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Principal: "*", Action: ["ecr:BatchGetImage"] }] }),
        });
      });
      expect(ids).toEqual(["CKV_AWS_32"]);
    });

    test("ECR: an organization-wide policy is not public", () => {
      expect(check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b", pullOrganizationId: "o-abcdefghij" })).ids).toEqual([]);
    });

    test("CodeBuild: logs disabled (CKV_AWS_314)", () => {
      expect(check((s) => rawProject(s, { logsConfig: { cloudwatchLogs: { status: "DISABLED" } } })).ids).toEqual(["CKV_AWS_314"]);
    });

    test("CodeBuild: no build timeout (CB-TIMEOUT)", () => {
      expect(check((s) => rawProject(s, { buildTimeout: undefined })).ids).toEqual(["CB-TIMEOUT"]);
    });

    test("CodeBuild: a PLAINTEXT secret-like variable (CodeBuild.2)", () => {
      expect(check((s) => rawProject(s, {}, { environmentVariable: [{ name: "DB_PASSWORD", value: "x" }] })).ids).toEqual(["CodeBuild.2"]);
    });

    test("CodeBuild: a registry credential without SERVICE_ROLE pull credentials (CB-REGISTRY-CREDENTIAL)", () => {
      const { ids } = check((s) =>
        rawProject(s, {}, { registryCredential: { credential: "arn:aws:secretsmanager:eu-central-1:111111111111:secret:x", credentialProvider: "SECRETS_MANAGER" } }),
      );
      expect(ids).toEqual(["CB-REGISTRY-CREDENTIAL"]);
    });

    test("CodeBuild: privileged mode without a suppression (CKV_AWS_316)", () => {
      expect(check((s) => rawProject(s, {}, { privilegedMode: true })).ids).toEqual(["CKV_AWS_316"]);
    });

    test("IAM: a wildcard action (CKV_AWS_63) and a restrictable action on * (CKV_AWS_355)", () => {
      const { ids } = check((s) => {
        const role = new IamRole(s, "Role", {
          assumeRolePolicy: JSON.stringify({
            Statement: [{ Effect: "Allow", Principal: { Service: "codebuild.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "1" } } }],
          }),
        });
        new IamRolePolicy(s, "Policy", {
          role: role.id,
          policy: JSON.stringify({ Statement: [{ Sid: "S3", Effect: "Allow", Action: ["s3:*"], Resource: "arn:aws:s3:::b/*" }, { Sid: "Get", Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] }),
        });
      });
      expect(ids.sort()).toEqual(["CKV_AWS_355", "CKV_AWS_63"]);
    });

    test("IAM: a service trust policy without aws:SourceAccount or aws:SourceArn (IAM-CONFUSED-DEPUTY)", () => {
      const { ids } = check(
        (s) =>
          new IamRole(s, "Role", {
            assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "codebuild.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
          }),
      );
      expect(ids).toEqual(["IAM-CONFUSED-DEPUTY"]);
    });

    test("state: an unencrypted backend (STATE-ENCRYPTED) and an unlocked one (STATE-LOCKED)", () => {
      expect(check(() => undefined, { encrypt: false, use_lockfile: false }).ids).toEqual(["STATE-ENCRYPTED", "STATE-LOCKED"]);
    });
  });

  describe("failing synth", () => {
    test("names the construct path, the rule ID, how to fix it and the control it mirrors", () => {
      const { stack } = check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b", scanOnPush: false }));
      expect(stack.node.validate()).toEqual([
        "CKV_AWS_163 violated at test/Repo/Resource: ECR repositories scan images on push (scan_on_push is not true). Fix: set scanOnPush to true (the EcrRepo default). Mirrors checkov CKV_AWS_163.",
      ]);
      expect(() => Testing.synth(stack, true)).toThrow("CKV_AWS_163 violated at test/Repo/Resource");
    });

    test("reports each violation once however often the aspects run", () => {
      const { stack, pack } = check((s) => new EcrRepo(s, "Repo", { repositoryName: "a/b", scanOnPush: false }));
      invokeAspects(stack);
      invokeAspects(stack);
      expect(pack.violations.map(formatViolation)).toHaveLength(1);
    });
  });

  describe("suppressions", () => {
    test("a suppression with a reason silences exactly that rule on that construct", () => {
      const { ids } = check((s) => {
        const repo = new EcrRepo(s, "Repo", { repositoryName: "a/b", scanOnPush: false, tagMutability: TagMutability.MUTABLE });
        PolicyPack.suppress(repo, RULES.ecrScanOnPush.id, "images are scanned by the registry's enhanced scanning instead");
      });
      expect(ids).toEqual(["CKV_AWS_51"]);
    });

    test("a suppression without a reason is an error", () => {
      const stack = new TerraformStack(Testing.app(), "test");
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "a/b" });
      expect(messageOf(() => PolicyPack.suppress(repo, "CKV_AWS_51", ""))).toBe(
        'PolicyPack.suppress at test/Repo: suppressing CKV_AWS_51 needs a written reason (at least 10 characters), got ""',
      );
    });

    test("a suppression of an unknown rule is an error", () => {
      const stack = new TerraformStack(Testing.app(), "test");
      const repo = new EcrRepo(stack, "Repo", { repositoryName: "a/b" });
      expect(messageOf(() => PolicyPack.suppress(repo, "CKV_AWS_999", "because reasons are given"))).toMatch(/^PolicyPack.suppress at test\/Repo: rule "CKV_AWS_999" is unknown/);
    });

    test("the constructs suppress CKV_AWS_316 on the two image-building projects only", () => {
      const { ids, stack } = check((s) => {
        const repo = new EcrRepo(s, "Repo", { repositoryName: "a/b" });
        new CodeBuildPrivilegedProject(s, "Priv", { projectName: "priv", repository: repo });
        new CodeBuildDindProject(s, "Dind", { projectName: "dind", repository: repo });
        new CodeBuildServiceRole(s, "Role").grantLogs("arn:aws:logs:eu-central-1:111111111111:log-group:x");
        rawProject(s, {}, { privilegedMode: true });
      });
      expect(ids).toEqual(["CKV_AWS_316"]);
      expect(stack.node.validate()[0]).toContain("at test/Raw:");
    });
  });
});

describe("PolicyPack on the whole app, as cdk-nag users add it", () => {
  /** An app of two stacks, one of them with a mutable repository (a violation), the other clean. */
  function twoStacks(): { app: ReturnType<typeof Testing.app>; bad: TerraformStack } {
    const app = Testing.app();
    const bad = new TerraformStack(app, "bad");
    new AwsProvider(bad, "aws", { region: "eu-central-1" });
    new EcrRepo(bad, "Repo", { repositoryName: "team/app", tagMutability: TagMutability.MUTABLE });
    const good = new TerraformStack(app, "good");
    new AwsProvider(good, "aws", { region: "eu-central-1" });
    new EcrRepo(good, "Repo", { repositoryName: "team/other" });
    return { app, bad };
  }

  test.each([
    ["PolicyPack.applyTo(app)", (app: ReturnType<typeof Testing.app>) => void PolicyPack.applyTo(app)],
    ["Aspects.of(app).add(new PolicyPack())", (app: ReturnType<typeof Testing.app>) => Aspects.of(app).add(new PolicyPack())],
  ])("%s checks every stack: the MUTABLE repository of one stack fails synth, with its path", (_, add) => {
    const { app } = twoStacks();
    add(app);
    expect(messageOf(() => app.synth())).toMatch(/\[bad\] CKV_AWS_51 violated at bad\/Repo\/Resource: /);
  });

  test("a pack on the app, stacks created after it included; a clean app synthesizes", () => {
    const app = Testing.app();
    PolicyPack.applyTo(app);
    const stack = new TerraformStack(app, "late");
    new AwsProvider(stack, "aws", { region: "eu-central-1" });
    new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    expect(() => app.synth()).not.toThrow();
  });
});

describe("STATE-LOCKED accepts every way use_lockfile is written", () => {
  /** A stack with an encrypted S3 backend without locking, locked by `lock`; the violations after synth. */
  function lockedBy(lock: (stack: TerraformStack, backend: S3Backend) => void): string[] {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    new AwsProvider(stack, "aws", { region: "eu-central-1" });
    const backend = new S3Backend(stack, { bucket: "state", key: "k", region: "eu-central-1", encrypt: true });
    lock(stack, backend);
    const pack = PolicyPack.applyTo(stack);
    try {
      app.synth();
    } catch {
      // a violation fails synth: the pack lists it
    }
    return pack.violations.map((v) => v.rule.id);
  }

  test.each([
    ["on the backend: backend.addOverride(\"use_lockfile\", true) (the documented way)", (_: TerraformStack, b: S3Backend) => b.addOverride("use_lockfile", true)],
    ["on the stack: stack.addOverride(\"terraform.backend.s3.use_lockfile\", true)", (s: TerraformStack) => s.addOverride("terraform.backend.s3.use_lockfile", true)],
    ["a DynamoDB lock table: dynamodbTable", (_: TerraformStack, b: S3Backend) => b.addOverride("dynamodb_table", "locks")],
  ])("%s passes", (_, lock) => {
    expect(lockedBy(lock)).toEqual([]);
  });

  test("without any of them it fails", () => {
    expect(lockedBy(() => undefined)).toEqual(["STATE-LOCKED"]);
  });
});

describe("suppressions are construct metadata, as cdk-nag keeps them", () => {
  test("PolicyPack.suppress adds a metadata entry to the construct, and suppressionsOf reads it from the construct and those above it", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    PolicyPack.suppress(stack, "CKV_AWS_136", "AES256 is enough for this sandbox stack");
    expect(repo.node.metadata).toEqual([]);
    expect(stack.node.metadata.filter((m) => m.type === SUPPRESSION_METADATA).map((m) => m.data)).toEqual([{ rule: "CKV_AWS_136", reason: "AES256 is enough for this sandbox stack" }]);
    expect(PolicyPack.suppressionsOf(repo)).toEqual([{ rule: "CKV_AWS_136", reason: "AES256 is enough for this sandbox stack" }]);
  });
});
