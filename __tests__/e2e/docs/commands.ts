/**
 * How each command the documents show is tested. Every command of README.md and docs/*.md (a
 * fenced `sh` block, or the first cell of a table row) must have an entry here with exactly its
 * text, and every entry must still be in a document: __tests__/e2e/docs/commands.test.ts checks both,
 * then runs the `here` entries, in this order, in a scratch copy of the project against its own
 * local AWS. A `by` entry names the test that runs the command, and a string that test file must
 * contain where it runs it.
 */

import { OCI_LAYOUT_PY } from "../../support/oci-layout";

/** A shell word holding `s` as it is. */
const shQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Run by the docs test. */
export interface RunHere {
  readonly kind: "here";
  /** Placeholders of the text, replaced by shell expressions. */
  readonly placeholders?: Record<string, string>;
  /** Shell lines run first (not part of the command), e.g. to capture a placeholder's value. */
  readonly before?: string;
  /** Shell lines run after the command (not part of it), e.g. to check what it wrote. */
  readonly after?: string;
  /** Arguments appended to the command (only for a one-line command), and why. */
  readonly append?: { readonly args: string; readonly why: string };
  /** Extra environment for this command. */
  readonly env?: Record<string, string>;
  /** Extra environment removed for this command. */
  readonly unset?: readonly string[];
  /** The expected exit code. @default 0 */
  readonly code?: number;
  /** What the output (stdout + stderr) must match. */
  readonly output?: RegExp;
}

/** Run by another test (or, for `npm test`, by CI: .ci/run runs the README's test command). */
export interface RunBy {
  readonly kind: "by";
  /** The test file, relative to the project root. */
  readonly test: string;
  /** A string that test file contains where it runs the command. */
  readonly marker: string;
  /** A second file that runs another part of the command. */
  readonly also?: { readonly test: string; readonly marker: string };
}

export type CommandTest = RunHere | RunBy;

const REGISTRY = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";

