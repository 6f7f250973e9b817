import { Testing } from "cdktf";
import { EcrRegistryScanningConfiguration } from "@cdktf/provider-aws/lib/ecr-registry-scanning-configuration";
import {
  EcrRegistryScanning,
  EcrRegistryScanningProps,
  PropValidationError,
  RegistryScanType,
  SCAN_FREQUENCIES,
  ScanFrequency,
  isScanningFilter,
} from "../../modules";
import { ConfigError, EnvironmentConfig, validateConfig } from "../../config/environments";
import { RegionalStack } from "../../stacks";
import { describeScanning, scanningDifference } from "../../scripts/local-aws/deploy";
import { localEnvironment, prodEnvironment, shippedConfig } from "../support/environments";
import { messageOf, newStack, resources, synthJson, synthScope } from "../support/synth";

const ENHANCED: EcrRegistryScanningProps = {
  scanType: RegistryScanType.ENHANCED,
  rules: [
    { frequency: ScanFrequency.CONTINUOUS_SCAN, filters: ["codebuild-sample/*"] },
    { frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["*"] },
  ],
};

/** The problem lines of the PropValidationError the construct throws for `props`. */
function problemsOf(props: EcrRegistryScanningProps): readonly string[] {
  try {
    new EcrRegistryScanning(newStack(), "scanning", props);
  } catch (e) {
    if (e instanceof PropValidationError) return e.problems;
    throw e;
  }
  throw new Error("expected a PropValidationError");
}

