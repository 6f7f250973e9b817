import { TerraformStack } from "cdktf";
import { CodeBuildDindProject, CodeBuildPrivilegedProject, CodeBuildPrivilegedProjectProps, EcrRepo } from "../../modules";
import { ECR_PULL_ACTIONS, ECR_PUSH_ACTIONS } from "../../modules/shared/iam";
import { messageOf, newStack, ref, resources, statementsOf, synthJson, Synthesized } from "../support/synth";

/**
 * Webhook triggers of the project constructs: the webhooks and the pull
 * request project as they synthesize, every filter and naming rule one line each, the roles'
 * statements with exact ARNs (the policy pack's webhook rules: webhooks-policy-pack.test.ts).
 * moto has no webhooks, so these and `terraform validate` (integration/terraform/validate.test.ts) cover them.
 */

const CONNECTION = "arn:aws:codeconnections:eu-central-1:123456789012:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
const GITHUB = { type: "GITHUB", location: "https://github.com/example/app.git", connectionArn: CONNECTION } as const;
const BITBUCKET = { type: "BITBUCKET", location: "https://bitbucket.org/example/app.git", connectionArn: CONNECTION } as const;
const GHE = { type: "GITHUB_ENTERPRISE", location: "https://git.example.com/team/app.git", connectionArn: CONNECTION } as const;

interface Built {
  stack: TerraformStack;
  repo: EcrRepo;
  project: CodeBuildPrivilegedProject;
  json: Synthesized;
}

function build(props: Partial<CodeBuildPrivilegedProjectProps> = {}): Built {
  const stack = newStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  const project = new CodeBuildPrivilegedProject(stack, "Build", { projectName: "build-app", repository: repo, source: GITHUB, triggers: {}, ...props });
  return { stack, repo, project, json: synthJson(stack) };
}

const projectNamed = (b: Built, name: string) => resources(b.json, "aws_codebuild_project").find((p) => p.name === name);
const webhookOf = (b: Built, project: unknown) => resources(b.json, "aws_codebuild_webhook").find((w) => w.project_name === ref(b.stack, project));

function errorOf(props: Partial<CodeBuildPrivilegedProjectProps>): string {
  const stack = newStack();
  const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
  return messageOf(() => new CodeBuildPrivilegedProject(stack, "build", { projectName: "build-app", repository: repo, source: GITHUB, ...props }));
}

