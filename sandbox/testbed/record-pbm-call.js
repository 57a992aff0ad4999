#!/usr/bin/env node
// Appends one line to $PBM_RECORD for a pbm call the sandbox's wrapper just ran:
//   record-pbm-call.js <exit code> <start unix seconds> <end unix seconds> <argv...>
// Only names of PBM_*, AWS_* and MONGO* variables are recorded, never their values.
"use strict";
const fs = require("node:fs");
const [code, start, end, ...argv] = process.argv.slice(2);
const env = Object.keys(process.env).filter((k) => /^(PBM_|AWS_|MONGO)/.test(k) && k !== "PBM_RECORD");
const line = { argv, env, exitCode: Number(code), startedAt: new Date(Number(start) * 1000).toISOString(), endedAt: new Date(Number(end) * 1000).toISOString(), pid: process.ppid };
fs.appendFileSync(process.env.PBM_RECORD, JSON.stringify(line) + "\n");