describe("EcrRegistryScanning", () => {
  describe("synthesizes", () => {
    test("ENHANCED with a continuous and a scan-on-push rule, each filter a WILDCARD filter", () => {
      const stack = newStack();
      new EcrRegistryScanning(stack, "Scanning", ENHANCED);
      const [config] = resources(synthJson(stack), "aws_ecr_registry_scanning_configuration");
      expect(config).toEqual({
        scan_type: "ENHANCED",
        rule: [
          { scan_frequency: "CONTINUOUS_SCAN", repository_filter: [{ filter: "codebuild-sample/*", filter_type: "WILDCARD" }] },
          { scan_frequency: "SCAN_ON_PUSH", repository_filter: [{ filter: "*", filter_type: "WILDCARD" }] },
        ],
      });
    });

    test("BASIC scan-on-push for several filters", () => {
      expect(
        synthScope((s) => new EcrRegistryScanning(s, "Scanning", { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["team-a/*", "team-b/*"] }] })),
      ).toHaveResourceWithProperties(EcrRegistryScanningConfiguration, {
        scan_type: "BASIC",
        rule: [
          {
            scan_frequency: "SCAN_ON_PUSH",
            repository_filter: [
              { filter: "team-a/*", filter_type: "WILDCARD" },
              { filter: "team-b/*", filter_type: "WILDCARD" },
            ],
          },
        ],
      });
    });

    test("without rules: the scan type alone, and the attributes say what was given", () => {
      const stack = newStack();
      const scanning = new EcrRegistryScanning(stack, "Scanning", { scanType: RegistryScanType.BASIC });
      const [config] = resources(synthJson(stack), "aws_ecr_registry_scanning_configuration");
      expect(config.scan_type).toBe("BASIC");
      expect(config.rule ?? []).toEqual([]);
      expect(scanning.scanType).toBe(RegistryScanType.BASIC);
      expect(scanning.rules).toEqual([]);
    });

    test("the frequencies each scan type allows", () => {
      expect(SCAN_FREQUENCIES).toEqual({ BASIC: ["SCAN_ON_PUSH", "MANUAL"], ENHANCED: ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"] });
    });
  });

  describe("validation: one line per problem", () => {
    test.each<[string, EcrRegistryScanningProps, string]>([
      ["an unknown scan type", { scanType: "FULL" as RegistryScanType }, `EcrRegistryScanning 'scanning': scanType "FULL" must be one of BASIC, ENHANCED`],
      [
        "more than two rules",
        { scanType: RegistryScanType.ENHANCED, rules: [...ENHANCED.rules!, { frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["x"] }] },
        `EcrRegistryScanning 'scanning': rules ["CONTINUOUS_SCAN","SCAN_ON_PUSH","SCAN_ON_PUSH"] must hold at most 2 rules (ECR's limit for a registry scanning configuration)`,
      ],
      [
        "an unknown frequency",
        { scanType: RegistryScanType.ENHANCED, rules: [{ frequency: "HOURLY" as ScanFrequency, filters: ["*"] }] },
        `EcrRegistryScanning 'scanning': rules[0].frequency "HOURLY" must be one of SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL`,
      ],
      [
        "CONTINUOUS_SCAN with BASIC",
        { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.CONTINUOUS_SCAN, filters: ["*"] }] },
        `EcrRegistryScanning 'scanning': rules[0].frequency "CONTINUOUS_SCAN" is not allowed with scanType BASIC (allowed: SCAN_ON_PUSH, MANUAL)`,
      ],
      [
        "MANUAL with ENHANCED",
        { scanType: RegistryScanType.ENHANCED, rules: [{ frequency: ScanFrequency.MANUAL, filters: ["*"] }] },
        `EcrRegistryScanning 'scanning': rules[0].frequency "MANUAL" is not allowed with scanType ENHANCED (allowed: SCAN_ON_PUSH, CONTINUOUS_SCAN)`,
      ],
      [
        "a rule without filters",
        { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.SCAN_ON_PUSH, filters: [] }] },
        `EcrRegistryScanning 'scanning': rules[0].filters [] must hold 1 to 100 filters ("*" for every repository)`,
      ],
      [
        "an uppercase filter",
        { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["*", "Team/*"] }] },
        `EcrRegistryScanning 'scanning': rules[0].filters[1] "Team/*" must be 1-255 characters: lowercase letters, digits and '*' (any characters), with single '.', '_', '-' or '/' between them (ECR WILDCARD scanning filters)`,
      ],
    ])("%s", (_, props, line) => {
      expect(problemsOf(props)).toEqual([line]);
    });

    test("more than 100 filters in a rule is one line", () => {
      const filters = Array.from({ length: 101 }, (_, i) => `repo-${i}`);
      const lines = problemsOf({ scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.SCAN_ON_PUSH, filters }] });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^EcrRegistryScanning 'scanning': rules\[0\]\.filters \["repo-0",.*"repo-100"\] must hold 1 to 100 filters/);
    });

    test.each<[string, string, boolean]>([
      ["every repository", "*", true],
      ["a prefix", "codebuild-sample/*", true],
      ["one character", "a", true],
      ["a substring", "*prod*", true],
      ["single separators", "team.app_x-y/z", true],
      ["255 characters", "a".repeat(255), true],
      ["empty", "", false],
      ["256 characters", "a".repeat(256), false],
      ["uppercase", "Team", false],
      ["a double separator", "a//b", false],
      ["a leading separator", "-a", false],
      ["a trailing separator", "a-", false],
      ["a space", "a b", false],
    ])("a filter of %s is valid: %s", (_, filter, valid) => {
      expect(isScanningFilter(filter)).toBe(valid);
    });

    test("every problem at once, each on its own line", () => {
      expect(
        problemsOf({
          scanType: RegistryScanType.BASIC,
          rules: [
            { frequency: ScanFrequency.CONTINUOUS_SCAN, filters: ["UPPER"] },
            { frequency: ScanFrequency.SCAN_ON_PUSH, filters: [] },
          ],
        }),
      ).toEqual([
        `EcrRegistryScanning 'scanning': rules[0].frequency "CONTINUOUS_SCAN" is not allowed with scanType BASIC (allowed: SCAN_ON_PUSH, MANUAL)`,
        expect.stringMatching(/^EcrRegistryScanning 'scanning': rules\[0\]\.filters\[0\] "UPPER" must be 1-255 characters/),
        `EcrRegistryScanning 'scanning': rules[1].filters [] must hold 1 to 100 filters ("*" for every repository)`,
      ]);
    });

    test("a second one in the same stack (one account and region) is refused", () => {
      const stack = newStack();
      new EcrRegistryScanning(stack, "First", ENHANCED);
      const message = messageOf(() => new EcrRegistryScanning(stack, "Second", { scanType: RegistryScanType.BASIC }));
      expect(message).toBe(
        `EcrRegistryScanning 'Second': scope "${stack.node.path}" already holds EcrRegistryScanning 'First': a registry has one scanning configuration per account and region`,
      );
    });
  });
});

