import { validateConfig } from "../../config/environments";
import { docsExample } from "../support/webhooks";
import { shippedConfig } from "../support/environments";
import { configProblems } from "../support/config-problems";

/**
 * `triggers` in the environments file: the docs/environments.md example is valid; each bad field
 * is one line; the shipped config (all local) sets none (the local AWS has no webhooks:
 * unit/local-aws/config-rules.test.ts). Its synth and `terraform validate`: integration/terraform/validate.test.ts.
 */

const FILE = "environments.json";
const at = `${FILE}: environment "ci": `;

const problemsOf = (raw: unknown) => configProblems(raw, FILE);

/** The docs example with the privileged project's triggers changed by `edit`. */
function withTriggers(edit: (triggers: any, project: any) => void): any {
  const raw = docsExample();
  const project = raw.environments.ci.build.privilegedProject;
  edit(project.triggers, project);
  return raw;
}

describe("triggers in the environments file", () => {
  test("the docs example is valid", () => {
    const [ci] = validateConfig(docsExample(), FILE);
    expect(ci.build?.privilegedProject.triggers?.branch).toBe("main");
  });

  test("the shipped config (all local) sets no triggers", () => {
    for (const env of Object.values(shippedConfig().environments) as any[]) {
      expect(env.build?.privilegedProject?.triggers).toBeUndefined();
      expect(env.build?.dindProject?.triggers).toBeUndefined();
    }
  });

  test.each<[string, (t: any, p: any) => void, string]>([
    ["a group without events", (t) => (t.push = [{ headRef: "^refs/heads/main$" }]), `build.privilegedProject.triggers.push[0].events is required`],
    ["an empty events list", (t) => (t.push = [{ events: [] }]), `build.privilegedProject.triggers.push[0].events [] must name at least one event (a filter group needs an EVENT filter)`],
    ["an unknown event", (t) => (t.push = [{ events: ["PUSHED"] }]), `build.privilegedProject.triggers.push[0].events[0] "PUSHED" must be one of PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED, PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED, RELEASED, PRERELEASED`],
    ["no filter group", (t) => (t.pullRequest = []), `build.privilegedProject.triggers.pullRequest [] must hold at least one filter group (a webhook without filter groups builds every push and pull request of every branch); use false for none`],
    ["a pattern that does not compile", (t) => (t.push = [{ events: ["PUSH"], headRef: "(main" }]), `build.privilegedProject.triggers.push[0].headRef "(main" must be a regular expression that compiles (Invalid regular expression: /(main/: Unterminated group)`],
    ["an unknown filter", (t) => (t.push = [{ events: ["PUSH"], commitMessage: "x" }]), `build.privilegedProject.triggers.push[0].commitMessage "x" is an unknown key (known: events, headRef, baseRef, filePath, actorAccountId)`],
    ["push groups with pushBuilds false", (t) => (t.pushBuilds = false), `build.privilegedProject.triggers.push [{"events":["PUSH"],"headRef":"^refs/heads/main$"}] does not apply when pushBuilds is false`],
    ["a connection ARN of another service", (_t, p) => (p.source.connectionArn = "arn:aws:codestar-connections:eu-west-1:111111111111:connection/x"), `build.privilegedProject.source.connectionArn "arn:aws:codestar-connections:eu-west-1:111111111111:connection/x" must be a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)`],
    ["a connection on a CODECOMMIT source", (_t, p) => { delete p.triggers; p.source = { type: "CODECOMMIT", location: "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app", connectionArn: "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" }; }, `build.privilegedProject.source.connectionArn "arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" does not apply to a CODECOMMIT source`],
  ])("%s: one line", (_what, edit, line) => {
    expect(problemsOf(withTriggers(edit))).toEqual([`${at}${line}`]);
  });
});
