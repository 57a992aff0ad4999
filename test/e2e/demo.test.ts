// The README's main command (`npm run demo`) as a user runs it: the quickstart through the `pulumi` command
// against the sandbox, the runner, a restore, destroy. A clean run prints no error and no warning.
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, SANDBOX_DIST } from "../../sandbox/testbed";

describe("npm run demo", () => {
  it("runs end to end and prints no error or warning", async () => {
    // The user's environment: without the variable this test runner sets to quiet the AWS SDK's Node notice.
    const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _quiet, ...env } = process.env;
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(SANDBOX_DIST, "demo", "index.js")], { cwd: REPO_ROOT, env });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("exit", (c) => resolve({ code: c ?? 1, out }));
    });
    console.log(out.split("\n").filter((l) => l.startsWith("  - ") || l.startsWith("Summary")).join("\n"));
    expect(code, out).toBe(0);
    expect(out.split("\n").filter((l) => /\b(error|warning|warn)\b|Warning:|NodeVersionSupportWarning|MaxListenersExceeded/i.test(l))).toEqual([]);
    expect(out).toMatch(/pulumi up: exit 0, 3 create/);
    expect(out).toMatch(/drift gate: exit 0 \(no drift\)/);
    expect(out).toMatch(/point-in-time restore to \S+: done/);
    expect(out).toMatch(/pulumi destroy: exit 0, 3 delete/);
  }, 300_000);
});
