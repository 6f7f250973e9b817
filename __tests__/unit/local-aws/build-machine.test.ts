import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { missingTools } from "../../../scripts/local-aws/build";
import { MINUTE_VARIABLE, secondsPerMinute } from "../../../scripts/local-aws/limits";

/**
 * What a build on the local AWS needs of this machine (it runs there, not in the project's image),
 * said before anything runs, and how long a minute of a build's timeout lasts.
 */
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "build-machine-"));
  for (const tool of ["bash", "aws", "python3"]) fs.writeFileSync(path.join(dir, tool), "", { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the tools a build needs of this machine", () => {
  test("a privileged build without podman: the missing tool, why, and the install line", () => {
    expect(missingTools({ privileged: true, source: "S3" }, { PATH: dir })).toBe(
      "the local AWS runs builds on this machine, which lacks podman (docker of a privileged build): install with: sudo apt-get install -y podman, then start the build again",
    );
  });

  test("an unprivileged build needs no podman; a NO_SOURCE build needs no python3", () => {
    expect(missingTools({ privileged: false, source: "S3" }, { PATH: dir })).toBeUndefined();
    expect(missingTools({ privileged: false, source: "NO_SOURCE" }, { PATH: path.join(dir, "none") + path.delimiter + dir })).toBeUndefined();
  });

  test("every missing tool in one line, each package once", () => {
    expect(missingTools({ privileged: true, source: "S3" }, { PATH: "" })).toBe(
      "the local AWS runs builds on this machine, which lacks bash (the buildspec's shell), aws (the AWS CLI a CodeBuild image has), python3 (unpacks an S3 source), podman (docker of a privileged build): " +
        "install with: sudo apt-get install -y bash awscli python3 podman, then start the build again",
    );
  });
});

describe(MINUTE_VARIABLE, () => {
  test("unset, a minute is 60 s; set, the number of seconds given", () => {
    expect(secondsPerMinute({})).toBe(60);
    expect(secondsPerMinute({ [MINUTE_VARIABLE]: "0.5" })).toBe(0.5);
  });

  test.each(["", "0", "-1", "ten", "Infinity"])("%j is refused with the variable, the value and the rule", (value) => {
    expect(() => secondsPerMinute({ [MINUTE_VARIABLE]: value })).toThrow(
      `${MINUTE_VARIABLE}=${JSON.stringify(value)} is not a number of seconds above 0 (how long a minute of a build's timeout lasts on the local AWS; unset, 60)`,
    );
  });
});
