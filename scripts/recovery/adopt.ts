/**
 * Finds the resources of a synthesized stack that exist in the account but not in the state (an
 * apply interrupted after creating them), and the Terraform `import` blocks that adopt them.
 * The import IDs come from the synthesized (literal) config; a reference (`${…}`) is resolved
 * from the referenced resource's literal name, its name in the state, or the name found in the
 * account. Nothing here changes the account: it only reads.
 */
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { BatchGetProjectsCommand, CodeBuildClient } from "@aws-sdk/client-codebuild";
import { DescribeRepositoriesCommand, ECRClient, GetLifecyclePolicyCommand, GetRepositoryPolicyCommand } from "@aws-sdk/client-ecr";
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolesCommand, type Role } from "@aws-sdk/client-iam";
import { awsConfig, type ClientSettings } from "./account";

/** How to find one resource in the account; its import ID follows from it. */
export type Lookup =
  | { readonly kind: "aws_ecr_repository"; readonly name: string }
  | { readonly kind: "aws_ecr_lifecycle_policy"; readonly repository: string }
  | { readonly kind: "aws_ecr_repository_policy"; readonly repository: string }
  | { readonly kind: "aws_cloudwatch_log_group"; readonly name: string }
  | { readonly kind: "aws_iam_role"; readonly name: string }
  /** A role named by `name_prefix`: the one role with that prefix that carries the stack's `Stack` tag. */
  | { readonly kind: "aws_iam_role_prefix"; readonly prefix: string; readonly stackTag?: string }
  | { readonly kind: "aws_iam_role_policy"; readonly role: string; readonly name: string }
  | { readonly kind: "aws_iam_role_policy_attachment"; readonly role: string; readonly policyArn: string }
  | { readonly kind: "aws_codebuild_project"; readonly name: string };

/** Types whose name is also their `id` (and so what `${type.x.name}` / `${type.x.id}` resolve to). */
const NAMED_TYPES = ["aws_ecr_repository", "aws_cloudwatch_log_group", "aws_iam_role", "aws_codebuild_project"];

/** Every type recover can adopt, roots (named by themselves) first. */
export const ADOPTABLE_TYPES = [...NAMED_TYPES, "aws_ecr_lifecycle_policy", "aws_ecr_repository_policy", "aws_iam_role_policy", "aws_iam_role_policy_attachment"];

/** Why the types the stacks synthesize but recover does not adopt need no adoption. */
export const NOT_ADOPTED: Record<string, string> = {
  aws_ecr_replication_configuration: "the registry's replication setting, which an apply overwrites (nothing to adopt)",
  aws_ecr_registry_policy: "the registry policy, which an apply overwrites (nothing to adopt)",
};

/** The import ID Terraform's AWS provider expects for a found resource (`name` is the found name of a prefixed role). */
export function importId(lookup: Lookup, name?: string): string {
  switch (lookup.kind) {
    case "aws_ecr_repository":
    case "aws_cloudwatch_log_group":
    case "aws_iam_role":
    case "aws_codebuild_project":
      return lookup.name;
    case "aws_iam_role_prefix":
      if (!name) throw new Error(`the role with prefix ${lookup.prefix} has no name yet`);
      return name;
    case "aws_ecr_lifecycle_policy":
    case "aws_ecr_repository_policy":
      return lookup.repository;
    case "aws_iam_role_policy":
      return `${lookup.role}:${lookup.name}`;
    case "aws_iam_role_policy_attachment":
      return `${lookup.role}/${lookup.policyArn}`;
  }
}

/** Names of resources by address (`type.id`), for resolving references. */
export type Names = ReadonlyMap<string, string>;

const REFERENCE = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.(name|id)\}$/;

/**
 * A literal value as it is, or a whole `${type.id.name|id}` reference to a named resource
 * resolved from `names`; undefined for anything else (a computed value).
 */
export function resolveName(value: unknown, names: Names): string | undefined {
  if (typeof value !== "string") return undefined;
  if (!value.includes("${")) return value;
  const m = REFERENCE.exec(value);
  if (!m || !NAMED_TYPES.includes(m[1])) return undefined;
  return names.get(`${m[1]}.${m[2]}`);
}

/** The literal names of the synthesized named resources, by address. */
export function literalNames(synthesized: any): Map<string, string> {
  const names = new Map<string, string>();
  for (const type of NAMED_TYPES) {
    for (const [id, body] of Object.entries<any>(synthesized?.resource?.[type] ?? {})) {
      if (typeof body?.name === "string" && !body.name.includes("${")) names.set(`${type}.${id}`, body.name);
    }
  }
  return names;
}

