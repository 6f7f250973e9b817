import * as fs from "fs";
import * as path from "path";
import { runApp, tempDir } from "../support/app";
import { singleAccountLocal } from "../support/environments";

/**
 * No error line prints a secret: the value of a variable whose name looks like
 * a secret, or a PARAMETER_STORE / SECRETS_MANAGER reference. The line names the variable and
 * the rule instead.
 */
function synthWith(variables: Record<string, unknown>) {
  const dir = tempDir("redaction");
  const local = singleAccountLocal();
  local.regions = ["eu-central-1", "us-east-1"];
  local.build.privilegedProject.environmentVariables = variables;
  const config = path.join(dir, "environments.json");
  fs.writeFileSync(config, JSON.stringify({ environments: { local } }));
  return runApp({ CONFIG_FILE: config, CDKTF_OUTDIR: path.join(dir, "out") });
}

describe("secrets in error lines", () => {
  test("a refused PLAINTEXT secret names the variable and the rule, never its value", () => {
    const r = synthWith({ DB_PASSWORD: { value: "hunter2" } });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain("hunter2");
    expect(r.stderr).toContain(
      "environmentVariables.DB_PASSWORD (value not shown: the name looks like a secret) is PLAINTEXT but its name looks like a secret",
    );
  });

  test("a secret-named value of the wrong type is not printed by the config check either", () => {
    const r = synthWith({ API_TOKEN: { value: 839201774 } });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain("839201774");
    expect(r.stderr).toMatch(/environmentVariables\.API_TOKEN\.value \(value not shown: the name looks like a secret\) must be/);
  });

  test.each(["PARAMETER_STORE", "SECRETS_MANAGER"])("an empty %s reference is refused without printing a value", (type) => {
    const r = synthWith({ DB_URL: { value: "", type } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`environmentVariables.DB_URL.value (value not shown: a ${type} reference) must be a non-empty string`);
  });

  test("an ordinary PLAINTEXT variable's value is still shown when it is wrong", () => {
    const r = synthWith({ LOG_LEVEL: { value: "" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('environmentVariables.LOG_LEVEL.value "" must be a non-empty string');
  });
});