describe("registryScanning in the environments file", () => {
  const FILE = "config/test-environments.json";
  /** The shipped config with `registryScanning` of the local environment replaced. */
  function withScanning(scanning: unknown): any {
    const raw = shippedConfig();
    if (scanning === undefined) delete raw.environments.local.registryScanning;
    else raw.environments.local.registryScanning = scanning;
    return raw;
  }
  function problemsOfConfig(raw: unknown): readonly string[] {
    try {
      validateConfig(raw, FILE);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    throw new Error("validateConfig accepted the config; expected a ConfigError");
  }
  const at = `${FILE}: environment "local": `;

  test("the shipped local environment scans with Inspector: continuously for its repositories, on push for the rest", () => {
    const local = validateConfig(shippedConfig(), FILE).find((e) => e.name === "local")!;
    expect(local.registryScanning).toEqual({
      scanType: "ENHANCED",
      rules: [
        { frequency: "CONTINUOUS_SCAN", filters: ["codebuild-sample/*"] },
        { frequency: "SCAN_ON_PUSH", filters: ["*"] },
      ],
    });
  });

  test("is optional, and BASIC without rules is valid", () => {
    expect(() => validateConfig(withScanning(undefined), FILE)).not.toThrow();
    expect(() => validateConfig(withScanning({ scanType: "BASIC" }), FILE)).not.toThrow();
    expect(() => validateConfig(withScanning({ scanType: "BASIC", rules: [{ frequency: "MANUAL", filters: ["*"] }] }), FILE)).not.toThrow();
  });

  test.each<[string, unknown, string]>([
    ["scanType missing", { rules: [] }, `registryScanning.scanType is required`],
    ["an unknown scanType", { scanType: "basic" }, `registryScanning.scanType "basic" must be one of BASIC, ENHANCED`],
    ["an unknown key", { scanType: "BASIC", continuous: true }, `registryScanning.continuous true is an unknown key (known: scanType, rules)`],
    [
      "three rules",
      { scanType: "ENHANCED", rules: [1, 2, 3].map((i) => ({ frequency: "SCAN_ON_PUSH", filters: [`r${i}`] })) },
      `registryScanning.rules ["SCAN_ON_PUSH","SCAN_ON_PUSH","SCAN_ON_PUSH"] must hold at most 2 rules (ECR's limit for a registry scanning configuration)`,
    ],
    ["an unknown frequency", { scanType: "ENHANCED", rules: [{ frequency: "DAILY", filters: ["*"] }] }, `registryScanning.rules[0].frequency "DAILY" must be one of SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL`],
    [
      "CONTINUOUS_SCAN with BASIC",
      { scanType: "BASIC", rules: [{ frequency: "CONTINUOUS_SCAN", filters: ["*"] }] },
      `registryScanning.rules[0].frequency "CONTINUOUS_SCAN" is not allowed with scanType BASIC (allowed: SCAN_ON_PUSH, MANUAL)`,
    ],
    [
      "MANUAL with ENHANCED",
      { scanType: "ENHANCED", rules: [{ frequency: "MANUAL", filters: ["*"] }] },
      `registryScanning.rules[0].frequency "MANUAL" is not allowed with scanType ENHANCED (allowed: SCAN_ON_PUSH, CONTINUOUS_SCAN)`,
    ],
    ["filters missing", { scanType: "BASIC", rules: [{ frequency: "SCAN_ON_PUSH" }] }, `registryScanning.rules[0].filters is required`],
    ["no filters", { scanType: "BASIC", rules: [{ frequency: "SCAN_ON_PUSH", filters: [] }] }, `registryScanning.rules[0].filters [] must hold 1 to 100 filters ("*" for every repository)`],
    ["a duplicate filter", { scanType: "BASIC", rules: [{ frequency: "SCAN_ON_PUSH", filters: ["a/*", "a/*"] }] }, `registryScanning.rules[0].filters[1] "a/*" is a duplicate filter`],
    [
      "a bad filter",
      { scanType: "BASIC", rules: [{ frequency: "SCAN_ON_PUSH", filters: ["App/*"] }] },
      `registryScanning.rules[0].filters[0] "App/*" must be 1-255 characters: lowercase letters, digits and '*' (any characters), with single '.', '_', '-' or '/' between them (ECR WILDCARD scanning filters)`,
    ],
    ["a filter of another type", { scanType: "BASIC", rules: [{ frequency: "SCAN_ON_PUSH", filters: [7] }] }, `registryScanning.rules[0].filters[0] 7 must be a string, not number`],
  ])("%s is one line", (_, scanning, line) => {
    expect(problemsOfConfig(withScanning(scanning))).toEqual([`${at}${line}`]);
  });

  test("more than 100 filters is one line", () => {
    const filters = Array.from({ length: 101 }, (_, i) => `r${i}`);
    const lines = problemsOfConfig(withScanning({ scanType: "BASIC", rules: [{ frequency: "SCAN_ON_PUSH", filters }] }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/registryScanning\.rules\[0\]\.filters \[.*\] must hold 1 to 100 filters \("\*" for every repository\)$/);
  });

  test("a bad scanType hides no other problem, and judges no frequency against it", () => {
    expect(problemsOfConfig(withScanning({ scanType: "FULL", rules: [{ frequency: "MANUAL", filters: ["Bad"] }] }))).toEqual([
      `${at}registryScanning.scanType "FULL" must be one of BASIC, ENHANCED`,
      expect.stringContaining(`${at}registryScanning.rules[0].filters[0] "Bad" must be 1-255 characters`),
    ]);
  });
});

describe("RegionalStack: registry scanning", () => {
  function synth(environment: EnvironmentConfig, region: string): any[] {
    const stack = new RegionalStack(Testing.app(), { environment, region });
    return resources(JSON.parse(Testing.synth(stack, true)), "aws_ecr_registry_scanning_configuration");
  }

  test("one configuration in each region of the shipped local environment: the building region and the replica region", () => {
    const local = localEnvironment();
    for (const region of local.regions) {
      expect(synth(local, region)).toEqual([
        {
          scan_type: "ENHANCED",
          rule: [
            { scan_frequency: "CONTINUOUS_SCAN", repository_filter: [{ filter: "codebuild-sample/*", filter_type: "WILDCARD" }] },
            { scan_frequency: "SCAN_ON_PUSH", repository_filter: [{ filter: "*", filter_type: "WILDCARD" }] },
          ],
        },
      ]);
    }
  });

  test("none where the environment does not set registryScanning", () => {
    expect(synth(prodEnvironment(), "eu-west-1")).toEqual([]);
  });

  test("an environment that only pulls gets it too (a registry setting of its account)", () => {
    const owner = localEnvironment();
    const consumer: EnvironmentConfig = {
      name: "staging",
      accountId: "210987654321",
      regions: ["eu-central-1"],
      state: { bucket: "b-tfstate" },
      pullFrom: "local",
      registryScanning: { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["*"] }] },
    };
    const stack = new RegionalStack(Testing.app(), { environment: consumer, region: "eu-central-1", organization: [owner, consumer] });
    const json = JSON.parse(Testing.synth(stack, true));
    expect(resources(json, "aws_ecr_registry_scanning_configuration")).toEqual([
      { scan_type: "BASIC", rule: [{ scan_frequency: "SCAN_ON_PUSH", repository_filter: [{ filter: "*", filter_type: "WILDCARD" }] }] },
    ]);
  });

  test("its problems are reported beside the other constructs' problems, in a replica region too", () => {
    const local = localEnvironment();
    const bad: EnvironmentConfig = {
      ...local,
      registryScanning: { scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.CONTINUOUS_SCAN, filters: ["*"] }] },
      build: { ...local.build!, repositoryName: "Bad_Name" },
    };
    for (const region of local.regions) {
      const message = messageOf(() => new RegionalStack(Testing.app(), { environment: bad, region }));
      expect(message).toContain(`EcrRegistryScanning 'RegistryScanning': rules[0].frequency "CONTINUOUS_SCAN" is not allowed with scanType BASIC`);
      expect(message).toContain(`EcrRepo 'Repository': repositoryName "Bad_Name"`);
    }
    const replicaOnly = { ...bad, build: local.build };
    expect(messageOf(() => new RegionalStack(Testing.app(), { environment: replicaOnly, region: "us-east-1" }))).toMatch(/^EcrRegistryScanning 'RegistryScanning': rules\[0\]\.frequency/);
  });
});

