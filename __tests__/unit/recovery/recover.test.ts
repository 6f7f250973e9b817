import * as os from "os";
import { findAdoptions, importId, importsFile, lookupFor, resolveName, stackTagOf, type AccountReader, type Lookup } from "../../../scripts/recovery/adopt";
import { describeLock, lockLocations, parseLockInfo, s3Backend, whoParts } from "../../../scripts/recovery/lock";
import { parseRecoverFlags, plannedImports, recoverCommand, refusal, selectStacks, stateNames } from "../../../scripts/recovery/recover";
import { organization } from "../../support/environments";

/** A stack as the app synthesizes it (the shapes of local-eu-central-1's cdk.tf.json, trimmed). */
function synthesized(): any {
  return {
    provider: { aws: [{ region: "eu-central-1", default_tags: [{ tags: { Stack: "local-eu-central-1" } }] }] },
    terraform: { backend: { s3: { bucket: "state", key: "local/eu-central-1/terraform.tfstate", region: "eu-central-1", use_lockfile: true } } },
    resource: {
      aws_ecr_repository: { Repository_22E53BBD: { name: "codebuild-sample/dckr-push-ecr" } },
      aws_ecr_lifecycle_policy: { Repository_LifecyclePolicy_7F44DF3C: { repository: "${aws_ecr_repository.Repository_22E53BBD.name}", policy: "{}" } },
      aws_ecr_repository_policy: { Repository_PullPolicy_BBD97ACD: { repository: "${aws_ecr_repository.Repository_22E53BBD.name}", policy: "{}" } },
      aws_cloudwatch_log_group: { PrivilegedProject_LogGroup_2759CAB4: { name: "/aws/codebuild/codebuild-sample-dckr-push-ecr" } },
      aws_iam_role: { PrivilegedProject_Role_2C5A2E30: { name_prefix: "cb-codebuild-sample-dckr-push-ecr-" } },
      aws_iam_role_policy: { PrivilegedProject_Role_Policy_09817AD7: { name: "least-privilege", role: "${aws_iam_role.PrivilegedProject_Role_2C5A2E30.id}" } },
      aws_codebuild_project: { PrivilegedProject_A4D2A8C6: { name: "codebuild-sample-dckr-push-ecr", service_role: "${aws_iam_role.PrivilegedProject_Role_2C5A2E30.arn}" } },
      aws_ecr_replication_configuration: { Replication: { replication_configuration: {} } },
    },
  };
}

/** An account holding `existing` (lookups as JSON) and the roles `roles` (name → Stack tag). */
function fakeAccount(existing: Lookup[], roles: Record<string, string> = {}): AccountReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async exists(l) {
      asked.push(l.kind);
      return existing.some((e) => JSON.stringify(e) === JSON.stringify(l));
    },
    async rolesWithPrefix(prefix, stackTag, exclude) {
      return Object.entries(roles)
        .filter(([n, tag]) => n.startsWith(prefix) && (stackTag === undefined || tag === stackTag) && !exclude.has(n))
        .map(([n]) => n);
    },
  };
}

