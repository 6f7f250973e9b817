import { ConfigError, validateConfig } from "../../config/environments";

/** The lines of the ConfigError that validateConfig throws for `raw`; fails when it throws none. */
export function configProblems(raw: unknown, file = "environments.json"): readonly string[] {
  try {
    validateConfig(raw, file);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("validateConfig accepted the config; expected a ConfigError");
}