describe("the read-back of npm start", () => {
  const want = localEnvironment().registryScanning!;
  const api = (rules: [string, string[]][], scanType = "ENHANCED") => ({
    scanType,
    rules: rules.map(([scanFrequency, filters]) => ({ scanFrequency, repositoryFilters: filters.map((filter) => ({ filter, filterType: "WILDCARD" })) })),
  });

  test("matches in any order of rules and filters", () => {
    expect(scanningDifference(want, api([["SCAN_ON_PUSH", ["*"]], ["CONTINUOUS_SCAN", ["codebuild-sample/*"]]]))).toBeUndefined();
    expect(scanningDifference({ scanType: RegistryScanType.BASIC, rules: [{ frequency: ScanFrequency.SCAN_ON_PUSH, filters: ["a", "b"] }] }, api([["SCAN_ON_PUSH", ["b", "a"]]], "BASIC"))).toBeUndefined();
  });

  test("a difference names what was read and what the config says", () => {
    expect(scanningDifference(want, api([], "BASIC"))).toBe("BASIC, no rules, expected ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]");
    expect(scanningDifference(want, api([["SCAN_ON_PUSH", ["*"]]]))).toBe("ENHANCED: SCAN_ON_PUSH [*], expected ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]");
    expect(scanningDifference(want, undefined)).toMatch(/^undefined, no rules, expected ENHANCED/);
  });

  test("describes a configuration in one line", () => {
    expect(describeScanning(want)).toBe("ENHANCED: CONTINUOUS_SCAN [codebuild-sample/*]; SCAN_ON_PUSH [*]");
  });
});
