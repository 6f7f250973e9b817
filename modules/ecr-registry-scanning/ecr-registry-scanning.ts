import { Construct, IConstruct } from "constructs";
import { TerraformStack } from "cdktf";
import { EcrRegistryScanningConfiguration } from "@cdktf/provider-aws/lib/ecr-registry-scanning-configuration";
import { sameCopy } from "../shared/one-copy";
import { PropProblems, throwPropProblems } from "../shared/validation";
import { registryScanningPropProblems } from "./registry-scanning-props";

/** How ECR scans the images of a registry. */
export enum RegistryScanType {
  /** ECR's basic scanning (operating-system package CVEs): on push or by hand. The registry's default. */
  BASIC = "BASIC",
  /** Amazon Inspector: OS and language packages, on push or continuously as new CVEs appear. */
  ENHANCED = "ENHANCED",
}

/** When the repositories a rule's filters match are scanned. */
export enum ScanFrequency {
  /** Each image when it is pushed (BASIC and ENHANCED). */
  SCAN_ON_PUSH = "SCAN_ON_PUSH",
  /** Continuously, as new vulnerabilities are published (ENHANCED only). */
  CONTINUOUS_SCAN = "CONTINUOUS_SCAN",
  /** Only when someone starts a scan (BASIC only). */
  MANUAL = "MANUAL",
}

/** One scanning rule: a frequency for the repositories its filters match. */
export interface RegistryScanningRule {
  /** When the matched repositories are scanned; which frequencies a scan type allows: see {@link SCAN_FREQUENCIES}. */
  readonly frequency: ScanFrequency;
  /**
   * Repository-name filters (type WILDCARD): `*` matches any characters, e.g. `"*"` (every
   * repository) or `"codebuild-sample/*"`. 1 to 100 per rule, each 1-255 lowercase letters,
   * digits, `*` and single `.`, `_`, `-` or `/` between them.
   */
  readonly filters: string[];
}

/** Properties of an {@link EcrRegistryScanning}. */
export interface EcrRegistryScanningProps {
  /** BASIC (ECR) or ENHANCED (Amazon Inspector) scanning. */
  readonly scanType: RegistryScanType;
  /**
   * At most two rules (one per frequency, in practice). Without rules nothing is scanned
   * automatically: repositories scan only when their own scan-on-push setting says so (BASIC).
   * @default - no rules
   */
  readonly rules?: RegistryScanningRule[];
}

/** The frequencies each scan type allows (ECR's PutRegistryScanningConfiguration rules). */
export const SCAN_FREQUENCIES: Readonly<Record<RegistryScanType, readonly ScanFrequency[]>> = {
  [RegistryScanType.BASIC]: [ScanFrequency.SCAN_ON_PUSH, ScanFrequency.MANUAL],
  [RegistryScanType.ENHANCED]: [ScanFrequency.SCAN_ON_PUSH, ScanFrequency.CONTINUOUS_SCAN],
};

/**
 * A scanning repository filter: 1-255 characters of lowercase letters, digits and `*`, with
 * single `.`, `_`, `-` or `/` between them (ECR's ScanningRepositoryFilter pattern).
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ScanningRepositoryFilter.html
 */
export const SCANNING_FILTER_PATTERN = /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/;

/** The most rules a registry scanning configuration holds. */
export const MAX_SCANNING_RULES = 2;
/** The most filters one rule holds. */
export const MAX_SCANNING_FILTERS = 100;

/** The rule a scanning filter breaks, for messages. */
export const SCANNING_FILTER_RULE =
  "must be 1-255 characters: lowercase letters, digits and '*' (any characters), with single '.', '_', '-' or '/' between them (ECR WILDCARD scanning filters)";

/** Whether `filter` is a valid WILDCARD scanning filter. */
export function isScanningFilter(filter: unknown): boolean {
  return typeof filter === "string" && filter.length >= 1 && filter.length <= 255 && SCANNING_FILTER_PATTERN.test(filter);
}

const CONSTRUCT = "EcrRegistryScanning";

/**
 * The scanning configuration of the registry of one account in one region
 * (`aws_ecr_registry_scanning_configuration`): BASIC or ENHANCED scanning, with scan-on-push,
 * continuous or manual rules filtered by repository name. A registry has exactly one, so a stack
 * (one account and region) holds at most one.
 *
 * Deleting it returns the registry to BASIC scanning without rules.
 *
 * @example
 * new EcrRegistryScanning(stack, "RegistryScanning", {
 *   scanType: RegistryScanType.ENHANCED,
 *   rules: [
 *     { frequency: ScanFrequency.CONTINUOUS_SCAN, filters: ["codebuild-sample/*"] },
 *     { frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["*"] },
 *   ],
 * });
 */
export class EcrRegistryScanning extends Construct {
  /** The scan type. */
  public readonly scanType: RegistryScanType;
  /** The rules, as given. */
  public readonly rules: readonly RegistryScanningRule[];
  /** The Terraform resource. */
  public readonly resource: EcrRegistryScanningConfiguration;

  constructor(scope: Construct, id: string, props: EcrRegistryScanningProps) {
    super(sameCopy(scope, CONSTRUCT, id), id);
    const p = new PropProblems(CONSTRUCT, id);
    const other = otherInStack(this);
    if (other !== undefined) {
      p.add("scope", other.stack, `already holds EcrRegistryScanning '${other.id}': a registry has one scanning configuration per account and region`);
    }
    p.throwIfAny();
    throwPropProblems(registryScanningPropProblems(id, props));
    this.scanType = props.scanType;
    this.rules = props.rules ?? [];
    this.resource = new EcrRegistryScanningConfiguration(this, "Resource", {
      scanType: props.scanType,
      rule: this.rules.map((r) => ({
        scanFrequency: r.frequency,
        repositoryFilter: r.filters.map((filter) => ({ filter, filterType: "WILDCARD" })),
      })),
    });
  }
}

/** Another EcrRegistryScanning in the stack of `self` (its id, and the stack's path), if any. */
function otherInStack(self: IConstruct): { id: string; stack: string } | undefined {
  let stack: IConstruct;
  try {
    stack = TerraformStack.of(self);
  } catch {
    return undefined;
  }
  const other = stack.node.findAll().find((c) => c !== self && c instanceof EcrRegistryScanning);
  return other === undefined ? undefined : { id: other.node.id, stack: stack.node.path };
}
