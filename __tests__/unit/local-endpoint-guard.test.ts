import { allowLocalEndpointProblem, appLocalEndpointCheck, endpointVariables, localEndpointRefusal, localEndpointUse } from "../../config/local-endpoint-guard";

const LOCAL = { name: "local", local: true };
const PROD = { name: "prod" };
const ENDPOINT = "http://127.0.0.1:5000";

/** The refusal `npm run plan` prints for prod with AWS_ENDPOINT_URL set. */
const PLAN_REFUSAL =
  `error: environment "prod" is not local ("local": true), but AWS_ENDPOINT_URL=${ENDPOINT} is set: ` +
  "Terraform would send its calls there instead of to its AWS account. " +
  "Unset AWS_ENDPOINT_URL, or pass --allow-local-endpoint to run it against that endpoint on purpose\n";

describe("endpointVariables", () => {
  test("lists AWS_ENDPOINT_URL first, then the service-specific variables by name, empty values included", () => {
    const env = { AWS_ENDPOINT_URL_S3: "http://s3", AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL_ECR: "", AWS_ENDPOINT_URL: ENDPOINT };
    expect(Object.entries(endpointVariables(env))).toEqual([
      ["AWS_ENDPOINT_URL", ENDPOINT],
      ["AWS_ENDPOINT_URL_ECR", ""],
      ["AWS_ENDPOINT_URL_S3", "http://s3"],
    ]);
  });

  test("counts the older endpoint variables the S3 backend and the AWS provider still read", () => {
    const env = { AWS_S3_ENDPOINT: "http://a", TF_AWS_STS_ENDPOINT: "http://b", AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://c" };
    expect(endpointVariables(env)).toEqual({ AWS_S3_ENDPOINT: "http://a", TF_AWS_STS_ENDPOINT: "http://b" });
  });
});

describe("localEndpointUse", () => {
  test("names the real environments when an endpoint variable is set", () => {
    expect(localEndpointUse([LOCAL, PROD, { name: "staging", local: false }], { AWS_ENDPOINT_URL_ECR: ENDPOINT })).toEqual({
      environments: ["prod", "staging"],
      variables: { AWS_ENDPOINT_URL_ECR: ENDPOINT },
    });
  });

  test("is undefined when every selected environment is local", () => {
    expect(localEndpointUse([LOCAL], { AWS_ENDPOINT_URL: ENDPOINT })).toBeUndefined();
  });

  test("is undefined when no endpoint variable is set", () => {
    expect(localEndpointUse([PROD], { AWS_REGION: "eu-west-1" })).toBeUndefined();
  });
});

describe("localEndpointRefusal", () => {
  test("names the variable, the environment and both ways on, in one line", () => {
    expect(localEndpointRefusal({ environments: ["prod"], variables: { AWS_ENDPOINT_URL: ENDPOINT } }, "pass --allow-local-endpoint")).toBe(PLAN_REFUSAL.slice("error: ".length, -1));
  });

  test("names every variable and environment when there are several", () => {
    const use = { environments: ["prod", "staging"], variables: { AWS_ENDPOINT_URL: ENDPOINT, AWS_ENDPOINT_URL_ECR: "http://e", AWS_ENDPOINT_URL_S3: "http://s" } };
    expect(localEndpointRefusal(use, "set ALLOW_LOCAL_ENDPOINT=1")).toBe(
      `environments "prod", "staging" are not local ("local": true), but AWS_ENDPOINT_URL=${ENDPOINT}, AWS_ENDPOINT_URL_ECR=http://e, AWS_ENDPOINT_URL_S3=http://s are set: ` +
        "Terraform would send their calls there instead of to their AWS accounts. " +
        "Unset AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_S3, or set ALLOW_LOCAL_ENDPOINT=1 to run them against those endpoints on purpose",
    );
  });
});

describe("ALLOW_LOCAL_ENDPOINT", () => {
  test("accepts 1 and unset", () => {
    expect([allowLocalEndpointProblem("1"), allowLocalEndpointProblem(undefined)]).toEqual([undefined, undefined]);
  });

  test.each(["yes", "true", "0", ""])("refuses %j in one line", (value) => {
    expect(allowLocalEndpointProblem(value)).toBe(`ALLOW_LOCAL_ENDPOINT ${JSON.stringify(value)} must be 1 or unset`);
  });

  test("the app refuses a real environment without it, warns with it, and says nothing for local environments", () => {
    const env = { AWS_ENDPOINT_URL: ENDPOINT };
    expect(appLocalEndpointCheck([PROD], env).errors).toEqual([localEndpointRefusal({ environments: ["prod"], variables: env }, "set ALLOW_LOCAL_ENDPOINT=1")]);
    expect(appLocalEndpointCheck([PROD], { ...env, ALLOW_LOCAL_ENDPOINT: "1" })).toEqual({
      errors: [],
      warning: `environment "prod" is not local ("local": true) and synthesized with AWS_ENDPOINT_URL=${ENDPOINT} set (ALLOW_LOCAL_ENDPOINT=1): Terraform run with these variables (cdktf deploy) sends its calls there, not to AWS`,
    });
    expect(appLocalEndpointCheck([LOCAL], env)).toEqual({ errors: [] });
  });
});
