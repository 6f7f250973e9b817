import { Testing } from "cdktf";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { CDKTF_MATCHERS } from "../../support/jest-setup";

describe("cdktf's matchers, loaded on first use", () => {
  test("are exactly the ones Testing.setupJest registers", () => {
    // GIVEN what cdktf's own setup hands to expect.extend
    const registered: string[] = [];
    const extend = expect.extend;
    expect.extend = (matchers) => void registered.push(...Object.keys(matchers));
    try {
      Testing.setupJest();
    } finally {
      expect.extend = extend;
    }
    // THEN the lazy list names the same matchers
    expect([...CDKTF_MATCHERS].sort()).toEqual(registered.sort());
  });

  test("work: a synthesized resource is found, a missing one is not", () => {
    const synthesized = Testing.synthScope((scope) => new EcrRepository(scope, "repo", { name: "app" }));
    expect(synthesized).toHaveResourceWithProperties(EcrRepository, { name: "app" });
    expect(synthesized).not.toHaveResourceWithProperties(EcrRepository, { name: "other" });
  });
});
