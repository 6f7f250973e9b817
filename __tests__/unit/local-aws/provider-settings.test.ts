import { Testing } from "cdktf";
import { LOCAL_MAX_RETRIES, localProviderSettings, RegionalStack } from "../../../stacks";
import { localEnvironment, prodEnvironment } from "../../support/environments";

const providerOf = (environment: any) => JSON.parse(Testing.synth(new RegionalStack(Testing.app(), { environment, region: environment.regions[0] }))).provider.aws[0];

describe("the local provider fails fast", () => {
  test("a local environment's provider retries a failed call at most twice (the provider's default, 25, hangs for 20+ minutes on an API moto lacks)", () => {
    expect(LOCAL_MAX_RETRIES).toBe(2);
    expect(localProviderSettings().maxRetries).toBe(2);
    expect(providerOf(localEnvironment()).max_retries).toBe(2);
  });

  test("a real environment keeps the provider's default retries", () => {
    expect(providerOf(prodEnvironment()).max_retries).toBeUndefined();
  });
});