describe("parseRecoverFlags", () => {
  test("--stack is required, repeatable and comma-separated; --unlock repeatable", () => {
    expect(parseRecoverFlags(["--stack", "local-eu-central-1,local-us-east-1", "--stack", "local-prod-eu-central-1", "--unlock", "abc", "--apply"])).toEqual({
      stacks: ["local-eu-central-1", "local-us-east-1", "local-prod-eu-central-1"],
      unlock: ["abc"],
      apply: true,
      out: "plans/recover",
      allowLocalEndpoint: false,
    });
    expect(() => parseRecoverFlags([])).toThrow("--stack is required: name the stack(s) to recover, e.g. --stack local-eu-central-1");
  });

  test("every problem is one line", () => {
    expect(() => parseRecoverFlags(["--stack", "Prod", "--unlock", "--bogus"], { LOCK_TIMEOUT: "soon" })).toThrow(
      [
        'LOCK_TIMEOUT "soon" must be a Terraform duration such as 0s, 30s, 5m or 1h (how long plan and apply wait for the state lock)',
        '--stack "Prod" must be a stack name, <environment>-<region>, e.g. local-eu-central-1',
        "option --unlock needs a value",
        'unknown flag "--bogus" (known: --stack, --unlock, --apply, --out, --allow-local-endpoint, --help)',
      ].join("\n"),
    );
  });

  test("--help, --out, --allow-local-endpoint and ALLOW_LOCAL_ENDPOINT", () => {
    expect(parseRecoverFlags(["--stack", "prod-eu-west-1", "--help"])).toBe("help");
    const flags = parseRecoverFlags(["--stack", "prod-eu-west-1", "--out", "x"], { ALLOW_LOCAL_ENDPOINT: "1" });
    expect(flags).toMatchObject({ out: "x", allowLocalEndpoint: true, apply: false });
    expect(parseRecoverFlags(["--stack", "prod-eu-west-1", "--allow-local-endpoint"])).toMatchObject({ allowLocalEndpoint: true });
  });

  test("a stack not in the config is named with the valid ones", () => {
    expect(() => selectStacks(["prod-eu-west-9"], organization(), "config/environments.json")).toThrow(
      'stack "prod-eu-west-9" is not in config/environments.json; its stacks are: tools-eu-west-1, tools-us-west-2, staging-eu-west-1, prod-eu-west-1, prod-eu-central-1',
    );
    expect(selectStacks(["prod-eu-central-1"], organization(), "f").map((s) => [s.env.name, s.region])).toEqual([["prod", "eu-central-1"]]);
  });

  test("the commands it prints", () => {
    expect(recoverCommand("local-eu-central-1", ["--unlock", "id-1"])).toBe("npm run recover -- --stack local-eu-central-1 --unlock id-1");
  });
});

describe("import IDs from the synthesized config", () => {
  test("each adoptable type's import ID", () => {
    expect(importId({ kind: "aws_ecr_repository", name: "a/b" })).toBe("a/b");
    expect(importId({ kind: "aws_ecr_lifecycle_policy", repository: "a/b" })).toBe("a/b");
    expect(importId({ kind: "aws_ecr_repository_policy", repository: "a/b" })).toBe("a/b");
    expect(importId({ kind: "aws_cloudwatch_log_group", name: "/aws/codebuild/p" })).toBe("/aws/codebuild/p");
    expect(importId({ kind: "aws_iam_role", name: "r" })).toBe("r");
    expect(importId({ kind: "aws_iam_role_prefix", prefix: "cb-" }, "cb-123")).toBe("cb-123");
    expect(importId({ kind: "aws_iam_role_policy", role: "r", name: "least-privilege" })).toBe("r:least-privilege");
    expect(importId({ kind: "aws_iam_role_policy_attachment", role: "r", policyArn: "arn:aws:iam::aws:policy/X" })).toBe("r/arn:aws:iam::aws:policy/X");
    expect(importId({ kind: "aws_codebuild_project", name: "p" })).toBe("p");
  });

  test("references resolve to a named resource's name; anything computed does not", () => {
    const names = new Map([["aws_ecr_repository.R", "a/b"]]);
    expect(resolveName("lit", names)).toBe("lit");
    expect(resolveName("${aws_ecr_repository.R.name}", names)).toBe("a/b");
    expect(resolveName("${aws_ecr_repository.R.id}", names)).toBe("a/b");
    expect(resolveName("${aws_ecr_repository.R.arn}", names)).toBeUndefined();
    expect(resolveName("${aws_ecr_repository.Other.name}", names)).toBeUndefined();
    expect(resolveName("pre-${aws_ecr_repository.R.name}", names)).toBeUndefined();
    expect(resolveName(undefined, names)).toBeUndefined();
  });

  test("lookups, and why a resource cannot be adopted", () => {
    const names = new Map<string, string>();
    expect(lookupFor("aws_iam_role", { name_prefix: "cb-x-" }, names, "s")).toEqual({ lookup: { kind: "aws_iam_role_prefix", prefix: "cb-x-", stackTag: "s" } });
    expect(lookupFor("aws_iam_role", { name: "pull" }, names)).toEqual({ lookup: { kind: "aws_iam_role", name: "pull" } });
    expect(lookupFor("aws_iam_role_policy", { name: "p", role: "${aws_iam_role.R.id}" }, names)).toEqual({
      problem: 'its role "${aws_iam_role.R.id}" is computed: it cannot be told from the config',
    });
    expect(lookupFor("aws_iam_role_policy_attachment", { role: "r", policy_arn: "arn:p" }, names)).toEqual({
      lookup: { kind: "aws_iam_role_policy_attachment", role: "r", policyArn: "arn:p" },
    });
    expect(lookupFor("aws_ecr_repository", { name: "x", count: 2 }, names)).toEqual({ problem: "it uses count or for_each: import it by hand" });
    expect(lookupFor("aws_ecr_replication_configuration", {}, names)).toEqual({
      problem: "it is the registry's replication setting, which an apply overwrites (nothing to adopt)",
    });
    expect(lookupFor("aws_s3_bucket", { bucket: "b" }, names)).toEqual({ problem: "recover does not adopt aws_s3_bucket" });
  });
});

