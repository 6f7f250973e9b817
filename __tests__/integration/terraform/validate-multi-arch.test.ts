import { docsMultiArchExample } from "../../support/multi-arch";
import { describeValidatedExample } from "../../support/validate-example";

/**
 * moto has no CodeBuild batch builds, so a multi-arch project is never deployed locally: the
 * real-account example of docs/modules.md (build.platforms) is synthesized by the app and must
 * be valid Terraform for the real hashicorp/aws provider (build_batch_config included).
 */
describeValidatedExample("the multi-arch example of docs/modules.md passes terraform validate", docsMultiArchExample(), "tools-eu-west-1", {
  name: "the app synthesized the stack with the batch build project",
  test: (json) => {
    const projects = Object.values(json.resource.aws_codebuild_project) as any[];
    expect(projects.filter((p) => p.build_batch_config !== undefined).map((p) => p.name)).toEqual(["acme-app"]);
  },
});
