#!/usr/bin/env node
// Writes an environments file with exactly N stacks for bench/synth.sh: non-local environments
// of at most 16 regions each (real region names from config/regions.ts, commercial partition),
// each with its own 12-digit account ID, state bucket and build settings.
//
// Usage: node bench/make-config.mjs <stacks> <output file>   (needs dist/, i.e. scripts/app/build.mjs)
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { AWS_REGIONS } = createRequire(import.meta.url)(join(root, "dist", "config", "regions.js"));
const [countArg, file] = process.argv.slice(2);
const stacks = Number(countArg);
if (!Number.isInteger(stacks) || stacks < 1 || !file) {
  console.error("usage: node bench/make-config.mjs <stacks> <output file>");
  process.exit(2);
}

const PER_ENV = 16;
const regions = AWS_REGIONS.filter((r) => !r.startsWith("cn-") && !r.startsWith("us-gov-"));
if (regions.length < PER_ENV) throw new Error(`only ${regions.length} commercial regions in config/regions.ts`);

const environments = {};
for (let e = 0, left = stacks; left > 0; e++, left -= PER_ENV) {
  const name = `bench${String(e + 1).padStart(2, "0")}`;
  const accountId = String(210000000000 + (e + 1) * 1111).padStart(12, "0");
  const envRegions = regions.slice(0, Math.min(PER_ENV, left));
  environments[name] = {
    description: `Benchmark environment ${e + 1}`,
    accountId,
    regions: envRegions,
    state: { bucket: `bench-tfstate-${accountId}`, region: envRegions[0], keyPrefix: "bench" },
    tags: { Project: "codebuild-docker-bench" },
    build: {
      repositoryName: `bench/app-${e + 1}`,
      privilegedProject: { projectName: `bench-app-${e + 1}`, imageTag: "release-1.0.0" },
      dindProject: { projectName: `bench-app-${e + 1}-dind`, imageTag: "dind-1.0.0" },
    },
  };
}
writeFileSync(file, `${JSON.stringify({ environments }, null, 2)}\n`);