describe("findAdoptions", () => {
  test("after a kill: what exists is adopted (references resolved, the prefixed role found by its Stack tag), the rest is absent", async () => {
    const account = fakeAccount(
      [
        { kind: "aws_ecr_repository", name: "codebuild-sample/dckr-push-ecr" },
        { kind: "aws_ecr_lifecycle_policy", repository: "codebuild-sample/dckr-push-ecr" },
        { kind: "aws_cloudwatch_log_group", name: "/aws/codebuild/codebuild-sample-dckr-push-ecr" },
        { kind: "aws_iam_role_policy", role: "cb-codebuild-sample-dckr-push-ecr-0001", name: "least-privilege" },
      ],
      { "cb-codebuild-sample-dckr-push-ecr-0001": "local-eu-central-1", "cb-codebuild-sample-dckr-push-ecr-0099": "another-stack" },
    );
    const findings = await findAdoptions(synthesized(), new Set(), new Map(), account, "local-eu-central-1");
    expect(findings).toEqual([
      { address: "aws_ecr_repository.Repository_22E53BBD", status: "adopt", id: "codebuild-sample/dckr-push-ecr" },
      { address: "aws_cloudwatch_log_group.PrivilegedProject_LogGroup_2759CAB4", status: "adopt", id: "/aws/codebuild/codebuild-sample-dckr-push-ecr" },
      { address: "aws_iam_role.PrivilegedProject_Role_2C5A2E30", status: "adopt", id: "cb-codebuild-sample-dckr-push-ecr-0001" },
      { address: "aws_codebuild_project.PrivilegedProject_A4D2A8C6", status: "absent" },
      { address: "aws_ecr_lifecycle_policy.Repository_LifecyclePolicy_7F44DF3C", status: "adopt", id: "codebuild-sample/dckr-push-ecr" },
      { address: "aws_ecr_repository_policy.Repository_PullPolicy_BBD97ACD", status: "absent" },
      { address: "aws_iam_role_policy.PrivilegedProject_Role_Policy_09817AD7", status: "adopt", id: "cb-codebuild-sample-dckr-push-ecr-0001:least-privilege" },
      {
        address: "aws_ecr_replication_configuration.Replication",
        status: "not-adoptable",
        reason: "it is the registry's replication setting, which an apply overwrites (nothing to adopt)",
      },
    ]);
    expect(importsFile(findings).import).toEqual([
      { to: "aws_ecr_repository.Repository_22E53BBD", id: "codebuild-sample/dckr-push-ecr" },
      { to: "aws_cloudwatch_log_group.PrivilegedProject_LogGroup_2759CAB4", id: "/aws/codebuild/codebuild-sample-dckr-push-ecr" },
      { to: "aws_iam_role.PrivilegedProject_Role_2C5A2E30", id: "cb-codebuild-sample-dckr-push-ecr-0001" },
      { to: "aws_ecr_lifecycle_policy.Repository_LifecyclePolicy_7F44DF3C", id: "codebuild-sample/dckr-push-ecr" },
      { to: "aws_iam_role_policy.PrivilegedProject_Role_Policy_09817AD7", id: "cb-codebuild-sample-dckr-push-ecr-0001:least-privilege" },
    ]);
  });

  test("what the state holds is left alone; a role in the state names its policy; other roles with its prefix are reported, not adopted", async () => {
    const s = synthesized();
    const inState = new Set(Object.entries<any>(s.resource).flatMap(([t, byId]) => Object.keys(byId).map((id) => `${t}.${id}`)));
    inState.delete("aws_iam_role_policy.PrivilegedProject_Role_Policy_09817AD7");
    const account = fakeAccount([{ kind: "aws_iam_role_policy", role: "cb-codebuild-sample-dckr-push-ecr-0002", name: "least-privilege" }], {
      "cb-codebuild-sample-dckr-push-ecr-0001": "local-eu-central-1",
      "cb-codebuild-sample-dckr-push-ecr-0002": "local-eu-central-1",
    });
    const findings = await findAdoptions(s, inState, new Map([["aws_iam_role.PrivilegedProject_Role_2C5A2E30", "cb-codebuild-sample-dckr-push-ecr-0002"]]), account, "local-eu-central-1");
    expect(findings).toEqual([
      { address: "aws_iam_role_policy.PrivilegedProject_Role_Policy_09817AD7", status: "adopt", id: "cb-codebuild-sample-dckr-push-ecr-0002:least-privilege" },
      { address: "aws_iam_role.PrivilegedProject_Role_2C5A2E30", status: "orphan", name: "cb-codebuild-sample-dckr-push-ecr-0001" },
    ]);
  });

  test("two candidate roles for one prefixed role: not adopted, both named", async () => {
    const s = synthesized();
    const account = fakeAccount([], { "cb-codebuild-sample-dckr-push-ecr-0001": "local-eu-central-1", "cb-codebuild-sample-dckr-push-ecr-0002": "local-eu-central-1" });
    const findings = await findAdoptions({ ...s, resource: { aws_iam_role: s.resource.aws_iam_role } }, new Set(), new Map(), account, "local-eu-central-1");
    expect(findings).toEqual([
      {
        address: "aws_iam_role.PrivilegedProject_Role_2C5A2E30",
        status: "not-adoptable",
        reason:
          "2 roles match its name_prefix cb-codebuild-sample-dckr-push-ecr- and tag Stack=local-eu-central-1 (cb-codebuild-sample-dckr-push-ecr-0001, cb-codebuild-sample-dckr-push-ecr-0002): import the right one by hand",
      },
    ]);
  });

  test("the Stack tag of the provider", () => {
    expect(stackTagOf(synthesized().provider.aws[0])).toBe("local-eu-central-1");
    expect(stackTagOf({})).toBeUndefined();
  });
});

