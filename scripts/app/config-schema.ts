/**
 * `npm run config-schema`: writes config/environments.schema.json from the zod definition of the
 * environments file (config/environment-schema.ts). Run it after changing that definition.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../config/environments";
import { JSON_SCHEMA_FILE, environmentsJsonSchema } from "../../config/json-schema";

if (require.main === module) {
  const file = path.join(projectRoot(), JSON_SCHEMA_FILE);
  fs.writeFileSync(file, environmentsJsonSchema());
  process.stdout.write(`wrote ${JSON_SCHEMA_FILE}\n`);
}
