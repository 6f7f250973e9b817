import { Extractor, ExtractorConfig, ExtractorLogLevel, ExtractorMessage, ExtractorMessageCategory } from "@microsoft/api-extractor";
import * as fs from "fs";
import * as path from "path";
import { ROOT, tempDir } from "../../support/app";
import { removeDir, run } from "../../support/library";
import { sharedTarball } from "../../support/library-cache";

/**
 * The library's public API, reviewed like code: API Extractor compares what lib/index.d.ts
 * exports with the committed report, the way CI does (non-local mode), so a change to the API
 * fails here until the report is regenerated and committed with it.
 */
jest.setTimeout(180_000);

const CONFIG_FILE = path.join(ROOT, "api-extractor.json");
const REPORT = "etc/codebuild-docker-modules.api.md";

let work: string | undefined;

afterAll(() => removeDir(work));

describe("the public API report", () => {
  test(`${REPORT} is the API that lib/index.d.ts exports`, async () => {
    // GIVEN the library built from the current modules/ with its own tsconfig (by `prepare`, for
    // the tarball the run packs once; lib/ of the working tree is left alone)
    work = tempDir("cdm-api-report");
    const { lib } = await sharedTarball();

    // WHEN API Extractor compares its API with the committed report (api-extractor.json, with
    // only the entry point and the temp folder of the new report moved to the temp folder)
    const configObject = ExtractorConfig.loadFile(CONFIG_FILE);
    configObject.mainEntryPointFilePath = path.join(lib, "index.d.ts");
    configObject.apiReport = { ...configObject.apiReport, enabled: true, reportTempFolder: path.join(work, "report") };
    const config = ExtractorConfig.prepare({
      configObject,
      configObjectFullPath: CONFIG_FILE,
      packageJsonFullPath: path.join(ROOT, "package.json"),
    });
    const messages: ExtractorMessage[] = [];
    const result = Extractor.invoke(config, {
      localBuild: false,
      messageCallback: (m) => {
        messages.push(m);
        m.handled = true;
      },
    });

    // THEN nothing is reported outside the report (errors, and warnings that
    // api-extractor.json does not write into it) and the report is the committed one
    const [report] = config.reportConfigs;
    expect(path.relative(ROOT, path.join(config.reportFolder, report?.fileName ?? ""))).toBe(REPORT);
    // Console messages are API Extractor's own notes (the version used, "the report changed");
    // the report change is shown below as a diff.
    const problems = messages
      .filter((m) => m.category !== ExtractorMessageCategory.Console)
      .filter((m) => m.logLevel === ExtractorLogLevel.Error || m.logLevel === ExtractorLogLevel.Warning)
      .map((m) => `${m.logLevel}: ${m.formatMessageWithLocation(`${ROOT}${path.sep}`)}`);
    const failures: string[] = [];
    if (problems.length > 0) {
      failures.push(
        `API Extractor reports problems in the public API: fix them (or, for a kind of finding to review ` +
          `rather than fix, write it into the report in api-extractor.json):\n${problems.join("\n")}`,
      );
    }
    if (result.apiReportChanged) {
      const committed = path.join(config.reportFolder, report?.fileName ?? "");
      const current = path.join(config.reportTempFolder, report?.fileName ?? "");
      const diff = fs.existsSync(committed)
        ? (await run("git", ["diff", "--no-index", "--no-color", "--", committed, current], ROOT)).stdout
        : `(${REPORT} does not exist yet)`;
      failures.push(
        `The public API of lib/index.d.ts differs from ${REPORT}: run \`npm run api\` and commit ${REPORT} ` +
          `with the change, so the review shows every added, changed or removed export.\n\n${diff}`,
      );
    }
    if (failures.length > 0) throw new Error(failures.join("\n\n"));
    expect(result.succeeded).toBe(true);
  });
});
