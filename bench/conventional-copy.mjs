#!/usr/bin/env node
// Makes the "conventional setup" copy of the app used by bench/synth.sh: the same sources, but
// every deep provider import (`@cdktf/provider-aws/lib/<module>`) rewritten to the package root,
// as the CDKTF tutorials write it, so that loading the app loads the whole provider package.
//
//   import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
// becomes
//   import { ecrRepository as __aws_ecrRepository } from "@cdktf/provider-aws";
//   import EcrRepository = __aws_ecrRepository.EcrRepository;
//
// An `import X = ns.X` alias stands for the class and its type alike, so no other line of the
// sources changes. The root namespace of each module is read from the package's lib/index.d.ts.
//
// Usage: node bench/conventional-copy.mjs <repo root> <target dir>
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [rootArg, targetArg] = process.argv.slice(2);
if (!rootArg || !targetArg) {
  console.error("usage: node bench/conventional-copy.mjs <repo root> <target dir>");
  process.exit(2);
}
const root = resolve(rootArg);
const target = resolve(targetArg);
const PKG = "@cdktf/provider-aws";

// Module path -> root namespace, e.g. "ecr-repository" -> "ecrRepository".
const index = readFileSync(join(root, "node_modules", PKG, "lib", "index.d.ts"), "utf8");
const namespaceOf = new Map();
for (const m of index.matchAll(/export \* as (\w+) from '\.\/([\w-]+)';/g)) namespaceOf.set(m[2], m[1]);
if (namespaceOf.size < 100) throw new Error(`could not read the namespaces of ${PKG}/lib/index.d.ts`);

mkdirSync(target, { recursive: true });
for (const entry of ["main.ts", "modules", "stacks", "config", "buildspecs", "cdktf.json", "tsconfig.json"]) {
  cpSync(join(root, entry), join(target, entry), { recursive: true });
}
if (!existsSync(join(target, "node_modules"))) symlinkSync(join(root, "node_modules"), join(target, "node_modules"), "dir");

const DEEP_IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*["']@cdktf\/provider-aws\/lib\/([\w-]+)["'];?/g;

function rewrite(source, file) {
  let count = 0;
  const out = source.replace(DEEP_IMPORT, (_all, typeOnly, names, mod) => {
    const ns = namespaceOf.get(mod);
    if (!ns) throw new Error(`${file}: no root namespace for ${PKG}/lib/${mod}`);
    count++;
    const alias = `__aws_${ns}`;
    const lines = [`import { ${ns} as ${alias} } from "${PKG}";`];
    for (const raw of names.split(",").map((n) => n.trim()).filter(Boolean)) {
      const spec = raw.replace(/^type\s+/, "");
      const [imported, local = imported] = spec.split(/\s+as\s+/).map((s) => s.trim());
      // Type-only names become type aliases (an import alias of a pure type is fine too, but a
      // type alias keeps `import type` semantics exact).
      lines.push(typeOnly || raw.startsWith("type ") ? `type ${local} = ${alias}.${imported};` : `import ${local} = ${alias}.${imported};`);
    }
    return lines.join("\n");
  });
  if (/@cdktf\/provider-aws\/lib\//.test(out)) throw new Error(`${file}: a deep provider import was left unrewritten`);
  return { out, count };
}

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

let total = 0;
for (const file of [join(target, "main.ts"), ...["modules", "stacks", "config"].flatMap((d) => tsFiles(join(target, d)))]) {
  const { out, count } = rewrite(readFileSync(file, "utf8"), file);
  if (count) writeFileSync(file, out);
  total += count;
}
if (total === 0) throw new Error("no deep provider import found to rewrite");
console.log(`rewrote ${total} deep provider import(s) to the package root in ${target}`);
