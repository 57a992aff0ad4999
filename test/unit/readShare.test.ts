// The sharing behind "one pbm status per cluster per operation" and the read handlers' one config and one
// registry read per cluster (provider/core/readShare.ts): what callers rely on is that a shared value is never
// one a write in the same process could have made stale.
import { describe, expect, it } from "vitest";
import { ReadShare } from "../../provider/core/readShare";

/** A read that resolves when told to, counting how often it ran. */
function reads() {
  let n = 0;
  const pending: ((v: string) => void)[] = [];
  return {
    count: () => n,
    read: () => new Promise<string>((resolve) => (n++, pending.push(resolve))),
    settle: (v: string) => pending.shift()!(v),
  };
}

describe("ReadShare", () => {
  it("joins concurrent and later readers of a key to one read", async () => {
    const share = new ReadShare<string>(() => 30_000);
    const r = reads();
    const [a, b] = [share.get("k", "uri", r.read), share.get("k", "uri", r.read)];
    r.settle("v1");
    expect(await Promise.all([a, b, share.get("k", "uri", r.read)])).toEqual(["v1", "v1", "v1"]);
    expect(r.count()).toBe(1);
  });

  it("reads again after a write to the same URI, and keeps no read that a write overlapped", async () => {
    const share = new ReadShare<string>(() => 30_000);
    const r = reads();
    const inFlight = share.get("k", "uri", r.read);
    share.forget("uri"); // a write lands while the read runs
    const after = share.get("k", "uri", r.read);
    r.settle("before the write");
    r.settle("after the write");
    expect(await inFlight).toBe("before the write");
    expect(await after).toBe("after the write");
    expect(await share.get("k", "uri", r.read)).toBe("after the write");
    expect(r.count()).toBe(2);
  });

  it("does not keep a read that started before the write, even when it settles after another reader came", async () => {
    const share = new ReadShare<string>(() => 30_000);
    const r = reads();
    const early = share.get("k", "uri", r.read);
    share.forget(); // every URI at once (a registry write)
    r.settle("stale");
    await early;
    const next = share.get("k", "uri", r.read);
    r.settle("fresh");
    expect(await next).toBe("fresh");
    expect(r.count()).toBe(2);
  });

  it("leaves other URIs' values alone on a write", async () => {
    const share = new ReadShare<string>(() => 30_000);
    const r = reads();
    const a = share.get("a", "uri-a", r.read);
    r.settle("A");
    await a;
    share.forget("uri-b");
    expect(await share.get("a", "uri-a", r.read)).toBe("A");
    expect(r.count()).toBe(1);
  });

  it("reads again once a value is older than the maximum age, and keeps no failure", async () => {
    let maxAge = 30_000;
    const share = new ReadShare<string>(() => maxAge);
    let n = 0;
    const failing = () => Promise.reject(new Error(`down ${++n}`));
    await expect(share.get("k", "uri", failing)).rejects.toThrow("down 1");
    await expect(share.get("k", "uri", failing)).rejects.toThrow("down 2");
    const r = reads();
    const first = share.get("k", "uri", r.read);
    r.settle("old");
    await first;
    maxAge = -1;
    const again = share.get("k", "uri", r.read);
    r.settle("new");
    expect(await again).toBe("new");
  });
});
