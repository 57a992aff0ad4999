// Issue 13: restores followed pbm with `describe-restore … .catch(() => undefined)`, so a lasting failure (pbm
// gone, the cluster unreachable) polled silently until the timeout (6 hours for a backup). The shared follow
// ends with the failure instead, and still rides out a single one.
import { describe, expect, it } from "vitest";
import { PbmCommandError } from "../../provider/errors";
import { follow, MAX_DESCRIBE_FAILURES } from "../../provider/pbm/follow";

type Status = { status: string; error?: string };

/** A describe that answers from `script` in turn (an Error is thrown), repeating the last answer. */
function scripted(script: (Status | Error)[]) {
  let calls = 0;
  const describe = async (): Promise<Status> => {
    const next = script[Math.min(calls++, script.length - 1)];
    if (next instanceof Error) throw next;
    return next;
  };
  return { describe, calls: () => calls };
}

const unreachable = () => new PbmCommandError("MONGO_UNREACHABLE", "pbm describe-restore r1 exited with code 1: connection() socket was unexpectedly closed", 1, "", false);
const opts = { final: ["done", "error"], timeoutSec: 3600, pollMs: 1, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

describe("follow", () => {
  it("ends with the describe error after consecutive failures, without waiting for the timeout", async () => {
    // Given a describe that keeps failing, and an hour to wait
    const d = scripted([unreachable()]);
    const started = performance.now();
    // When following
    const end = await follow({ ...opts, describe: d.describe });
    // Then it ends in well under a second, with pbm's error
    expect(performance.now() - started).toBeLessThan(1000);
    expect(end).toMatchObject({ ended: "lost", failures: MAX_DESCRIBE_FAILURES, error: { message: expect.stringContaining("socket was unexpectedly closed") } });
    expect(d.calls()).toBe(MAX_DESCRIBE_FAILURES);
  });

  it("ends at the first failure that a retry cannot fix (no pbm executable)", async () => {
    const d = scripted([{ status: "running" }, new PbmCommandError("PBM_MISSING", "pbm was not found", undefined, "", false)]);
    const end = await follow({ ...opts, describe: d.describe });
    expect(end).toMatchObject({ ended: "lost", failures: 1, last: { status: "running" }, error: { message: expect.stringContaining("[PBMP-2004]") } });
    expect(d.calls()).toBe(2);
  });

  it("retries single failures and follows the operation to its end, reporting each new status once", async () => {
    const d = scripted([unreachable(), { status: "starting" }, unreachable(), { status: "running" }, { status: "running" }, ...Array(MAX_DESCRIBE_FAILURES - 1).fill(unreachable()), { status: "done" }]);
    const seen: string[] = [];
    let waits = 0;
    const end = await follow({ ...opts, describe: d.describe, onStatus: (s) => seen.push(s.status), onWait: async () => void waits++ });
    expect(end).toEqual({ ended: "final", last: { status: "done" } });
    expect(seen).toEqual(["starting", "running", "done"]);
    expect(waits).toBe(d.calls() - 1);
  });

  it("times out with the last status seen when the operation never ends", async () => {
    const d = scripted([{ status: "running" }]);
    const end = await follow({ ...opts, describe: d.describe, timeoutSec: 0.05 });
    expect(end).toEqual({ ended: "timeout", last: { status: "running" } });
  });
});
