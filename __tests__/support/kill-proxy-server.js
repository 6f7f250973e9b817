// The server of kill-proxy.ts, in a process of its own: a test that runs its commands with
// spawnSync blocks its own event loop, and a proxy inside it would stop answering.
// Usage: node kill-proxy-server.js UPSTREAM_URL; prints {"port"} once listening; IPC messages:
// {arm: {operation, pgid}} and {ask: "fired"} (answered with {fired}).
"use strict";
const http = require("http");

const target = new URL(process.argv[2]);
let armed;
let fired = false;
const server = http.createServer((req, res) => {
  const operation = String(req.headers["x-amz-target"] || "").split(".").pop();
  const forward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    if (armed && !fired && operation === armed.operation && (answer.statusCode || 500) < 300) {
      try {
        process.kill(-armed.pgid, "SIGKILL");
      } catch {
        // already gone
      }
      fired = true;
      answer.resume();
      res.destroy();
      return;
    }
    res.writeHead(answer.statusCode || 502, answer.rawHeaders);
    answer.pipe(res);
  });
  forward.on("error", () => res.destroy());
  // A client that goes away mid-call (the killed process's other calls in flight) takes its call
  // to the local AWS with it, as a direct connection would: left open, a half-sent body would hold
  // the local AWS waiting for the rest.
  req.on("close", () => {
    if (!req.complete) forward.destroy();
  });
  res.on("close", () => {
    if (!res.writableFinished) forward.destroy();
  });
  req.pipe(forward);
});
server.keepAliveTimeout = 1000;
process.on("message", (m) => {
  if (m.arm) {
    armed = m.arm;
    fired = false;
  }
  if (m.ask === "fired") process.send({ fired });
});
// Ends with the test that started it.
process.on("disconnect", () => process.exit(0));
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