/** What to look up for one synthesized resource, or why it cannot be adopted. */
export function lookupFor(type: string, body: any, names: Names, stackTag?: string): { lookup: Lookup } | { problem: string } {
  if (body?.count !== undefined || body?.for_each !== undefined) return { problem: "it uses count or for_each: import it by hand" };
  const unresolved = (field: string) => ({ problem: `its ${field} ${JSON.stringify(body?.[field])} is computed: it cannot be told from the config` });
  const named = (field: string) => resolveName(body?.[field], names);
  switch (type) {
    case "aws_ecr_repository":
    case "aws_cloudwatch_log_group":
    case "aws_codebuild_project": {
      const name = named("name");
      return name ? { lookup: { kind: type, name } } : unresolved("name");
    }
    case "aws_iam_role": {
      if (body?.name !== undefined) {
        const name = named("name");
        return name ? { lookup: { kind: type, name } } : unresolved("name");
      }
      if (typeof body?.name_prefix === "string" && !body.name_prefix.includes("${")) return { lookup: { kind: "aws_iam_role_prefix", prefix: body.name_prefix, stackTag } };
      return { problem: "it has neither a literal name nor a literal name_prefix" };
    }
    case "aws_ecr_lifecycle_policy":
    case "aws_ecr_repository_policy": {
      const repository = named("repository");
      return repository ? { lookup: { kind: type, repository } } : unresolved("repository");
    }
    case "aws_iam_role_policy": {
      const role = named("role");
      const name = named("name");
      if (!role) return unresolved("role");
      return name ? { lookup: { kind: type, role, name } } : unresolved("name");
    }
    case "aws_iam_role_policy_attachment": {
      const role = named("role");
      const policyArn = typeof body?.policy_arn === "string" && !body.policy_arn.includes("${") ? body.policy_arn : undefined;
      if (!role) return unresolved("role");
      return policyArn ? { lookup: { kind: type, role, policyArn } } : unresolved("policy_arn");
    }
    default:
      return { problem: NOT_ADOPTED[type] ? `it is ${NOT_ADOPTED[type]}` : `recover does not adopt ${type}` };
  }
}

/** Reads the account; each answers whether the resource exists (a prefixed role: the names that match). */
export interface AccountReader {
  exists(lookup: Exclude<Lookup, { kind: "aws_iam_role_prefix" }>): Promise<boolean>;
  /** Names of the roles with the prefix and (when given) the Stack tag, that no state holds (`exclude`). */
  rolesWithPrefix(prefix: string, stackTag: string | undefined, exclude: ReadonlySet<string>): Promise<string[]>;
}

/** What recover decided about one resource missing from the state. */
export type Finding =
  | { readonly address: string; readonly status: "adopt"; readonly id: string }
  | { readonly address: string; readonly status: "absent" }
  | { readonly address: string; readonly status: "not-adoptable"; readonly reason: string }
  /** A role with the name_prefix and Stack tag of a resource the state already holds (or now adopts): an earlier attempt's, left as it is. */
  | { readonly address: string; readonly status: "orphan"; readonly name: string };

/** The resources of a synthesized stack, `type.id` with their body, roots first. */
function resourcesOf(synthesized: any): { address: string; type: string; body: any }[] {
  const all = Object.entries<any>(synthesized?.resource ?? {}).flatMap(([type, byId]) => Object.entries<any>(byId).map(([id, body]) => ({ address: `${type}.${id}`, type, body })));
  const rank = (t: string) => (NAMED_TYPES.includes(t) ? 0 : 1);
  return all.sort((a, b) => rank(a.type) - rank(b.type));
}

/**
 * Every resource of the stack missing from the state, with what recover does about it.
 * @param inState addresses the state holds
 * @param stateNames names of resources the state holds, by address (from `terraform show -json`)
 * @param stackTag the `Stack` default tag of the stack's provider, which identifies its prefixed roles
 */
export async function findAdoptions(synthesized: any, inState: ReadonlySet<string>, stateNames: Names, account: AccountReader, stackTag?: string): Promise<Finding[]> {
  const names = new Map<string, string>([...literalNames(synthesized), ...stateNames]);
  const claimed = new Set(stateNames.values());
  const findings: Finding[] = [];
  for (const { address, type, body } of resourcesOf(synthesized)) {
    if (inState.has(address)) continue;
    if (typeof body?.provider === "string") {
      findings.push({ address, status: "not-adoptable", reason: `it uses the provider ${body.provider}: import it by hand` });
      continue;
    }
    const found = lookupFor(type, body, names, stackTag);
    if ("problem" in found) {
      findings.push({ address, status: "not-adoptable", reason: found.problem });
      continue;
    }
    const { lookup } = found;
    if (lookup.kind === "aws_iam_role_prefix") {
      const matches = (await account.rolesWithPrefix(lookup.prefix, lookup.stackTag, claimed)).filter((n) => !claimed.has(n));
      if (matches.length === 0) findings.push({ address, status: "absent" });
      else if (matches.length > 1) {
        findings.push({ address, status: "not-adoptable", reason: `${matches.length} roles match its name_prefix ${lookup.prefix}${lookup.stackTag ? ` and tag Stack=${lookup.stackTag}` : ""} (${matches.join(", ")}): import the right one by hand` });
      } else {
        names.set(address, matches[0]);
        claimed.add(matches[0]);
        findings.push({ address, status: "adopt", id: importId(lookup, matches[0]) });
      }
      continue;
    }
    if (await account.exists(lookup)) findings.push({ address, status: "adopt", id: importId(lookup) });
    else findings.push({ address, status: "absent" });
  }
  // Roles named by a prefix that a retried apply created again: the state holds one, the others stay behind.
  for (const { address, type, body } of resourcesOf(synthesized)) {
    if (type !== "aws_iam_role" || typeof body?.provider === "string" || !names.has(address)) continue;
    const found = lookupFor(type, body, names, stackTag);
    if (!("lookup" in found) || found.lookup.kind !== "aws_iam_role_prefix") continue;
    for (const name of await account.rolesWithPrefix(found.lookup.prefix, found.lookup.stackTag, claimed)) {
      if (!claimed.has(name)) findings.push({ address, status: "orphan", name });
    }
  }
  return findings;
}

