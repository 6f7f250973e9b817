import { IConstruct } from "constructs";
import { Aspects, IAspect, S3Backend, TerraformElement, TerraformResource, TerraformStack } from "cdktf";
import { WILDCARD_RESOURCE_ACTIONS } from "../shared/iam";
import { looksLikeSecret } from "../shared/secret-names";
import { resolveIn } from "../shared/validation";
import { checkFromAboveStacks, runAncestorAspects, sameCopy } from "../shared/one-copy";

/** One rule of the pack: what it checks and the scanner control it mirrors. */
export interface PolicyRule {
  /** The rule ID, the same as the control it mirrors where there is one (e.g. `CKV_AWS_51`). */
  readonly id: string;
  /** The checkov / trivy / Security Hub control (or guidance) it mirrors. */
  readonly mirrors: string;
  /** What the rule requires. */
  readonly title: string;
  /** How to fix a violation. */
  readonly fix: string;
}

/** A broken rule, found at synth. */
export interface Violation {
  readonly rule: PolicyRule;
  readonly path: string;
  readonly detail: string;
}

/** A rule switched off for one construct, with the written reason. */
export interface Suppression {
  readonly rule: string;
  readonly reason: string;
}

const rule = (id: string, mirrors: string, title: string, fix: string): PolicyRule => ({ id, mirrors, title, fix });

/** Every rule of the pack, by ID. */
export const RULES = {
  ecrImmutable: rule("CKV_AWS_51", "checkov CKV_AWS_51", "ECR repositories have immutable tags", "set tagMutability to IMMUTABLE (the EcrRepo default)"),
  ecrScanOnPush: rule("CKV_AWS_163", "checkov CKV_AWS_163", "ECR repositories scan images on push", "set scanOnPush to true (the EcrRepo default)"),
  ecrKms: rule("CKV_AWS_136", "checkov CKV_AWS_136", "ECR repositories are encrypted with KMS", "use encryption_type KMS (the EcrRepo default)"),
  ecrNotPublic: rule(
    "CKV_AWS_32",
    "checkov CKV_AWS_32",
    "ECR repository policies do not grant access to everyone",
    "name account principals, or condition a \"*\" principal on aws:PrincipalOrgID (EcrRepo pullAccountIds / pullOrganizationId)",
  ),
  ecrLifecycle: rule("ECR.3", "AWS Security Hub ECR.3", "ECR repositories have a lifecycle policy", "keep EcrRepo's default lifecycle rules or give lifecycleRules"),
  codebuildLogs: rule("CKV_AWS_314", "checkov CKV_AWS_314", "CodeBuild projects write logs", "enable CloudWatch or S3 logs in logs_config (the project constructs do)"),
  codebuildTimeout: rule("CB-TIMEOUT", "Security Hub CodeBuild guidance (bounded builds)", "CodeBuild projects set a build timeout", "set buildTimeoutMinutes"),
  codebuildPlaintextSecret: rule(
    "CodeBuild.2",
    "AWS Security Hub CodeBuild.2",
    "CodeBuild environment variables hold no clear-text credentials",
    "store the value in SSM Parameter Store or Secrets Manager and use type PARAMETER_STORE or SECRETS_MANAGER",
  ),
  codebuildRegistryCredential: rule(
    "CB-REGISTRY-CREDENTIAL",
    "AWS CodeBuild private registry guidance",
    "a registry credential comes with SERVICE_ROLE image pull credentials",
    "set image_pull_credentials_type to SERVICE_ROLE when registry_credential is set (CodeBuildDindProject does)",
  ),
  codebuildPrivileged: rule(
    "CKV_AWS_316",
    "checkov CKV_AWS_316 (Security Hub CodeBuild.5, since retired by AWS)",
    "CodeBuild projects do not run privileged",
    "turn privileged mode off, or suppress CKV_AWS_316 with the reason where building images needs it",
  ),
  ecrPullThroughCredential: rule(
    "ECR-PTC-CREDENTIAL",
    "Amazon ECR pull-through cache guidance (authenticated upstreams; Secrets Manager secrets named ecr-pullthroughcache/)",
    "pull-through cache rules for Docker Hub, GitHub, GitLab and Azure registries have a credential, in a secret whose name starts with ecr-pullthroughcache/",
    "set credential_arn to a Secrets Manager secret named ecr-pullthroughcache/<name> (EcrPullThroughCache requires it)",
  ),
  codebuildWebhookFilter: rule(
    "CB-WEBHOOK-FILTER",
    "AWS CodeBuild webhook filter groups guidance",
    "CodeBuild webhooks have filter groups, each with an EVENT filter (a webhook without them builds every push and pull request of every branch)",
    "give the webhook filter groups with an EVENT filter (the project constructs' triggers do)",
  ),
  codebuildPullRequestPush: rule(
    "CB-PR-NO-PUSH",
    "AWS CodeBuild webhook guidance (untrusted pull request builds)",
    "a webhook that builds pull requests starts a project whose role cannot push to ECR",
    "build pull requests with triggers.pullRequest (a second project with a pull-only role and PUSH_IMAGE=false)",
  ),
  codebuildBatch: rule(
    "CB-BATCH",
    "AWS CodeBuild batch build guidance (the batch security role, batch restrictions)",
    "CodeBuild batch builds run with a batch service role other than the build's, and limit the builds of a batch",
    "give build_batch_config a role of its own (StartBuild, StopBuild, RetryBuild on the project) and restrictions.maximum_builds_allowed (CodeBuildPrivilegedProject multiArch does)",
  ),
  iamWildcardAction: rule("CKV_AWS_63", "checkov CKV_AWS_63", "IAM policies name exact actions (no \"*\" in actions)", "list the exact actions"),
  iamWildcardResource: rule(
    "CKV_AWS_355",
    "checkov CKV_AWS_355",
    "\"*\" is a resource only of actions without resource ARNs (ecr:GetAuthorizationToken)",
    "name the exact ARNs",
  ),
  iamTrustCondition: rule(
    "IAM-CONFUSED-DEPUTY",
    "AWS IAM confused-deputy guidance (aws:SourceAccount / aws:SourceArn)",
    "service trust policies carry aws:SourceAccount or aws:SourceArn",
    "add an aws:SourceAccount (or aws:SourceArn) condition to the trust policy (CodeBuildServiceRole does)",
  ),
  stateEncrypted: rule("STATE-ENCRYPTED", "HashiCorp S3 backend guidance (encrypt = true)", "the S3 state backend encrypts the state", "set encrypt: true on the S3 backend"),
  stateLocked: rule(
    "STATE-LOCKED",
    "HashiCorp S3 backend guidance (use_lockfile / dynamodb_table)",
    "the S3 state backend locks the state",
    "set use_lockfile (Terraform >= 1.10) or a dynamodb_table on the S3 backend",
  ),
} as const;

