import * as fs from "fs";
import * as path from "path";
import Ajv2020 from "ajv/dist/2020";
import { parseConfigText } from "../../config/config-text";
import { JSON_SCHEMA_FILE, environmentsJsonSchema } from "../../config/json-schema";

const ROOT = path.join(__dirname, "..", "..");
const SHIPPED = path.join(ROOT, "config", "environments.json");

/** The shipped config/environments.json, parsed. */
function shipped(): any {
  const parsed = parseConfigText(SHIPPED, fs.readFileSync(SHIPPED, "utf8"));
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed.value;
}

/** An ajv validator of the committed schema, as an editor would load it. */
function editorCheck() {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, JSON_SCHEMA_FILE), "utf8"));
  return new Ajv2020({ allErrors: true, strict: true }).compile(schema);
}

describe("the JSON Schema of the environments file", () => {
  test("the committed file is what npm run config-schema writes from the zod definition", () => {
    // GIVEN
    const committed = fs.readFileSync(path.join(ROOT, JSON_SCHEMA_FILE), "utf8");

    // WHEN
    const generated = environmentsJsonSchema();

    // THEN (on a difference: run npm run config-schema and commit the file)
    expect(committed).toBe(generated);
  });

  test("the shipped config names it in $schema, relative to the config", () => {
    // WHEN
    const { $schema } = shipped();

    // THEN
    expect($schema).toBe("./environments.schema.json");
    expect(path.join(path.dirname(SHIPPED), $schema)).toBe(path.join(ROOT, JSON_SCHEMA_FILE));
  });

  test("an editor-style check (ajv) accepts the shipped config", () => {
    // GIVEN
    const validate = editorCheck();

    // WHEN
    const ok = validate(shipped());

    // THEN
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test("an editor-style check (ajv) rejects a bad account ID, an unknown key and a bad source, each at its place", () => {
    // GIVEN
    const validate = editorCheck();
    const config = shipped();
    config.environments.local.accountId = "1234";
    config.environments["local-prod"].colour = "blue";
    config.environments.local.build.dindProject.source = { type: "S3", bucketName: "b" };

    // WHEN
    const ok = validate(config);

    // THEN
    expect(ok).toBe(false);
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
    expect(errors).toEqual(
      expect.arrayContaining(["/environments/local/accountId pattern", "/environments/local-prod additionalProperties", "/environments/local/build/dindProject/source oneOf"]),
    );
  });
});
