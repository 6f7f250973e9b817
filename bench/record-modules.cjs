// Preloaded by bench/synth.sh into the cdktf CLI (`node -r ./bench/record-modules.cjs …`): when
// the process exits, writes every module file it required (.js, .json, .node), as "size<TAB>path"
// lines, to the file named by BENCH_MODULES_FILE. Shows what `cdktf synth` loads.
"use strict";
const fs = require("fs");
const Module = require("module");
const out = process.env.BENCH_MODULES_FILE;
// Not inherited by the app the CLI starts.
delete process.env.BENCH_MODULES_FILE;
if (out) {
  const seen = new Map();
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const result = load.apply(this, arguments);
    try {
      const file = Module._resolveFilename(request, parent, isMain);
      if (!seen.has(file) && fs.existsSync(file)) seen.set(file, fs.statSync(file).size);
    } catch {
      // built-in modules and the like
    }
    return result;
  };
  process.on("exit", () => {
    fs.writeFileSync(out, [...seen].map(([f, size]) => `${size}\t${f}`).join("\n") + "\n");
  });
}
