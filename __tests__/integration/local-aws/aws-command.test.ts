import { spawnSync } from "child_process";
import * as path from "path";
import { requireBuiltApp } from "../../support/app";

/** `npm run aws` as a process (the compiled dist/scripts/local-aws/aws.js): its refusals. Its arguments in-process: unit/local-aws/aws-commands. */
const env = { AWS_REGION: "eu-central-1" };

describe("npm run aws", () => {
  test("a bad command is one line and exit 2, with nothing called", () => {
    const script = path.join(requireBuiltApp(), "..", "scripts", "local-aws", "aws.js");
    const r = spawnSync(process.execPath, [script, "describe-images", "--repository", "x"], { encoding: "utf8", env: { ...process.env, ...env, AWS_CLI: "/nonexistent/aws" } });
    expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: "",
      stderr: 'error: option "--repository" is unknown for describe-images (known: --repository-name, --region)\nerror: option --repository-name is required for describe-images\n',
    });
  });
});
