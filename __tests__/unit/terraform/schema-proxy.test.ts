import { namesWithheldType, schemaTypeNames, trimSchemaResponse, typesMentioned } from "../../../scripts/terraform/schema-proxy";

// Protobuf wire encoding, just enough to build a GetProviderSchema.Response by hand.
const varint = (n: number): Buffer => {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
};
const bytesField = (field: number, payload: Buffer): Buffer => Buffer.concat([varint(field * 8 + 2), varint(payload.length), payload]);
const varintField = (field: number, value: number): Buffer => Buffer.concat([varint(field * 8), varint(value)]);
const str = (s: string): Buffer => Buffer.from(s, "utf8");
/** A map entry (key = field 1, value = field 2) of the map field `field`. */
const entry = (field: number, key: string, value: Buffer): Buffer => bytesField(field, Buffer.concat([bytesField(1, str(key)), bytesField(2, value)]));
/** A Schema message stand-in: version (1) and a block (2) with a big payload, as real ones have. */
const schema = (version: number, size: number): Buffer => Buffer.concat([varintField(1, version), bytesField(2, Buffer.alloc(size, 0x61))]);

const providerSchema = bytesField(1, schema(0, 300));
const response = Buffer.concat([
  providerSchema,
  entry(2, "aws_ecr_repository", schema(0, 200)),
  entry(2, "aws_s3_bucket", schema(0, 5000)), // a length that needs a two-byte varint
  entry(3, "aws_caller_identity", schema(0, 50)),
  entry(3, "aws_ami", schema(0, 50)),
  bytesField(5, schema(0, 10)), // provider_meta
  bytesField(6, varintField(1, 1)), // server capabilities
  entry(7, "arn_parse", str("function")), // functions: a map too, never trimmed
  entry(8, "aws_secretsmanager_secret_version", schema(0, 40)),
  varintField(15, 300), // a field this code does not know (a newer protocol): kept as is
]);

describe("trimSchemaResponse", () => {
  test("keeps exactly the named resource, data-source and ephemeral schemas, and every other byte", () => {
    const keep = new Set(["aws_ecr_repository", "aws_caller_identity"]);
    const t = trimSchemaResponse(response, (n) => keep.has(n));
    expect(t).toMatchObject({ kept: 2, dropped: 3 });
    expect(schemaTypeNames(t.message)).toEqual({ resource: ["aws_ecr_repository"], "data source": ["aws_caller_identity"] });
    // Byte for byte: the original without the three dropped entries.
    expect(t.message).toEqual(
      Buffer.concat([
        providerSchema,
        entry(2, "aws_ecr_repository", schema(0, 200)),
        entry(3, "aws_caller_identity", schema(0, 50)),
        bytesField(5, schema(0, 10)),
        bytesField(6, varintField(1, 1)),
        entry(7, "arn_parse", str("function")),
        varintField(15, 300),
      ]),
    );
  });

  test("keeping everything gives back the same bytes", () => {
    expect(trimSchemaResponse(response, () => true).message).toEqual(response);
    expect(schemaTypeNames(response)).toEqual({
      resource: ["aws_ecr_repository", "aws_s3_bucket"],
      "data source": ["aws_caller_identity", "aws_ami"],
      "ephemeral resource": ["aws_secretsmanager_secret_version"],
    });
  });

  test("a truncated message is refused (the proxy then passes the provider's answer on unchanged)", () => {
    expect(() => trimSchemaResponse(response.subarray(0, response.length - 100), () => true)).toThrow(/truncated/);
  });
});

describe("typesMentioned", () => {
  test("every aws_ type name anywhere in the stack's JSON: resources, data sources, references, moved and removed blocks", () => {
    const stack = JSON.stringify({
      data: { aws_caller_identity: { me: {} } },
      resource: { aws_ecr_repository: { r: { name: "x", tags: { a: "${data.aws_region.r.name}" } } } },
      moved: [{ from: "aws_iam_role.old", to: "aws_iam_role.new" }],
      removed: [{ from: "aws_ecr_lifecycle_policy.gone", lifecycle: { destroy: false } }],
      output: { o: { value: "${aws_ecr_repository.r.arn}" } },
    });
    expect([...typesMentioned(stack)].sort()).toEqual(["aws_caller_identity", "aws_ecr_lifecycle_policy", "aws_ecr_repository", "aws_iam_role", "aws_region"]);
  });
});

describe("namesWithheldType, on Terraform's own texts", () => {
  const withheld = new Set(["aws_ecr_lifecycle_policy"]);
  test.each([
    // Terraform 1.11's own words (seen with a type in the state that the trimmed schema lacked).
    "Error: no schema available for aws_ecr_lifecycle_policy.Repository_LifecyclePolicy_7F44DF3C while reading state; this is a bug in Terraform and should be reported",
    "Warning: Missing resource schema from provider\n\nNo resource schema found for aws_ecr_lifecycle_policy when decoding prior state",
    "Failed to marshal plan to json: error marshaling prior state: no schema found for aws_ecr_lifecycle_policy.x (in provider registry.terraform.io/hashicorp/aws)",
    "Error: ChangesSrc.Decode: missing schema for aws_ecr_lifecycle_policy.gone",
  ])("%s", (stderr) => expect(namesWithheldType(stderr, withheld)).toBe(true));
  test("other failures are not, a misspelt type in the configuration included (the trimmed schema keeps every type the configuration names)", () => {
    expect(namesWithheldType('Error: Invalid resource type\n\nThe provider hashicorp/aws does not support resource type "aws_ecr_repositry".', withheld)).toBe(false);
    expect(namesWithheldType("Error: No valid credential sources found", withheld)).toBe(false);
    expect(namesWithheldType("Error: creating ECR Repository (x): RepositoryAlreadyExistsException", withheld)).toBe(false);
  });
});