/** The `recover-imports.tf.json` content for the adopted findings. */
export function importsFile(findings: readonly Finding[]): { import: { to: string; id: string }[] } {
  return { import: findings.flatMap((f) => (f.status === "adopt" ? [{ to: f.address, id: f.id }] : [])) };
}

const notFound = (names: string[]) => (e: Error) => {
  if (names.includes(e.name)) return undefined;
  throw e;
};

/** An {@link AccountReader} over the AWS SDK with the given client settings. */
export function sdkAccount(cfg: ClientSettings): AccountReader {
  const ecr = new ECRClient(cfg);
  const iam = new IAMClient(cfg);
  const noEntity = ["NoSuchEntityException", "NoSuchEntity"];
  return {
    async exists(l) {
      switch (l.kind) {
        case "aws_ecr_repository":
          return (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [l.name] })).catch(notFound(["RepositoryNotFoundException"]))) !== undefined;
        case "aws_ecr_lifecycle_policy":
          return (await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: l.repository })).catch(notFound(["LifecyclePolicyNotFoundException", "RepositoryNotFoundException"]))) !== undefined;
        case "aws_ecr_repository_policy":
          return (await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: l.repository })).catch(notFound(["RepositoryPolicyNotFoundException", "RepositoryNotFoundException"]))) !== undefined;
        case "aws_cloudwatch_log_group": {
          const got = await new CloudWatchLogsClient(cfg).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: l.name }));
          return (got.logGroups ?? []).some((g) => g.logGroupName === l.name);
        }
        case "aws_iam_role":
          return (await iam.send(new GetRoleCommand({ RoleName: l.name })).catch(notFound(noEntity))) !== undefined;
        case "aws_iam_role_policy":
          return (await iam.send(new GetRolePolicyCommand({ RoleName: l.role, PolicyName: l.name })).catch(notFound(noEntity))) !== undefined;
        case "aws_iam_role_policy_attachment": {
          const got = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: l.role })).catch(notFound(noEntity));
          return (got?.AttachedPolicies ?? []).some((p) => p.PolicyArn === l.policyArn);
        }
        case "aws_codebuild_project": {
          const got = await new CodeBuildClient(cfg).send(new BatchGetProjectsCommand({ names: [l.name] }));
          return (got.projects ?? []).some((p) => p.name === l.name);
        }
      }
    },
    async rolesWithPrefix(prefix, stackTag, exclude) {
      const roles: Role[] = [];
      let marker: string | undefined;
      do {
        const page = await iam.send(new ListRolesCommand({ Marker: marker }));
        roles.push(...(page.Roles ?? []).filter((r) => r.RoleName?.startsWith(prefix) && !exclude.has(r.RoleName)));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      const names: string[] = [];
      for (const r of roles) {
        if (stackTag !== undefined) {
          // ListRoles leaves tags out on real AWS: GetRole has them.
          const tags = (await iam.send(new GetRoleCommand({ RoleName: r.RoleName! }))).Role?.Tags ?? [];
          if (!tags.some((t) => t.Key === "Stack" && t.Value === stackTag)) continue;
        }
        names.push(r.RoleName!);
      }
      return names;
    },
  };
}

/** The provider block a resource uses (`provider = "aws.alias"`), from the synthesized config. */
export function providerOf(synthesized: any, body: any): any {
  const providers: any[] = synthesized?.provider?.aws ?? [];
  const alias = typeof body?.provider === "string" ? body.provider.split(".")[1] : undefined;
  return providers.find((p) => (alias ? p.alias === alias : p.alias === undefined)) ?? providers[0] ?? {};
}

/** Client settings for the account and region of a provider block. */
export async function providerAccount(provider: any, endpoint: string | undefined): Promise<ClientSettings> {
  const roleArn = (Array.isArray(provider.assume_role) ? provider.assume_role[0] : provider.assume_role)?.role_arn;
  return awsConfig({ region: provider.region, endpoint, roleArn, session: "recover" });
}

/** The `Stack` default tag of a provider block, if any. */
export function stackTagOf(provider: any): string | undefined {
  const dt = Array.isArray(provider?.default_tags) ? provider.default_tags[0] : provider?.default_tags;
  return dt?.tags?.Stack;
}