/** Upstream registry URLs ECR pulls through only with a credential (Docker Hub, GHCR, GitLab, Azure). */
const CREDENTIAL_REQUIRED_UPSTREAMS = [/^(registry-1\.|index\.)?docker\.io$/, /^ghcr\.io$/, /^registry\.gitlab\.com$/, /^[a-z0-9]+\.azurecr\.io$/i];

/** The construct metadata type of a suppression (as cdk-nag keeps its suppressions on the construct). */
export const SUPPRESSION_METADATA = "codebuild-docker-modules:policy-suppression";

/**
 * The policy pack: checks every resource of a stack at synth against the rules above and fails
 * synth with the construct path, the rule ID and how to fix it. Add it to the whole app or to one
 * stack with `PolicyPack.applyTo(app)` / `PolicyPack.applyTo(stack)` (RegionalStack does), or as
 * cdk-nag users do, `Aspects.of(app).add(new PolicyPack())`: each way, every stack under it is
 * checked and its violations fail its synth.
 */
export class PolicyPack implements IAspect {
  /**
   * Adds the pack to `scope` (an app, a stack, or any construct above stacks) and makes the
   * violations of every stack under it fail synth, stacks added later included.
   */
  public static applyTo(scope: IConstruct): PolicyPack {
    sameCopy(scope, "PolicyPack.applyTo", scope.node.id || "app");
    const pack = new PolicyPack();
    Aspects.of(scope).add(pack);
    // Above the stacks cdktf does not run it: the stacks under the scope run it themselves.
    for (const stack of scope.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c))) runAncestorAspects(stack);
    return pack;
  }

  /** A pack to add with {@link PolicyPack.applyTo}, or as an aspect of the app or of a stack. */
  constructor() {
    // Added above the stacks (Aspects.of(app).add(new PolicyPack())), cdktf does not run it: each
    // stack under it has it check the stack at validation (runAncestorAspects).
    checkFromAboveStacks(this, (stack) => {
      this.guarded.add(stack);
      for (const c of stack.node.findAll()) this.visit(c);
      return this.violationsOf(stack);
    });
  }

  /**
   * Switches `ruleId` off for `construct` (a resource or any construct above it). The reason is
   * required: it is written into the synthesized stack and listed in the plan summary.
   */
  public static suppress(construct: IConstruct, ruleId: string, reason: string): void {
    const known = Object.values(RULES).map((r) => r.id);
    if (!known.includes(ruleId)) {
      throw new Error(`PolicyPack.suppress at ${construct.node.path}: rule ${JSON.stringify(ruleId)} is unknown (rules: ${known.join(", ")})`);
    }
    if (typeof reason !== "string" || reason.trim().length < 10) {
      throw new Error(
        `PolicyPack.suppress at ${construct.node.path}: suppressing ${ruleId} needs a written reason (at least 10 characters), got ${JSON.stringify(reason)}`,
      );
    }
    construct.node.addMetadata(SUPPRESSION_METADATA, { rule: ruleId, reason: reason.trim() } satisfies Suppression);
  }

  /** The suppressions that apply to `construct`: its own and those of the constructs above it. */
  public static suppressionsOf(construct: IConstruct): Suppression[] {
    return construct.node.scopes.flatMap((c) => c.node.metadata.filter((m) => m.type === SUPPRESSION_METADATA).map((m) => m.data as Suppression));
  }

  private readonly found = new Map<string, Violation>();
  private readonly recorded = new WeakSet<IConstruct>();
  /** The stacks whose synth this pack fails on a violation (a validation added on the first visit). */
  private readonly guarded = new WeakSet<IConstruct>();

  /** The violations found so far (each once, however often the aspect runs). */
  public get violations(): Violation[] {
    return [...this.found.values()];
  }

  public visit(node: IConstruct): void {
    if (TerraformStack.isStack(node)) {
      if (!this.guarded.has(node)) {
        this.guarded.add(node);
        node.node.addValidation({ validate: () => this.violationsOf(node) });
      }
      this.checkBackend(node);
    }
    if (!(node instanceof TerraformResource)) return;
    const config = resolveIn(TerraformStack.of(node), (node as TerraformElement).toTerraform()).resource?.[node.terraformResourceType];
    const body = config ? (Object.values(config)[0] as Record<string, any>) : undefined;
    if (!body) return;
    const suppressed = PolicyPack.suppressionsOf(node);
    const report = (r: PolicyRule, detail: string) => {
      if (suppressed.some((s) => s.rule === r.id)) return;
      this.found.set(`${node.node.path}|${r.id}|${detail}`, { rule: r, path: node.node.path, detail });
    };
    if (suppressed.length && !this.recorded.has(node)) {
      // Written into the synthesized JSON (Terraform ignores "//"), so plan summaries can list them.
      node.addOverride("//.policy_suppressions", suppressed);
      this.recorded.add(node);
    }
    checkResource(node, node.terraformResourceType, body, report);
  }

  /** The violations in `stack`, as the lines that fail its synth. */
  private violationsOf(stack: IConstruct): string[] {
    const prefix = `${stack.node.path}/`;
    return this.violations.filter((v) => v.path === stack.node.path || v.path.startsWith(prefix)).map(formatViolation);
  }

  private checkBackend(stack: TerraformStack): void {
    const backend = stack.node.findAll().find((c) => c instanceof S3Backend) as S3Backend | undefined;
    if (!backend) return;
    // The backend as the stack writes it: the backend's props and its overrides
    // (backend.addOverride("use_lockfile", true)) and the stack's
    // (stack.addOverride("terraform.backend.s3.use_lockfile", true)) all count.
    const s3 = resolveIn(stack, stack.toTerraform()).terraform?.backend?.s3 ?? {};
    const path = backend.node.path;
    const on = (v: unknown) => v === true || v === "true";
    if (!on(s3.encrypt)) this.found.set(`${path}|enc`, { rule: RULES.stateEncrypted, path, detail: `encrypt is ${JSON.stringify(s3.encrypt)}` });
    if (!on(s3.use_lockfile) && !s3.dynamodb_table) {
      this.found.set(`${path}|lock`, { rule: RULES.stateLocked, path, detail: "neither use_lockfile nor dynamodb_table is set" });
    }
  }
}

