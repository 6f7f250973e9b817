import { docsPullThroughExample } from "../../support/pull-through-cache";
import { describeValidatedExample } from "../../support/validate-example";

/**
 * moto has no ECR pull-through cache, so the cache is never deployed locally: the real-account
 * example of docs/environments.md (an owner whose projects pull through the cache) is
 * synthesized by the app and must be valid Terraform for the real hashicorp/aws provider.
 */
describeValidatedExample("the pull-through cache example of docs/environments.md passes terraform validate", docsPullThroughExample(), "tools-eu-west-1", {
  name: "the app synthesized the owner's stack with the cache rules",
  test: (json) => {
    expect(Object.values(json.resource.aws_ecr_pull_through_cache_rule).map((r: any) => r.upstream_registry_url).sort()).toEqual(["public.ecr.aws", "registry-1.docker.io"]);
  },
});
