/**
 * The pure prop check of an {@link EcrRegistryScanning}. Internal: the package exports the
 * construct, not this function.
 */
import { PropProblems, type PropProblemDetail, recordedProblems } from "../shared/validation";
import {
  type EcrRegistryScanning,
  type EcrRegistryScanningProps,
  MAX_SCANNING_FILTERS,
  MAX_SCANNING_RULES,
  RegistryScanType,
  SCANNING_FILTER_RULE,
  SCAN_FREQUENCIES,
  ScanFrequency,
  isScanningFilter,
} from "./ecr-registry-scanning";

const CONSTRUCT = "EcrRegistryScanning";

/**
 * The problems of an {@link EcrRegistryScanning}'s props, as data (prop, value, rule): what its
 * constructor throws, without a construct (the environments file's check reports them at the
 * config's fields).
 */
export function registryScanningPropProblems(id: string, props: EcrRegistryScanningProps): readonly PropProblemDetail[] {
  const p = new PropProblems(CONSTRUCT, id);
  check(p, props);
  return recordedProblems(p);
}

function check(p: PropProblems, props: EcrRegistryScanningProps): void {
  const types = Object.values(RegistryScanType) as string[];
  const typeOk = types.includes(props.scanType);
  p.check(typeOk, "scanType", props.scanType, `must be one of ${types.join(", ")}`);
  const rules = props.rules ?? [];
  if (!Array.isArray(rules)) return p.add("rules", rules, "must be an array of rules");
  p.check(rules.length <= MAX_SCANNING_RULES, "rules", rules.map((r) => r?.frequency), `must hold at most ${MAX_SCANNING_RULES} rules (ECR's limit for a registry scanning configuration)`);
  const frequencies = Object.values(ScanFrequency) as string[];
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (!frequencies.includes(rule.frequency)) {
      p.add(`${at}.frequency`, rule.frequency, `must be one of ${frequencies.join(", ")}`);
    } else if (typeOk && !SCAN_FREQUENCIES[props.scanType].includes(rule.frequency)) {
      p.add(`${at}.frequency`, rule.frequency, `is not allowed with scanType ${props.scanType} (allowed: ${SCAN_FREQUENCIES[props.scanType].join(", ")})`);
    }
    const filters = rule.filters;
    if (!Array.isArray(filters) || filters.length < 1 || filters.length > MAX_SCANNING_FILTERS) {
      p.add(`${at}.filters`, filters, `must hold 1 to ${MAX_SCANNING_FILTERS} filters ("*" for every repository)`);
      return;
    }
    filters.forEach((f, j) => {
      p.check(isScanningFilter(f), `${at}.filters[${j}]`, f, SCANNING_FILTER_RULE);
      if (filters.indexOf(f) !== j) p.add(`${at}.filters[${j}]`, f, "is a duplicate filter");
    });
  });
}