describe("the lock", () => {
  test("where the backend keeps it", () => {
    const b = s3Backend(synthesized(), "s");
    expect(lockLocations(b)).toEqual({ object: "local/eu-central-1/terraform.tfstate.tflock", lockId: undefined });
    expect(lockLocations({ ...b, use_lockfile: false, dynamodb_table: "locks" })).toEqual({ object: undefined, lockId: "state/local/eu-central-1/terraform.tfstate" });
    expect(() => s3Backend({}, "s")).toThrow("s has no S3 backend in its cdk.tf.json: nothing to recover");
  });

  test("Terraform's lock info, and who", () => {
    expect(parseLockInfo('{"ID":"abc","Operation":"OperationTypeApply"}')).toEqual({ ID: "abc", Operation: "OperationTypeApply" });
    expect(parseLockInfo("{}")).toBeUndefined();
    expect(parseLockInfo("not json")).toBeUndefined();
    expect(whoParts("ci@runner-7")).toEqual({ user: "ci", host: "runner-7" });
    expect(whoParts("someone")).toEqual({ user: "someone" });
  });

  test("the explanation of a lock taken on another host", () => {
    const lines = describeLock(
      "prod-eu-west-1",
      {
        info: { ID: "abc", Operation: "OperationTypeApply", Who: "ci@elsewhere-host", Version: "1.11.4", Created: "2026-01-01T10:00:00.123456Z", Path: "b/k" },
        where: ["s3://b/k.tflock", "dynamodb://locks/b/k"],
      },
      os.tmpdir(),
      Date.parse("2026-01-01T12:05:00Z"),
    );
    expect(lines).toEqual([
      "prod-eu-west-1: the state is locked",
      "  lock ID:   abc",
      "  operation: OperationTypeApply",
      "  who:       ci@elsewhere-host (user ci on host elsewhere-host)",
      "  created:   2026-01-01T10:00:00.123456Z (2 h 5 min ago)",
      "  terraform: 1.11.4",
      "  path:      b/k",
      "  held in:   s3://b/k.tflock, dynamodb://locks/b/k",
      `  the lock was taken on host elsewhere-host, not this one (${os.hostname()}): Terraform records no pid, check there that nothing runs`,
    ]);
  });
});