describe("triggers: what synthesizes", () => {
  test("the defaults: the project's webhook builds (and pushes) pushes to main", () => {
    const b = build();
    expect(webhookOf(b, b.project.projectName)).toEqual({
      project_name: ref(b.stack, b.project.projectName),
      build_type: "BUILD",
      filter_group: [{ filter: [{ type: "EVENT", pattern: "PUSH" }, { type: "HEAD_REF", pattern: "^refs/heads/main$" }] }],
    });
  });

  test("the defaults: the pull request project's webhook builds pull requests created, updated or reopened against main", () => {
    const b = build();
    expect(webhookOf(b, b.project.pullRequestProject!.name)).toEqual({
      project_name: ref(b.stack, b.project.pullRequestProject!.name),
      build_type: "BUILD",
      filter_group: [
        {
          filter: [
            { type: "EVENT", pattern: "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED" },
            { type: "BASE_REF", pattern: "^refs/heads/main$" },
          ],
        },
      ],
    });
  });

  test("the pull request project: <projectName>-pr, PUSH_IMAGE=false, its own role and log group, the same source read through the connection", () => {
    const b = build();
    const main = projectNamed(b, "build-app");
    const pr = projectNamed(b, "build-app-pr");
    expect(pr.service_role).toBe(ref(b.stack, b.project.pullRequestRole!.roleArn));
    expect(pr.service_role).not.toBe(main.service_role);
    expect(pr.logs_config.cloudwatch_logs.group_name).toBe(ref(b.stack, b.project.pullRequestLogGroup!.name));
    expect(resources(b.json, "aws_cloudwatch_log_group").map((g) => g.name).sort()).toEqual(["/aws/codebuild/build-app", "/aws/codebuild/build-app-pr"]);
    expect(pr.environment.environment_variable.filter((v: any) => v.name === "PUSH_IMAGE")).toEqual([{ name: "PUSH_IMAGE", value: "false", type: "PLAINTEXT" }]);
    expect(main.environment.environment_variable.map((v: any) => v.name)).not.toContain("PUSH_IMAGE");
    for (const p of [main, pr]) {
      expect(p.source).toMatchObject({ type: "GITHUB", location: GITHUB.location, auth: { type: "CODECONNECTIONS", resource: CONNECTION } });
    }
    expect(pr.source.buildspec).toBe(main.source.buildspec);
    expect(pr.environment.privileged_mode).toBe(true);
  });

  test("the branch comes from triggers.branch, else the source's branch, escaped as a regular expression", () => {
    const b = build({ source: { ...GITHUB, branch: "release/1.x" } });
    expect(webhookOf(b, b.project.projectName).filter_group[0].filter[1]).toEqual({ type: "HEAD_REF", pattern: "^refs/heads/release/1\\.x$" });
    const c = build({ triggers: { branch: "trunk" } });
    expect(webhookOf(c, c.project.pullRequestProject!.name).filter_group[0].filter[1]).toEqual({ type: "BASE_REF", pattern: "^refs/heads/trunk$" });
  });

  test("on Bitbucket the default pull request events leave out PULL_REQUEST_REOPENED (Bitbucket has none)", () => {
    const b = build({ source: BITBUCKET });
    expect(webhookOf(b, b.project.pullRequestProject!.name).filter_group[0].filter[0]).toEqual({ type: "EVENT", pattern: "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED" });
    expect(projectNamed(b, "build-app").source).toMatchObject({ type: "BITBUCKET", auth: { type: "CODECONNECTIONS", resource: CONNECTION } });
  });

  test("GitHub Enterprise Server is a source with webhooks too", () => {
    const b = build({ source: GHE });
    expect(projectNamed(b, "build-app").source).toMatchObject({ type: "GITHUB_ENTERPRISE", location: GHE.location });
    expect(resources(b.json, "aws_codebuild_webhook")).toHaveLength(2);
  });

  test("typed filter groups render in a fixed order: EVENT, HEAD_REF, BASE_REF, FILE_PATH, ACTOR_ACCOUNT_ID; exclude sets exclude_matched_pattern", () => {
    const b = build({
      triggers: {
        push: [
          { events: ["PUSH"], headRef: "^refs/tags/v.*", actorAccountId: "^1234$", filePath: { pattern: "^docs/", exclude: true } },
          { events: ["RELEASED", "PRERELEASED"] },
        ],
        pullRequest: [{ events: ["PULL_REQUEST_CREATED"], baseRef: "^refs/heads/main$", headRef: { pattern: "^refs/heads/dependabot/", exclude: true } }],
      },
    });
    expect(webhookOf(b, b.project.projectName).filter_group).toEqual([
      {
        filter: [
          { type: "EVENT", pattern: "PUSH" },
          { type: "HEAD_REF", pattern: "^refs/tags/v.*" },
          { type: "FILE_PATH", pattern: "^docs/", exclude_matched_pattern: true },
          { type: "ACTOR_ACCOUNT_ID", pattern: "^1234$" },
        ],
      },
      { filter: [{ type: "EVENT", pattern: "RELEASED, PRERELEASED" }] },
    ]);
    expect(webhookOf(b, b.project.pullRequestProject!.name).filter_group).toEqual([
      {
        filter: [
          { type: "EVENT", pattern: "PULL_REQUEST_CREATED" },
          { type: "HEAD_REF", pattern: "^refs/heads/dependabot/", exclude_matched_pattern: true },
          { type: "BASE_REF", pattern: "^refs/heads/main$" },
        ],
      },
    ]);
  });

  test("push: false leaves the project without a webhook; pullRequest: false makes no pull request project", () => {
    const noPush = build({ triggers: { push: false } });
    expect(noPush.project.webhook).toBeUndefined();
    expect(resources(noPush.json, "aws_codebuild_webhook")).toHaveLength(1);
    const noPr = build({ triggers: { pullRequest: false } });
    expect(noPr.project.pullRequestProject).toBeUndefined();
    expect(resources(noPr.json, "aws_codebuild_project").map((p) => p.name)).toEqual(["build-app"]);
    expect(resources(noPr.json, "aws_iam_role")).toHaveLength(1);
  });

  test("pullRequestProjectName names the pull request project", () => {
    const b = build({ triggers: { pullRequestProjectName: "app-pull-requests" } });
    expect(projectNamed(b, "app-pull-requests")).toBeDefined();
    expect(resources(b.json, "aws_cloudwatch_log_group").map((g) => g.name)).toContain("/aws/codebuild/app-pull-requests");
  });

  test("the docker:dind project takes the same triggers", () => {
    const stack = newStack();
    const repo = new EcrRepo(stack, "Repo", { repositoryName: "team/app" });
    const dind = new CodeBuildDindProject(stack, "Dind", { projectName: "build-dind", repository: repo, source: GITHUB, triggers: {} });
    const json = synthJson(stack);
    expect(resources(json, "aws_codebuild_project").map((p) => p.name).sort()).toEqual(["build-dind", "build-dind-pr"]);
    expect(dind.pullRequestProject).toBeDefined();
  });

  test("without triggers nothing changes: no webhook, one project, and no source auth without a connection", () => {
    const b = build({ triggers: undefined, source: { type: "GITHUB", location: GITHUB.location } });
    expect(resources(b.json, "aws_codebuild_webhook")).toEqual([]);
    expect(resources(b.json, "aws_codebuild_project")).toHaveLength(1);
    expect(projectNamed(b, "build-app").source.auth).toBeUndefined();
  });
});

