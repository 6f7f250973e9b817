import { spawnSync } from "child_process";
import { LocalAws, startLocalAws } from "../../../scripts/local-aws/server";

/**
 * moto logs a line per request. When that log was a pipe to the process that started moto, a
 * caller blocked in spawnSync (the runbook test's terraform runs) stopped draining it: after
 * ~64 KB moto blocked on its next write and every later call hung. It now goes to a file.
 */
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

test("moto keeps answering while the process that started it is blocked in spawnSync", () => {
  // 3000 requests log well over a pipe's 64 KB; each must answer within 5 s.
  const script = `
    (async () => {
      for (let i = 0; i < 3000; i++) {
        const res = await fetch(process.argv[1] + "/moto-api/data.json?request=" + i, { signal: AbortSignal.timeout(5000) });
        await res.text();
      }
      console.log("3000 answered");
    })().catch((e) => { console.error(e.message); process.exit(1); });`;
  const r = spawnSync(process.execPath, ["-e", script, aws.endpoint], { encoding: "utf8", timeout: 120_000 });
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe("3000 answered");
});

test("logTail shows the end of the log: the last requests with their HTTP status", async () => {
  await (await fetch(`${aws.endpoint}/moto-api/data.json?request=last-one`)).text();
  const tail = aws.logTail();
  expect(tail.length).toBeLessThanOrEqual(4000);
  expect(tail).toMatch(/"GET \/moto-api\/data\.json\?request=last-one HTTP\/1\.1" 200/);
});

test("logTail is empty once the server is stopped (its log is removed)", async () => {
  const other = await startLocalAws();
  await (await fetch(`${other.endpoint}/moto-api/data.json`)).text();
  expect(other.logTail()).not.toBe("");
  await other.stop();
  expect(other.logTail()).toBe("");
});
