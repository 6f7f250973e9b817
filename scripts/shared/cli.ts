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
