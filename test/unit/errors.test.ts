// How errors reach a user: the resource named once, no doubled period, no stack printed by the provider host,
// and connection timeouts from the URI.
import { randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { errors, exitCodeOf } from "../../provider/errors";
import { encodable } from "../../provider/resources/common";
import { timeoutDefaults, withPbmClient } from "../../provider/state/mongo";

describe("errors of ours", () => {
  it("end in one period even when the cause ends in one", () => {
    const e = errors.unreachable("cannot connect to rs0: Authentication failed.");
    expect(e.message).toBe("[PBMP-3001] cannot connect to rs0: Authentication failed. Check the connection string, the network path and the credentials.");
  });

  it("take their category and the CLI's exit code from the code: 1 for a refused input, 2 for anything else", () => {
    expect([errors.input("x"), errors.pitrConflict("x", { advice: "Fix." })].map((e) => [e.category, exitCodeOf(e)])).toEqual([["input", 1], ["input", 1]]);
    expect([errors.pbmTimeout("x"), errors.notConfigured("x"), errors.internal("x"), new Error("x")].map(exitCodeOf)).toEqual([2, 2, 2, 2]);
    expect(errors.pbmExited("pbm status exited with code 1: no such host", { key: "S3_PROBE", exitCode: 1, stderr: "" }).category).toBe("state");
  });

  it("name the resource, and the provider host's own print of them (message and stack) is dropped", async () => {
    vi.resetModules();
    const printed = vi.fn();
    const saved = console.error;
    console.error = printed; // the host process's console, before any error of ours passed
    let err: Error;
    try {
      const { encodable: fresh } = await import("../../provider/resources/common");
      const { errors: freshErrors } = await import("../../provider/errors");
      const handlers = fresh({ read: async (_id: string, _props: Record<string, unknown>) => { throw freshErrors.unreachable("cannot connect to rs0"); } }, (p) => `PitrPolicy "${p.name}"`);
      err = (await handlers.read("x", { name: "pitr" }).catch((e: Error) => e)) as Error;
      // what @pulumi/pulumi's dynamic-provider host prints for a failed check, diff, read or delete
      console.error(`${err}: ${err.stack}`);
      console.error("an unrelated line");
    } finally {
      console.error = saved;
    }
    expect(err.message).toBe('[PBMP-3001] PitrPolicy "pitr": cannot connect to rs0. Check the connection string, the network path and the credentials.');
    expect(String(err.stack)).not.toMatch(/\n\s+at /);
    expect(printed.mock.calls).toEqual([["an unrelated line"]]);
  });

  it("keep the stack of an error that is not ours (a bug to report)", async () => {
    const handlers = encodable({ read: async () => { throw new TypeError("boom"); } });
    const err = (await handlers.read().catch((e: Error) => e)) as Error;
    expect(err.stack).toMatch(/\n\s+at /);
  });
});

describe("connection timeouts", () => {
  it("default to 15 s to find a server and 10 s to connect, unless the URI sets them", () => {
    expect(timeoutDefaults("mongodb://h:27017/?replicaSet=rs0")).toEqual({ serverSelectionTimeoutMS: 15_000, connectTimeoutMS: 10_000 });
    expect(timeoutDefaults("mongodb://h:27017/?serverSelectionTimeoutMS=2000&connectTimeoutMS=500")).toEqual({});
  });

  it("fail an unreachable cluster within the URI's serverSelectionTimeoutMS", async () => {
    const started = Date.now();
    const password = `pw-${randomBytes(6).toString("hex")}`;
    const err = (await withPbmClient(`mongodb://u:${password}@127.0.0.1:1/?serverSelectionTimeoutMS=400`, async () => 1).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/^\[PBMP-3001\] cannot connect to mongodb:\/\/<credentials>@127\.0\.0\.1:1\//);
    expect(err.message).not.toContain(password);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
