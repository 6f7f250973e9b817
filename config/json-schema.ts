/**
 * The JSON Schema of the environments file, emitted from its one zod definition: editors read it
 * through the file's `"$schema"` to complete and check fields. `npm run config-schema` writes it
 * to config/environments.schema.json; a test fails when the committed file differs.
 */
import { z } from "zod";
import { CONFIG_FILE_SCHEMA } from "./environment-schema";

/** The committed schema file, relative to the project root. */
export const JSON_SCHEMA_FILE = "config/environments.schema.json";

/** The JSON Schema (draft 2020-12) of the environments file, as the text the committed file holds. */
export function environmentsJsonSchema(): string {
  const schema = z.toJSONSchema(CONFIG_FILE_SCHEMA, {
    // Rules that JSON Schema cannot express (a path without ".." segments, a regular expression
    // that compiles, rules between fields) are checked by the app only.
    unrepresentable: "any",
    io: "input",
  });
  const titled = { ...schema, title: "Environments of the CDKTF CodeBuild Docker modules (config/environments.json)" };
  return `${JSON.stringify(titled, null, 2)}\n`;
}
