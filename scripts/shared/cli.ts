/**
 * The command-line shape every script shares: parse the arguments (each problem one
 * `error: …` line, exit 2, nothing run), print the usage for `--help`, run, and turn a failure
 * into `error: …` lines and exit 1.
 */
export function runCli<T>(opts: {
  readonly parse: () => T | "help";
  readonly usage: string;
  readonly run: (args: T) => Promise<number | void>;
  /** A line added after the error of a failed run. */
  readonly failureNote?: string;
}): void {
  let args: T | "help";
  try {
    args = opts.parse();
  } catch (e) {
    for (const line of (e as Error).message.split("\n")) process.stderr.write(`error: ${line}\n`);
    process.exit(2);
  }
  if (args === "help") {
    process.stdout.write(`${opts.usage}\n`);
    return;
  }
  opts.run(args).then(
    (code) => (process.exitCode = code ?? 0),
    (e: Error) => {
      process.stderr.write(`error: ${e.message}\n`);
      if (opts.failureNote) process.stderr.write(`${opts.failureNote}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * Walks the flags in order, calling `handle` with each; its `value()` takes the next argument as
 * the flag's value (a missing one, or one that is another flag, is a problem). Stops at `--help`
 * / `-h` and returns "help".
 */
export function walkFlags(argv: readonly string[], problems: string[], handle: (flag: string, value: () => string | undefined) => void): "help" | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return "help";
    handle(a, () => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) {
        problems.push(`option ${a} needs a value`);
        return undefined;
      }
      i++;
      return v;
    });
  }
  return undefined;
}