describe("triggers: the roles' statements (exact ARNs)", () => {
  const connectionStatement = {
    sid: "SourceConnection",
    effect: "Allow",
    actions: ["codeconnections:GetConnection", "codeconnections:GetConnectionToken", "codeconnections:UseConnection"],
    resources: [CONNECTION],
  };

  test("the pull request role: logs on its own log group, pull on the repository, the connection; no push action", () => {
    const b = build();
    expect(statementsOf(b.json, "Build/PullRequestRole/PolicyDocument")).toEqual([
      {
        sid: "BuildLogs",
        effect: "Allow",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [ref(b.stack, b.project.pullRequestLogGroup!.arn), `${ref(b.stack, b.project.pullRequestLogGroup!.arn)}:log-stream:*`],
      },
      { sid: "EcrAuthToken", effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] },
      { sid: "EcrPull", effect: "Allow", actions: [...ECR_PULL_ACTIONS].sort(), resources: [ref(b.stack, b.repo.repositoryArn)] },
      connectionStatement,
    ]);
    const actions = statementsOf(b.json, "Build/PullRequestRole/PolicyDocument").flatMap((s) => s.actions);
    for (const push of ECR_PUSH_ACTIONS.filter((a) => !(ECR_PULL_ACTIONS as readonly string[]).includes(a))) expect(actions).not.toContain(push);
  });

  test("the pull request role is trusted only by the pull request project (aws:SourceArn)", () => {
    const b = build();
    const trust = statementsOf(b.json, "Build/PullRequestRole/TrustPolicy")[0];
    expect(trust.condition).toContainEqual(expect.objectContaining({ test: "ArnLike", variable: "aws:SourceArn", values: [expect.stringMatching(/:project\/build-app-pr$/)] }));
  });

  test("the project's own role: pull and push, plus the connection on exactly its ARN", () => {
    const b = build();
    const statements = statementsOf(b.json, "Build/Role/PolicyDocument");
    expect(statements.map((s) => s.sid)).toEqual(["BuildLogs", "EcrAuthToken", "EcrPull", "EcrPush", "SourceConnection"]);
    expect(statements.find((s) => s.sid === "SourceConnection")).toEqual(connectionStatement);
  });

  test("a connection without triggers is granted too (the source is read through it)", () => {
    const b = build({ triggers: undefined });
    expect(statementsOf(b.json, "Build/Role/PolicyDocument").find((s) => s.sid === "SourceConnection")).toEqual(connectionStatement);
  });
});