/** `[<path>] <rule id>: <title> (<detail>). Fix: <fix>. Mirrors <control>.` */
export function formatViolation(v: Violation): string {
  return `${v.rule.id} violated at ${v.path}: ${v.rule.title} (${v.detail}). Fix: ${v.rule.fix}. Mirrors ${v.rule.mirrors}.`;
}

function policyStatements(text: unknown): any[] {
  if (typeof text !== "string") return [];
  try {
    const doc = JSON.parse(text);
    return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  } catch {
    return [];
  }
}

const asList = (v: unknown): any[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The ECR actions whose grant lets a build push an image. */
const ECR_PUSH_WRITE_ACTIONS = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"];

/** A reference to an attribute of a resource of the stack, as it resolves: `${<type>.<logical id>.<attribute>}`. */
function reference(stack: TerraformStack, resource: TerraformResource, attribute: string): string {
  return `\${${resource.terraformResourceType}.${stack.getLogicalId(resource as TerraformElement)}.${attribute}}`;
}

function resourcesOf(stack: TerraformStack, type: string): { resource: TerraformResource; body: Record<string, any> }[] {
  return stack.node
    .findAll()
    .filter((c): c is TerraformResource => c instanceof TerraformResource && c.terraformResourceType === type)
    .map((resource) => ({ resource, body: Object.values(resolveIn(stack, (resource as TerraformElement).toTerraform()).resource[type])[0] as Record<string, any> }));
}

/**
 * The ECR push actions the inline policies of the stack give the role of the project a webhook
 * starts (`projectName`: the project's name or a reference to it). Empty when the project or its
 * role is not a resource of the stack (an imported role: nothing to read here).
 */
function pushActionsOfProjectRole(node: IConstruct, projectName: unknown): string[] {
  const stack = TerraformStack.of(node);
  const project = resourcesOf(stack, "aws_codebuild_project").find(
    (p) => p.body.name === projectName || reference(stack, p.resource, "name") === projectName,
  );
  if (!project) return [];
  const role = resourcesOf(stack, "aws_iam_role").find((r) => reference(stack, r.resource, "arn") === project.body.service_role);
  if (!role) return [];
  const names = [reference(stack, role.resource, "id"), reference(stack, role.resource, "name"), role.body.name].filter((x) => x !== undefined);
  const actions = resourcesOf(stack, "aws_iam_role_policy")
    .filter((p) => names.includes(p.body.role))
    .flatMap((p) => policyStatements(p.body.policy))
    .filter((st) => st.Effect === "Allow")
    .flatMap((st) => asList(st.Action).map(String));
  return ECR_PUSH_WRITE_ACTIONS.filter((a) => actions.includes(a) || actions.includes("ecr:*") || actions.includes("*"));
}

function checkResource(node: IConstruct, type: string, body: Record<string, any>, report: (r: PolicyRule, detail: string) => void): void {
  switch (type) {
    case "aws_ecr_repository": {
      if (body.image_tag_mutability !== "IMMUTABLE") report(RULES.ecrImmutable, `image_tag_mutability is ${JSON.stringify(body.image_tag_mutability ?? "MUTABLE")}`);
      if (body.image_scanning_configuration?.scan_on_push !== true) report(RULES.ecrScanOnPush, "scan_on_push is not true");
      if (asList(body.encryption_configuration)[0]?.encryption_type !== "KMS") report(RULES.ecrKms, "encryption_type is not KMS");
      const stack = TerraformStack.of(node);
      const name = `\${${type}.${stack.getLogicalId(node as TerraformElement)}.name}`;
      const hasLifecycle = stack.node
        .findAll()
        .filter((c): c is TerraformResource => c instanceof TerraformResource && c.terraformResourceType === "aws_ecr_lifecycle_policy")
        .some((c) => {
          const repo = resolveIn(stack, (c as TerraformElement).toTerraform()).resource.aws_ecr_lifecycle_policy;
          const value = (Object.values(repo)[0] as any).repository;
          return value === name || value === body.name;
        });
      if (!hasLifecycle) report(RULES.ecrLifecycle, "no aws_ecr_lifecycle_policy for this repository in the stack");
      return;
    }
    case "aws_ecr_repository_policy":
      for (const st of policyStatements(body.policy)) {
        if (st.Effect !== "Allow") continue;
        const principals = st.Principal === "*" ? ["*"] : asList(st.Principal?.AWS);
        const conditioned = st.Condition && JSON.stringify(st.Condition).match(/aws:(PrincipalOrgID|PrincipalAccount|SourceAccount|SourceArn|PrincipalArn)/);
        if (principals.includes("*") && !conditioned) report(RULES.ecrNotPublic, `statement ${JSON.stringify(st.Sid ?? "")} allows principal "*" without a narrowing condition`);
      }
      return;
    case "aws_codebuild_project": {
      const logs = body.logs_config;
      const cw = logs?.cloudwatch_logs?.status;
      const s3 = logs?.s3_logs?.status;
      if (!logs || ((cw ?? "ENABLED") === "DISABLED" && (s3 ?? "DISABLED") === "DISABLED") || (!logs.cloudwatch_logs && !logs.s3_logs)) {
        report(RULES.codebuildLogs, "logs_config has no enabled CloudWatch or S3 logs");
      }
      if (body.build_timeout === undefined) report(RULES.codebuildTimeout, "build_timeout is not set");
      const env = body.environment ?? {};
      for (const v of asList(env.environment_variable)) {
        if ((v.type ?? "PLAINTEXT") === "PLAINTEXT" && looksLikeSecret(String(v.name))) {
          report(RULES.codebuildPlaintextSecret, `variable ${v.name} is PLAINTEXT`);
        }
      }
      if (env.registry_credential && env.image_pull_credentials_type !== "SERVICE_ROLE") {
        report(RULES.codebuildRegistryCredential, `image_pull_credentials_type is ${JSON.stringify(env.image_pull_credentials_type ?? "CODEBUILD")}`);
      }
      if (env.privileged_mode === true) report(RULES.codebuildPrivileged, "privileged_mode is true");
      const batch = body.build_batch_config;
      if (batch) {
        // A build role that may start builds lets a build start builds past the batch's restrictions (CodeBuild's batch guidance).
        if (batch.service_role === body.service_role) report(RULES.codebuildBatch, "build_batch_config.service_role is the project's service_role");
        if (batch.restrictions?.maximum_builds_allowed === undefined) report(RULES.codebuildBatch, "build_batch_config has no restrictions.maximum_builds_allowed");
      }
      return;
    }
    case "aws_ecr_pull_through_cache_rule": {
      const url = String(body.upstream_registry_url ?? "");
      const credential = body.credential_arn;
      if (credential === undefined || credential === null || credential === "") {
        if (CREDENTIAL_REQUIRED_UPSTREAMS.some((u) => u.test(url))) report(RULES.ecrPullThroughCredential, `upstream ${url} has no credential_arn`);
      } else if (typeof credential === "string" && !credential.includes("${") && !/:secret:ecr-pullthroughcache\//.test(credential)) {
        report(RULES.ecrPullThroughCredential, `credential_arn ${JSON.stringify(credential)} is not a secret named ecr-pullthroughcache/…`);
      }
      return;
    }
    case "aws_codebuild_webhook": {
      const groups = asList(body.filter_group);
      if (groups.length === 0) report(RULES.codebuildWebhookFilter, "no filter_group: every push and pull request of every branch starts a build");
      groups.forEach((g, i) => {
        if (!asList(g.filter).some((f) => f.type === "EVENT")) report(RULES.codebuildWebhookFilter, `filter_group ${i} has no EVENT filter`);
      });
      // A group without an EVENT filter matches pull requests too.
      const eventsOf = (g: any) => asList(g.filter).filter((f) => f.type === "EVENT").map((f) => String(f.pattern)).join(",");
      const buildsPullRequests = groups.length === 0 || groups.some((g) => eventsOf(g) === "" || eventsOf(g).includes("PULL_REQUEST_"));
      if (buildsPullRequests) {
        const pushing = pushActionsOfProjectRole(node, body.project_name);
        if (pushing.length) report(RULES.codebuildPullRequestPush, `it builds pull requests, and the role of project ${body.project_name} may ${pushing.join(", ")}`);
      }
      return;
    }
    case "aws_iam_role_policy":
    case "aws_iam_policy":
      for (const st of policyStatements(body.policy)) {
        if (st.Effect !== "Allow") continue;
        const actions = asList(st.Action).map(String);
        for (const a of actions.filter((x) => x.includes("*"))) report(RULES.iamWildcardAction, `action ${JSON.stringify(a)} in statement ${JSON.stringify(st.Sid ?? "")}`);
        if (asList(st.Resource).includes("*")) {
          const restrictable = actions.filter((a) => !WILDCARD_RESOURCE_ACTIONS.includes(a));
          if (restrictable.length) report(RULES.iamWildcardResource, `statement ${JSON.stringify(st.Sid ?? "")} allows ${restrictable.join(", ")} on "*"`);
        }
      }
      return;
    case "aws_iam_role":
      for (const st of policyStatements(body.assume_role_policy)) {
        if (st.Effect !== "Allow" || !st.Principal?.Service) continue;
        const keys = JSON.stringify(st.Condition ?? {});
        if (!/aws:Source(Account|Arn)/.test(keys)) report(RULES.iamTrustCondition, `statement ${JSON.stringify(st.Sid ?? "")} trusts ${asList(st.Principal.Service).join(", ")} without aws:SourceAccount or aws:SourceArn`);
      }
      return;
  }
}
