/** What a unit test that starts a program is told. */
export const IN_PROCESS_ONLY = "unit tests run in-process: move this test to __tests__/integration";

/** Every `child_process` function that starts a program, sync and async. */
export const PROCESS_STARTERS = ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"] as const;

/** `childProcess` with every function that starts a program replaced by one that throws. */
export function inProcessOnly<T extends object>(childProcess: T): T {
  const guarded: Record<string, unknown> = { ...(childProcess as Record<string, unknown>) };
  for (const name of PROCESS_STARTERS) {
    guarded[name] = (file: unknown) => {
      throw new Error(`${IN_PROCESS_ONLY} (child_process.${name} of ${JSON.stringify(file)})`);
    };
  }
  return guarded as unknown as T;
}