describe("triggers: every filter and naming rule, one line each", () => {
  const line = (rest: string) => `CodeBuildPrivilegedProject 'build': ${rest}`;
  test.each<[string, Partial<CodeBuildPrivilegedProjectProps>, string]>([
    ["a CODECOMMIT source", { source: { type: "CODECOMMIT", location: "https://git-codecommit.eu-central-1.amazonaws.com/v1/repos/app" }, triggers: {} }, `triggers "(set)" need a GITHUB, GITHUB_ENTERPRISE or BITBUCKET source (CodeBuild has no webhook for a CODECOMMIT source)`],
    ["an S3 source", { source: { type: "S3", bucketName: "sources-bucket", objectKey: "a.zip" }, triggers: {} }, `triggers "(set)" need a GITHUB, GITHUB_ENTERPRISE or BITBUCKET source (CodeBuild has no webhook for a S3 source)`],
    ["no connection", { source: { type: "GITHUB", location: GITHUB.location }, triggers: {} }, `source.connectionArn undefined is required with triggers: the source is read through a CodeConnections connection, not a personal token`],
    ["a connection ARN of another service", { source: { ...GITHUB, connectionArn: "arn:aws:codestar-connections:eu-central-1:123456789012:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" } }, `source.connectionArn "arn:aws:codestar-connections:eu-central-1:123456789012:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)`],
    ["a Bitbucket location elsewhere", { source: { ...BITBUCKET, location: "https://github.com/a/b.git" } }, `source.location "https://github.com/a/b.git" must be https://bitbucket.org/<workspace>/<repo>.git`],
    ["a GitHub Enterprise location over http", { source: { ...GHE, location: "http://git.example.com/a/b.git" } }, `source.location "http://git.example.com/a/b.git" must be https://<host>/<owner>/<repo>.git`],
    ["both triggers off", { triggers: { push: false, pullRequest: false } }, `triggers "{ push: false, pullRequest: false }" start no build: leave triggers unset, or keep push or pullRequest`],
    ["no filter group", { triggers: { push: [] } }, `triggers.push [] must hold at least one filter group (a webhook without filter groups builds every push and pull request of every branch); use false for none`],
    ["a group without events", { triggers: { push: [{ events: [] }] } }, `triggers.push[0].events [] must name at least one event (a filter group needs an EVENT filter)`],
    ["a group with no events key", { triggers: { pullRequest: [{ baseRef: "^main$" } as never] } }, `triggers.pullRequest[0].events undefined must name at least one event (a filter group needs an EVENT filter)`],
    ["an unknown event", { triggers: { push: [{ events: ["PUSHED" as never] }] } }, `triggers.push[0].events "PUSHED" is not a webhook event (PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED, PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED, RELEASED, PRERELEASED)`],
    ["RELEASED on Bitbucket", { source: BITBUCKET, triggers: { push: [{ events: ["RELEASED"] }] } }, `triggers.push[0].events "RELEASED" is not a BITBUCKET webhook event (PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED)`],
    ["PULL_REQUEST_REOPENED on Bitbucket", { source: BITBUCKET, triggers: { pullRequest: [{ events: ["PULL_REQUEST_REOPENED"] }] } }, `triggers.pullRequest[0].events "PULL_REQUEST_REOPENED" is not a BITBUCKET webhook event (PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED)`],
    ["PRERELEASED on GitHub Enterprise", { source: GHE, triggers: { push: [{ events: ["PRERELEASED"] }] } }, `triggers.push[0].events "PRERELEASED" is not a GITHUB_ENTERPRISE webhook event (PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED, PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED)`],
    ["a repeated event", { triggers: { push: [{ events: ["PUSH", "PUSH"] }] } }, `triggers.push[0].events ["PUSH","PUSH"] must not repeat an event`],
    ["a pull request event in push", { triggers: { push: [{ events: ["PUSH", "PULL_REQUEST_CREATED"] }] } }, `triggers.push[0].events "PULL_REQUEST_CREATED" is a pull request event: these builds push, so pull requests belong in triggers.pullRequest (built without pushing)`],
    ["a push event in pullRequest", { triggers: { pullRequest: [{ events: ["PUSH"] }] } }, `triggers.pullRequest[0].events "PUSH" is not a pull request event (triggers.pullRequest starts the pull request project, which never pushes; put it in triggers.push)`],
    ["baseRef on a push event", { triggers: { push: [{ events: ["PUSH"], baseRef: "^refs/heads/main$" }] } }, `triggers.push[0].baseRef "^refs/heads/main$" needs pull request events only (CodeBuild's BASE_REF filter works with pull request events only)`],
    ["filePath on GitHub Enterprise pull requests", { source: GHE, triggers: { pullRequest: [{ events: ["PULL_REQUEST_CREATED"], filePath: "^src/" }] } }, `triggers.pullRequest[0].filePath "^src/" does not work with GITHUB_ENTERPRISE pull request events (CodeBuild's FILE_PATH filter)`],
    ["a headRef that does not compile", { triggers: { push: [{ events: ["PUSH"], headRef: "^refs/heads/(main$" }] } }, `triggers.push[0].headRef "^refs/heads/(main$" must be a regular expression that compiles (Invalid regular expression: /^refs/heads/(main$/: Unterminated group)`],
    ["a baseRef that does not compile", { triggers: { pullRequest: [{ events: ["PULL_REQUEST_CREATED"], baseRef: "[main" }] } }, `triggers.pullRequest[0].baseRef "[main" must be a regular expression that compiles (Invalid regular expression: /[main/: Unterminated character class)`],
    ["a filePath that does not compile", { triggers: { push: [{ events: ["PUSH"], filePath: { pattern: "*.go", exclude: true } }] } }, `triggers.push[0].filePath "*.go" must be a regular expression that compiles (Invalid regular expression: /*.go/: Nothing to repeat)`],
    ["an actorAccountId that does not compile", { triggers: { push: [{ events: ["PUSH"], actorAccountId: "(1" }] } }, `triggers.push[0].actorAccountId "(1" must be a regular expression that compiles (Invalid regular expression: /(1/: Unterminated group)`],
    ["an empty pattern", { triggers: { push: [{ events: ["PUSH"], headRef: "" }] } }, `triggers.push[0].headRef "" must be a non-empty regular expression`],
    ["an exclude that is not a boolean", { triggers: { push: [{ events: ["PUSH"], headRef: { pattern: "^a$", exclude: "yes" as never } }] } }, `triggers.push[0].headRef.exclude "yes" must be true or false`],
    ["an unknown filter", { triggers: { push: [{ events: ["PUSH"], commitMessage: "x" } as never] } }, `triggers.push[0].commitMessage "x" is not a filter (events, headRef, baseRef, filePath, actorAccountId)`],
    ["a branch with a space", { triggers: { branch: "my branch" } }, `triggers.branch "my branch" must be a branch name (no spaces, no ~ ^ : ? * [ \\, without refs/heads/)`],
    ["a branch given as a ref", { triggers: { branch: "refs/heads/main" } }, `triggers.branch "refs/heads/main" must be a branch name (no spaces, no ~ ^ : ? * [ \\, without refs/heads/)`],
    ["a pull request project name against CodeBuild's rules", { triggers: { pullRequestProjectName: "pr build" } }, `triggers.pullRequestProjectName "pr build" must be 2-255 letters, digits, '-' or '_', starting with a letter or digit (CodeBuild naming rules)`],
    ["a pull request project named like the project", { triggers: { pullRequestProjectName: "build-app" } }, `triggers.pullRequestProjectName "build-app" must differ from projectName`],
    ["a project name with no room for -pr", { projectName: `a${"b".repeat(253)}`, triggers: {} }, `projectName "a${"b".repeat(253)}" must leave room for the pull request project's name "<projectName>-pr" (255 characters; or set triggers.pullRequestProjectName)`],
    ["PUSH_IMAGE as an environment variable", { environmentVariables: { PUSH_IMAGE: { value: "false" } } }, `environmentVariables name "PUSH_IMAGE" is set by the construct (false in the pull request project of triggers)`],
  ])("%s", (_what, props, message) => {
    expect(errorOf(props)).toBe(line(message));
  });

  test("every problem is reported at once, one line each", () => {
    const message = errorOf({ triggers: { push: [{ events: [] }, { events: ["PUSH"], headRef: "(" }], pullRequest: [{ events: ["PUSH"], baseRef: "[" }] } });
    expect(message.split("\n")).toEqual([
      line(`triggers.push[0].events [] must name at least one event (a filter group needs an EVENT filter)`),
      line(`triggers.push[1].headRef "(" must be a regular expression that compiles (Invalid regular expression: /(/: Unterminated group)`),
      line(`triggers.pullRequest[0].events "PUSH" is not a pull request event (triggers.pullRequest starts the pull request project, which never pushes; put it in triggers.push)`),
      line(`triggers.pullRequest[0].baseRef "[" needs pull request events only (CodeBuild's BASE_REF filter works with pull request events only)`),
      line(`triggers.pullRequest[0].baseRef "[" must be a regular expression that compiles (Invalid regular expression: /[/: Unterminated character class)`),
    ]);
  });
});

describe("triggers with an S3 cache", () => {
  test("pull request builds read and write a cache prefix of their own (<prefix>-pr), never the one pushes build from", () => {
    const b = build({ cache: { type: "S3", bucketName: "build-cache", prefix: "app" } });
    expect(projectNamed(b, "build-app").cache).toEqual({ type: "S3", location: "build-cache/app" });
    expect(projectNamed(b, "build-app-pr").cache).toEqual({ type: "S3", location: "build-cache/app-pr" });
    const prStatements = statementsOf(b.json, "Build/PullRequestRole/PolicyDocument");
    expect(prStatements.find((s) => s.sid === "S3Read").resources).toEqual([expect.stringMatching(/:s3:::build-cache\/app-pr\/\*$/)]);
    expect(prStatements.find((s) => s.sid === "S3Write").resources[0]).toMatch(/:s3:::build-cache\/app-pr\/\*$/);
    expect(statementsOf(b.json, "Build/Role/PolicyDocument").find((s) => s.sid === "S3Write").resources[0]).toMatch(/:s3:::build-cache\/app\/\*$/);
  });
});