describe("the refusal", () => {
  const review = (changes: { address: string; type: string; action: "create" | "update" | "delete" | "replace" }[]) => ({
    stack: "s",
    counts: { add: 0, change: 0, destroy: 0, replace: 0 },
    changes,
    risks: [],
    suppressions: [],
    destructive: [],
  });
  test("a plan that deletes or replaces anything is refused; creations and updates are not", () => {
    expect(refusal(review([{ address: "aws_codebuild_project.P", type: "aws_codebuild_project", action: "update" }, { address: "a.b", type: "a", action: "create" }]) as any)).toBeUndefined();
    expect(refusal(review([{ address: "aws_ecr_repository.R", type: "aws_ecr_repository", action: "replace" }, { address: "aws_iam_role.X", type: "aws_iam_role", action: "delete" }]) as any)).toBe(
      "refused: the plan replaces aws_ecr_repository.R, deletes aws_iam_role.X; recover never deletes anything. Nothing was applied: compare the config with what the account holds, then adopt by hand",
    );
  });
});

describe("reading terraform's JSON", () => {
  test("the names the state holds, and the imports a plan makes", () => {
    expect(
      stateNames({ values: { root_module: { resources: [{ address: "aws_iam_role.R", mode: "managed", values: { name: "cb-1" } }, { address: "data.x.y", mode: "data", values: { name: "n" } }] } } }),
    ).toEqual(new Map([["aws_iam_role.R", "cb-1"]]));
    expect(stateNames({})).toEqual(new Map());
    expect(
      plannedImports({
        resource_changes: [
          { address: "a.b", change: { actions: ["no-op"], importing: { id: "x" } } },
          { address: "c.d", change: { actions: ["update"], importing: { id: "y" } } },
          { address: "e.f", change: { actions: ["create"] } },
        ],
      }),
    ).toEqual([
      { address: "a.b", id: "x", then: "no change" },
      { address: "c.d", id: "y", then: "update" },
    ]);
  });
});

describe("an apply that fails on a resource that already exists", () => {
  const { alreadyExistsHint } = require("../../../scripts/plan-review/plan") as typeof import("../../../scripts/plan-review/plan");
  const failed = new Error("terraform apply failed:\nError: creating ECR Repository (app): RepositoryAlreadyExistsException: exists");

  test("names npm run recover for the stack", () => {
    expect(alreadyExistsHint(failed, "local-eu-central-1", false).message).toBe(
      `${failed.message}\nlocal-eu-central-1: a resource of this stack already exists outside its state (an interrupted apply creates resources it never records): ` +
        "adopt what exists with npm run recover -- --stack local-eu-central-1 (docs/recovery.md)",
    );
  });

  test("leaves other errors, and a destroy's, as they are", () => {
    const other = new Error("AccessDenied");
    expect(alreadyExistsHint(other, "local-eu-central-1", false)).toBe(other);
    expect(alreadyExistsHint(failed, "local-eu-central-1", true)).toBe(failed);
  });
});