/** In the order the docs test runs them (the `by` ones anywhere). */
export const COMMANDS: ReadonlyArray<readonly [string, CommandTest]> = [
  // README: the two commands and the table of the ten most used.
  [
    "npm ci && npm start\nnpm ci && npm test",
    { kind: "by", test: "__tests__/e2e/start.test.ts", marker: "start.js", also: { test: ".ci/run", marker: "npm test" } },
  ],
  ["npm start -- --keep-running", { kind: "by", test: "__tests__/e2e/start.test.ts", marker: "--keep-running" }],
  ["npm start -- --no-build", { kind: "by", test: "__tests__/e2e/start.test.ts", marker: 'start(["--no-build"' }],
  // docs/local-aws.md and docs/modules.md: the local AWS for a library user's own app.
  ["npm run local-aws", { kind: "by", test: "__tests__/e2e/local-aws/up.test.ts", marker: 'runScript("local-aws/up"' }],
  ["npx cdktf deploy tools --auto-approve --skip-provider-lock", { kind: "by", test: "__tests__/e2e/example-two-accounts.test.ts", marker: '["deploy", "tools", "--auto-approve", "--skip-provider-lock"' }],
  [
    "aws codebuild start-build --project-name platform-app-build --source-type-override S3 --source-location-override platform-app-sources/app.zip --environment-variables-override name=BUILDER_IMAGE,value=localhost/go-builder:bookworm,type=PLAINTEXT name=RUNTIME_IMAGE,value=scratch,type=PLAINTEXT",
    { kind: "by", test: "__tests__/e2e/example-two-accounts.test.ts", marker: '"--source-type-override", "S3", "--source-location-override", "platform-app-sources/app.zip"' },
  ],
  ["AWS_ENDPOINT_URL=http://127.0.0.1:5000 npm start", { kind: "by", test: "__tests__/e2e/start.test.ts", marker: "AWS_ENDPOINT_URL" }],
  ["npm run image", { kind: "by", test: "__tests__/integration/image/image.test.ts", marker: "buildAppImage" }],
  [
    "docker build --build-arg BUILDER_IMAGE=mirror.example/golang:1.23-bookworm --build-arg RUNTIME_IMAGE=mirror.example/distroless/static-debian12:nonroot docker/",
    { kind: "by", test: "__tests__/integration/image/image.test.ts", marker: "buildAppImage" },
  ],
  // docs/build.md: the multi-arch image, built, pushed to a local registry and read back for real.
  [
    "npm run image -- --platforms linux/amd64,linux/arm64",
    { kind: "by", test: "__tests__/integration/image/multi-arch.test.ts", marker: '"--platforms", "linux/amd64,linux/arm64"' },
  ],
  [
    "npm run image -- --platforms linux/amd64,linux/arm64 --push 127.0.0.1:5000/codebuild-sample-app:1.0 --tls-verify=false\nskopeo inspect --raw --tls-verify=false docker://127.0.0.1:5000/codebuild-sample-app:1.0",
    {
      kind: "by",
      test: "__tests__/integration/image/multi-arch.test.ts",
      marker: '"--push", pushRef, "--tls-verify=false"',
      also: { test: "__tests__/integration/image/multi-arch.test.ts", marker: '["inspect", "--raw", "--tls-verify=false", `docker://${pushRef}`]' },
    },
  ],
  [
    "npm install ./codebuild-docker-modules-0.1.0.tgz\nnpm install --install-links ../codebuild-docker-modules\nnpm install git+https://github.com/<org>/codebuild-docker-modules.git",
    { kind: "by", test: "__tests__/integration/library/install.test.ts", marker: "--install-links" },
  ],
  ["npm start -- --help", { kind: "here", output: /^Usage: npm start/m }],
  ["npm run status", { kind: "here", output: /^no local AWS is kept running/m }],
  ["npm stop", { kind: "here", output: /^no local AWS is kept running: nothing to stop/m }],
  ["npm run synth", { kind: "here", after: "test -s cdktf.out/stacks/local-eu-central-1/cdk.tf.json && echo synthesized", output: /^synthesized$/m }],
  ["npm run -s stacks -- --json", { kind: "here", output: /^\[\n  \{\n    "name": "local-[a-z0-9-]+",\n    "environment": "local[\s\S]*"wave": \d\n  \}\n\]\n$/ }],
  [
    "npm run test:unit",
    {
      kind: "here",
      append: { args: "-- --listTests", why: "npm test runs the unit tier itself; the list shows the command selects the unit folder" },
      output: /__tests__\/unit\/config\.test\.ts/,
    },
  ],
  [
    "npm run build\nexport TF_CLI_CONFIG_FILE=$(node dist/scripts/terraform/env.js) CHECKPOINT_DISABLE=1\nENVIRONMENTS=local npx cdktf deploy local-eu-central-1 --skip-provider-lock --auto-approve",
    { kind: "here", output: /local-eu-central-1\s+(Apply complete|.*Apply complete)/ },
  ],
  [
    "export TF_CLI_CONFIG_FILE=$(node dist/scripts/terraform/env.js) CHECKPOINT_DISABLE=1\ncd cdktf.out/stacks/local-eu-central-1 && terraform init -backend=false && terraform validate",
    { kind: "here", output: /The configuration is valid/ },
  ],
  [
    [
      "npm run -s aws -- list-projects",
      "npm run -s aws -- batch-get-projects --names codebuild-sample-dckr-push-ecr,codebuild-sample-dckr-dind",
      "npm run -s aws -- describe-repositories",
      "npm run -s aws -- describe-images --repository-name codebuild-sample/dckr-push-ecr",
      "npm run -s aws -- start-build --project codebuild-sample-dckr-push-ecr",
      "npm run -s aws -- batch-get-builds --ids <id printed by start-build>",
      "npm run -s aws -- ecr-get-login-password | docker login --username AWS --password-stdin <registry>",
    ].join("\n"),
    {
      kind: "here",
      before: `BUILD_ID=$(npm run -s aws -- start-build --project codebuild-sample-dckr-push-ecr | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).build.id))')`,
      placeholders: { "<id printed by start-build>": '"$BUILD_ID"', "<registry>": REGISTRY },
      output: /codebuild-sample\/dckr-push-ecr[\s\S]*Login Succeeded/,
    },
  ],
  ["npm run -s aws -- list-projects", { kind: "here", output: /codebuild-sample-dckr-push-ecr/ }],
  [
    [
      'curl -s "$AWS_ENDPOINT_URL/_local_aws/registries.conf" > /tmp/registries.conf',
      "export HTTP_PROXY=$AWS_ENDPOINT_URL NO_PROXY=127.0.0.1,localhost",
      'skopeo --registries-conf /tmp/registries.conf copy --dest-creds "AWS:$(aws ecr get-login-password)" oci:image:latest docker://123456789012.dkr.ecr.eu-central-1.amazonaws.com/codebuild-sample/dckr-push-ecr:v1',
      "aws ecr describe-images --repository-name codebuild-sample/dckr-push-ecr",
    ].join("\n"),
    {
      kind: "here",
      // A one-layer image layout named "image" (support/oci-layout.ts), as a build would leave one.
      before: `python3 -c ${shQuote(OCI_LAYOUT_PY)} image latest hello >/dev/null`,
      after: "rm -f /tmp/registries.conf",
      // The AWS CLI v1 reads the region from AWS_DEFAULT_REGION, which the export line npm start prints sets.
      env: { AWS_DEFAULT_REGION: "eu-central-1" },
      output: /"imageTags": \[\s*"v1"\s*\][\s\S]*"imageSizeInBytes": \d+/,
    },
  ],

  [
    "npm run plan\nnpm run plan -- --allow-destroy local-eu-central-1:aws_ecr_repository.Repository_22E53BBD",
    { kind: "by", test: "__tests__/e2e/local-deploy.test.ts", marker: '["--allow-destroy", REPO]' },
  ],
  ["npm run plan", { kind: "by", test: "__tests__/e2e/local-deploy.test.ts", marker: 'runScript("plan-review/plan"' }],
  ["npm run deploy", { kind: "by", test: "__tests__/e2e/local-deploy.test.ts", marker: 'planJs(["--apply"' }],
  ["npm run destroy", { kind: "by", test: "__tests__/e2e/local-deploy.test.ts", marker: 'planJs(["--destroy"' }],
  // docs/scale.md: bounded runs (the organization's five local stacks, the terraform processes
  // counted): its deploy with --parallelism 2 is npm start's, which runs npm run deploy's pipeline.
  [
    "npm run plan -- --parallelism 2\nnpm run deploy -- --parallelism 2",
    {
      kind: "by",
      test: "__tests__/e2e/organization.test.ts",
      marker: 'planJs(["--parallelism", "2", "--stack"',
      also: { test: "__tests__/e2e/organization.test.ts", marker: 'start(["--parallelism", "2"]' },
    },
  ],
  [
    "npm run plan -- --stack local-prod-eu-central-1 --out plans/local-prod-eu-central-1",
    { kind: "by", test: "__tests__/e2e/organization.test.ts", marker: 'planJs(["--parallelism", "2", "--stack", stagingStack' },
  ],
  // docs/scale.md: the GitHub Actions fan-out's merge, on artifacts laid out as download-artifact lays them.
  ["npm run -s merge-reviews -- reviews --expect expected.json --out plans", { kind: "by", test: "__tests__/integration/ci/merge.test.ts", marker: 'merge(["reviews", "--expect", expectFile(ORDER), "--out", "plans"])' }],
  [
    "unset AWS_ENDPOINT_URL\nENVIRONMENTS=prod npm run deploy",
    {
      kind: "here",
      env: { CONFIG_FILE: "docs-prod-environments.json", AWS_EC2_METADATA_DISABLED: "true" },
      unset: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"],
      code: 1,
      output: /credential/i,
    },
  ],
  [
    "scripts/git/remotes.sh https://github.com/acme/app.git https://git-codecommit.eu-central-1.amazonaws.com/v1/repos/app\nscripts/git/remotes.sh --list",
    { kind: "here", output: /git-codecommit\.eu-central-1\.amazonaws\.com\/v1\/repos\/app/ },
  ],
  // docs/scale.md: the stack list, --changed-since (against real commits in a scratch repository) and atlantis.yaml.
  ["npm run -s stacks\nnpm run -s stacks -- --json", { kind: "by", test: "__tests__/integration/stacks/stacks-command.test.ts", marker: "run(STACKS_JS, [])", also: { test: "__tests__/integration/stacks/stacks-command.test.ts", marker: 'run(STACKS_JS, ["--json"], extra)' } }],
  ["ENVIRONMENTS=all npm run -s stacks -- --json --changed-since origin/main", { kind: "by", test: "__tests__/integration/stacks/changed-since.test.ts", marker: 'stacks(["--json", "--changed-since", ref], extra)' }],
  [
    "npm run -s atlantis-config\nnpm run -s atlantis-config -- --check",
    { kind: "by", test: "__tests__/integration/stacks/atlantis-config.test.ts", marker: "run(script, [], {}, dir)", also: { test: "__tests__/integration/stacks/stacks-command.test.ts", marker: 'run(ATLANTIS_JS, ["--check"])' } },
  ],
  // docs/plan-review.md: the destroy of an orphaned stack, run job by job in fresh clones.
  [
    "npm run destroy -- --orphan <stack>\nnpm run destroy -- --orphan <stack> --confirm <stack>",
    { kind: "by", test: "__tests__/e2e/plan-review/records-in-ci.test.ts", marker: '["--destroy", "--orphan", CONSUMER]', also: { test: "__tests__/e2e/plan-review/records-in-ci.test.ts", marker: '"--confirm", CONSUMER]' } },
  ],
  // docs/recovery.md: the state bucket standard, and the runbook (followed step by step by its test).
  ["ENVIRONMENTS=prod npm run bootstrap-state -- --check", { kind: "by", test: "__tests__/e2e/recovery/state-bucket.test.ts", marker: 'run(["--check", "--allow-local-endpoint"])' }],
  ["ENVIRONMENTS=prod npm run bootstrap-state", { kind: "by", test: "__tests__/e2e/recovery/state-bucket.test.ts", marker: 'run(["--allow-local-endpoint"])' }],
  ["npm run recover -- --stack <stack>", { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("npm run recover -- --stack <stack>", {}, 1)' }],
  ["npm run recover -- --stack <stack> --unlock <lock-id>", { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("npm run recover -- --stack <stack> --unlock <lock-id>"' }],
  ["npm run recover -- --stack <stack> --apply", { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("npm run recover -- --stack <stack> --apply")' }],
  [
    "aws s3api list-object-versions --bucket <bucket> --prefix <key> --query \"Versions[?Key=='<key>'].[LastModified,VersionId,Size,IsLatest]\" --output text",
    { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("aws s3api list-object-versions")' },
  ],
  [
    'aws s3api get-object --bucket <bucket> --key <key> --version-id <version-id> previous.tfstate\nnode -e \'const s = JSON.parse(fs.readFileSync("previous.tfstate", "utf8")); console.log("serial", s.serial, "resources", s.resources.length)\'',
    { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("aws s3api get-object"' },
  ],
  [
    "aws s3api copy-object --bucket <bucket> --key <key> --copy-source '<bucket>/<key>?versionId=<version-id>'",
    { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("aws s3api copy-object"' },
  ],
  [
    'aws dynamodb delete-item --table-name <table> --key \'{"LockID": {"S": "<bucket>/<key>-md5"}}\'',
    { kind: "by", test: "__tests__/e2e/docs/recovery-runbook.test.ts", marker: 'step("aws dynamodb delete-item")' },
  ],
];
