// The runner's, retention's, restore's and health check's decisions as pure functions.
import { describe, expect, it } from "vitest";
import type { Inventory } from "../../provider/inventory";
import { evaluateHealth, parseDuration } from "../../provider/ops/health";
import { restorability } from "../../provider/ops/restore";
import { protectedBases, selectForDeletion } from "../../provider/ops/retention";
import { dueFireTime, nextFireTime } from "../../provider/ops/scheduler";

const at = (s: string) => new Date(s);

describe("dueFireTime", () => {
  it("is due at the latest fire time after the last run", () => {
    expect(dueFireTime("0 2 * * *", at("2026-06-19T02:00:00Z"), at("2026-06-20T02:00:30Z"))).toEqual(at("2026-06-20T02:00:00Z"));
  });

  it("is not due before the next fire time, nor twice for the same fire time", () => {
    expect(dueFireTime("0 2 * * *", at("2026-06-20T02:00:00Z"), at("2026-06-20T13:00:00Z"))).toBeUndefined();
  });

  it("collapses runs missed during downtime into one catch-up at the latest fire time", () => {
    // down for three days: one run, not three
    expect(dueFireTime("0 2 * * *", at("2026-06-17T02:00:00Z"), at("2026-06-20T09:00:00Z"))).toEqual(at("2026-06-20T02:00:00Z"));
    expect(nextFireTime("0 2 * * *", at("2026-06-20T09:00:00Z"))).toEqual(at("2026-06-21T02:00:00Z"));
  });

  it("evaluates cron in UTC, including 6-field expressions with seconds", () => {
    expect(dueFireTime("*/20 * * * * *", at("2026-06-20T10:00:00Z"), at("2026-06-20T10:00:45Z"))).toEqual(at("2026-06-20T10:00:40Z"));
  });
});

describe("selectForDeletion", () => {
  const b = (name: string, day: number, extra: object = {}) => ({ name, type: "logical", status: "done", restoreTo: at(`2026-06-${String(day).padStart(2, "0")}T02:05:00Z`), ...extra });
  const now = at("2026-06-20T03:00:00Z");

  it("keeps the newest `count` backups", () => {
    const backups = [b("a", 16), b("b", 17), b("c", 18), b("d", 19), b("e", 20)];
    expect(selectForDeletion(backups, { count: 3 }, now, new Set()).sort()).toEqual(["a", "b"]);
  });

  it("deletes backups older than maxAgeDays, but never the newest one", () => {
    expect(selectForDeletion([b("a", 10), b("b", 19), b("c", 20)], { maxAgeDays: 2 }, now, new Set())).toEqual(["a"]);
    expect(selectForDeletion([b("only", 1)], { maxAgeDays: 2 }, now, new Set())).toEqual([]);
  });

  it("never deletes a protected base snapshot or failed backups' records", () => {
    const backups = [b("base", 10), b("x", 11, { status: "error" }), b("c", 19), b("d", 20)];
    expect(selectForDeletion(backups, { count: 1 }, now, new Set(["base"]))).toEqual(["c"]);
  });

  it("deletes an incremental chain only through its base and only when no kept increment depends on it", () => {
    const chain = [b("base", 15, { type: "incremental" }), b("inc1", 16, { type: "incremental", incrementalBase: "base" }), b("inc2", 20, { type: "incremental", incrementalBase: "inc1" })];
    expect(selectForDeletion(chain, { count: 1 }, now, new Set())).toEqual([]);
  });
});

describe("protectedBases", () => {
  it("protects the snapshot each backed PITR range starts from", () => {
    const snaps = [
      { name: "old", status: "done", restoreToTime: "2026-06-18T02:05:00Z" },
      { name: "base", status: "done", restoreToTime: "2026-06-19T02:05:00Z" },
    ];
    expect([...protectedBases(snaps, [{ start: "2026-06-19T02:05:01Z", backed: true }])]).toEqual(["base"]);
  });
});

const inventory = (over: Partial<Inventory> = {}): Inventory => ({
  cluster: "rs0",
  snapshots: [{ name: "2026-06-20T10:00:00Z", type: "logical", status: "done", sizeBytes: 1, startTime: "2026-06-20T10:00:00Z", restoreToTime: "2026-06-20T10:00:55Z" }],
  pitrRanges: [
    { start: "2026-06-20T10:00:56Z", end: "2026-06-20T11:00:55Z", backed: true },
    { start: "2026-06-20T12:00:00Z", end: "2026-06-20T13:00:00Z", backed: false },
  ],
  restorableWindow: { earliest: "2026-06-20T10:00:55Z", latest: "2026-06-20T11:00:55Z" },
  pitr: { enabled: true, running: true, lastChunkTime: "2026-06-20T13:00:00Z" },
  ...over,
});

describe("restorability", () => {
  it("accepts a time inside a backed range", () => {
    expect(restorability(inventory(), at("2026-06-20T10:30:00Z"))).toEqual({ ok: true });
  });

  it("names the nearest restorable times for a time in an unbacked range or a gap", () => {
    expect(restorability(inventory(), at("2026-06-20T12:30:00Z"))).toEqual({ ok: false, before: "2026-06-20T11:00:55Z" });
    expect(restorability(inventory(), at("2026-06-20T09:00:00Z"))).toEqual({ ok: false, after: "2026-06-20T10:00:55Z" });
  });
});

describe("evaluateHealth", () => {
  const healthyCluster = [{ rs: "rs0", nodes: [{ host: "mongo1:27017", agent: "v2.15.0", ok: true }] }];

  it("is healthy when chunks and snapshots are recent and agents are up", () => {
    const r = evaluateHealth(inventory(), healthyCluster, { maxPitrLagSec: 900, maxSnapshotAgeSec: 26 * 3600, now: at("2026-06-20T13:05:00Z") });
    expect(r).toMatchObject({ ok: true, problems: [] });
  });

  it("is unhealthy when the last chunk is too old, with the ages in the reason", () => {
    const r = evaluateHealth(inventory(), healthyCluster, { maxPitrLagSec: parseDuration("15m"), now: at("2026-06-20T14:00:00Z") });
    expect(r.problems).toEqual(["last PITR chunk is 60 min old (allowed 15 min)"]);
  });

  it("is unhealthy when pbm reports a PITR error, a snapshot is too old, or agents are missing", () => {
    const r = evaluateHealth(
      inventory({ pitr: { enabled: true, running: false, error: "init: catchup: no backup found" } }),
      [{ rs: "rs0", nodes: [{ host: "mongo2:27017", agent: "", ok: false }] }],
      { maxSnapshotAgeSec: parseDuration("26h"), now: at("2026-06-22T10:00:00Z") },
    );
    expect(r.problems).toEqual([
      "pbm agents missing or failing: rs0/mongo2:27017 (no pbm-agent)",
      "pbm reports a PITR error: init: catchup: no backup found",
      "last successful snapshot is 2879 min old (allowed 1560 min)",
    ]);
  });
});
