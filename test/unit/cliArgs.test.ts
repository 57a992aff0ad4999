// `pulumi-pbm` refuses bad option values before it touches a cluster: exit 2 and a one-line reason.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../provider/cli/main";

describe("pulumi-pbm option values", () => {
  let stderr = "";
  beforeEach(() => {
    stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
    delete process.env.PBM_MONGODB_URI; // nothing may get as far as connecting
  });
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [["scheduler", "--once", "--interval", "abc"], /--interval .*expected whole seconds from 1 to 86400, got "abc"/],
    [["scheduler", "--interval", "0"], /expected whole seconds from 1 to 86400, got "0"/],
    [["scheduler", "--once", "--lease", "abc"], /--lease .*expected whole seconds from 1 to 86400, got "abc"/],
    [["scheduler", "--once", "--lease=-5"], /expected whole seconds from 1 to 86400, got "-5"/],
    [["restore", "--to", "2026-06-20T11:00:00Z", "--ns", "admin.*"], /"admin\.\*": the admin database cannot be restored selectively/],
    [["restore", "--to", "2026-06-20T11:00:00Z", "--ns", "orders"], /"orders" is not db\.collection or db\.\*/],
    [["inventory", "--from-storage", "--bucket", "pbm-backups", "--endpoint-url", "not a url"], /expected an http\(s\) URL such as https:\/\/s3\.example\.com, got "not a url"/],
  ])("pulumi-pbm %j exits 2 with the reason", async (argv, reason) => {
    const code = await main(argv as string[]);
    expect(code).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the long-running scheduler's sleep", () => {
  it("leaves no abort listener behind after many sleeps, and ends early on abort", async () => {
    const { getEventListeners } = await import("node:events");
    const { abortableSleep } = await import("../../provider/core/time");
    const ac = new AbortController();
    for (let i = 0; i < 30; i++) await abortableSleep(1, ac.signal);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    const started = Date.now();
    const long = abortableSleep(60_000, ac.signal);
    ac.abort();
    await long;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
