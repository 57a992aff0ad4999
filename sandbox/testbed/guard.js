// Runs one server as a child and kills it when our parent goes away (stdin closes), so a crashed or
// killed test run never leaves a server listening. Usage: node guard.js <exe> [args...]
"use strict";
const { spawn } = require("node:child_process");

const [exe, ...args] = process.argv.slice(2);
const child = spawn(exe, args, { stdio: ["ignore", "inherit", "inherit"] });
let stopping = false;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  child.kill(signal);
  setTimeout(() => child.kill("SIGKILL"), 5000).unref();
};
process.stdin.on("end", () => stop("SIGTERM"));
process.stdin.on("error", () => stop("SIGTERM"));
process.stdin.resume();
for (const s of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(s, () => stop("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on("error", (err) => {
  console.error(`guard: cannot start ${exe}: ${err.message}`);
  process.exit(127);
});
