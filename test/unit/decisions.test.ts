// The runner's, retention's, restore's and health check's decisions as pure functions.
import { describe, expect, it } from "vitest";
import { windowLines } from "../../provider/cli/main";
import { inventoryFromStatus, iso, windowsFromSpans, type Inventory } from "../../provider/inventory";
import { statusOut } from "../../provider/pbm/output";
import { evaluateHealth, formatDuration, parseDuration } from "../../provider/ops/health";
import { afterRestoreNote, restorability, restoreHint } from "../../provider/ops/restore";
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
  configured: true,
  restorableWindows: [{ start: "2026-06-20T10:00:55Z", end: "2026-06-20T11:00:55Z" }],
  gaps: [],
  latestRestorableWindow: { start: "2026-06-20T10:00:55Z", end: "2026-06-20T11:00:55Z" },
  pitr: { enabled: true, running: true, lastChunkTime: "2026-06-20T13:00:00Z" },
  ...over,
});

const sec = (s: string) => Date.parse(s) / 1000;

/**
 * A history with a gap, as `pbm status -s backups -s pitr` prints it: a lone old snapshot; snapshot A and the PITR
 * range from its last write + 1; an outage longer than the oplog window; then oplog with no base until snapshot B
 * splits that timeline (unbacked up to B's last write, backed after it). Plus snapshots that are no PITR base.
 */
const gapHistory = statusOut.parse({
  backups: {
    type: "S3",
    path: "s3://pbm-backups/rs0",
    snapshot: [
      { name: "2026-06-20T08:59:00Z", status: "done", restoreTo: sec("2026-06-20T09:00:00Z"), type: "logical", size: 1 },
      { name: "2026-06-20T10:00:00Z", status: "done", restoreTo: sec("2026-06-20T10:00:55Z"), type: "logical", size: 1 },
      { name: "2026-06-20T10:30:00Z", status: "done", restoreTo: sec("2026-06-20T11:30:00Z"), type: "logical", size: 1, nss: ["app.orders"] },
      { name: "2026-06-20T11:40:00Z", status: "error", restoreTo: sec("2026-06-20T11:45:00Z"), type: "logical", error: "upload: timeout" },
      { name: "2026-06-20T12:29:00Z", status: "done", restoreTo: sec("2026-06-20T12:30:00Z"), type: "logical", size: 1 },
    ],
    pitrChunks: {
      size: 10,
      pitrChunks: [
        { range: { start: sec("2026-06-20T10:00:56Z"), end: sec("2026-06-20T11:00:55Z") } },
        { range: { start: sec("2026-06-20T12:00:00Z"), end: sec("2026-06-20T12:30:00Z") }, noBaseSnapshot: true },
        { range: { start: sec("2026-06-20T12:30:01Z"), end: sec("2026-06-20T13:00:00Z") } },
      ],
    },
  },
  pitr: { conf: true, run: true },
});

describe("inventoryFromStatus", () => {
  it("lists the restorable windows oldest first with the gaps between them, not one min..max span", () => {
    // Given a history with an outage between 11:00:55 and 12:30:00
    // When the inventory is built
    const inv = inventoryFromStatus("rs0", gapHistory, new Map());
    // Then the snapshot and the range from its last write + 1 form one window, B and its range another, and
    // the lone old snapshot is a zero-length window; selective and failed snapshots restore nothing by time
    expect(inv.restorableWindows).toEqual([
      { start: "2026-06-20T09:00:00Z", end: "2026-06-20T09:00:00Z" },
      { start: "2026-06-20T10:00:55Z", end: "2026-06-20T11:00:55Z" },
      { start: "2026-06-20T12:30:00Z", end: "2026-06-20T13:00:00Z" },
    ]);
    expect(inv.gaps).toEqual([
      { start: "2026-06-20T09:00:00Z", end: "2026-06-20T10:00:55Z" },
      { start: "2026-06-20T11:00:55Z", end: "2026-06-20T12:30:00Z" },
    ]);
    expect(inv.latestRestorableWindow).toEqual({ start: "2026-06-20T12:30:00Z", end: "2026-06-20T13:00:00Z" });
    expect(inv.configured).toBe(true);
  });

  it("reports no windows, no gaps and a null latest window when nothing is restorable", () => {
    const inv = inventoryFromStatus("rs0", statusOut.parse({ backups: { type: "S3", path: "s3://b/p", snapshot: null } }), new Map());
    expect(inv).toMatchObject({ restorableWindows: [], gaps: [], latestRestorableWindow: null });
  });
});

describe("windowsFromSpans", () => {
  it("merges overlapping spans and spans one second apart (pbm restores to whole seconds), in any order", () => {
    const { restorableWindows, gaps } = windowsFromSpans([
      [sec("2026-06-20T12:00:00Z"), sec("2026-06-20T12:10:00Z")],
      [sec("2026-06-20T10:00:00Z"), sec("2026-06-20T10:30:00Z")],
      [sec("2026-06-20T10:10:00Z"), sec("2026-06-20T10:10:00Z")], // a snapshot inside a range: no window of its own
      [sec("2026-06-20T10:30:01Z"), sec("2026-06-20T11:00:00Z")],
    ]);
    expect(restorableWindows).toEqual([
      { start: "2026-06-20T10:00:00Z", end: "2026-06-20T11:00:00Z" },
      { start: "2026-06-20T12:00:00Z", end: "2026-06-20T12:10:00Z" },
    ]);
    expect(gaps).toEqual([{ start: "2026-06-20T11:00:00Z", end: "2026-06-20T12:00:00Z" }]);
  });
});

describe("iso", () => {
  it("writes every time as Date does, to the whole second, across midnight, leap days and before 1970", () => {
    const viaDate = (sec: number) => new Date(Math.floor(sec) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const times = [0, -1, -86_401, 59, 3599, 86_399, 86_400, sec("2024-02-29T23:59:59Z"), sec("2100-03-01T00:00:00Z"), 1_700_000_000.9];
    for (let i = 0; i < 2000; i++) times.push(1_600_000_000 + i * 7_919 + (i % 3) * 0.5);
    for (const t of times) expect(iso(t)).toBe(viaDate(t));
  });
});

describe("restorability", () => {
  const inv = inventoryFromStatus("rs0", gapHistory, new Map());

  it("accepts a time inside a window, a snapshot's restore time and a fraction of a second at a window's end", () => {
    expect(restorability(inv, at("2026-06-20T10:30:00Z"))).toEqual({ ok: true });
    expect(restorability(inv, at("2026-06-20T09:00:00Z"))).toEqual({ ok: true });
    expect(restorability(inv, at("2026-06-20T13:00:00.400Z"))).toEqual({ ok: true });
  });

  it("names the end of the window before and the start of the window after a time in a gap", () => {
    // an outage (12:15 is in oplog that no base snapshot covers)
    expect(restorability(inv, at("2026-06-20T12:15:00Z"))).toEqual({ ok: false, before: "2026-06-20T11:00:55Z", after: "2026-06-20T12:30:00Z" });
    expect(restorability(inv, at("2026-06-20T11:30:00Z"))).toEqual({ ok: false, before: "2026-06-20T11:00:55Z", after: "2026-06-20T12:30:00Z" });
    expect(restorability(inv, at("2026-06-20T08:00:00Z"))).toEqual({ ok: false, after: "2026-06-20T09:00:00Z" });
    expect(restorability(inv, at("2026-06-20T14:00:00Z"))).toEqual({ ok: false, before: "2026-06-20T13:00:00Z" });
  });

  // Regression (issue 12): the hint said "Pick a time in 01:18:43Z … 01:24:59Z", the span containing the rejected time.
  it("never offers a span that contains the rejected time: every time in the hint is restorable and on its own side", () => {
    for (const t of ["2026-06-20T09:30:00Z", "2026-06-20T11:00:56Z", "2026-06-20T12:15:00Z", "2026-06-20T12:29:59Z", "2026-06-20T08:00:00Z", "2026-06-20T13:00:01Z"]) {
      const r = restorability(inv, at(t));
      expect(r.ok).toBe(false);
      const hint = restoreHint(r);
      expect(hint).not.toContain("…");
      for (const named of hint.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g) ?? []) {
        expect(restorability(inv, at(named))).toEqual({ ok: true });
        expect(named).not.toBe(t);
      }
      if (r.before) expect(Date.parse(r.before)).toBeLessThan(Date.parse(t));
      if (r.after) expect(Date.parse(r.after)).toBeGreaterThan(Date.parse(t));
    }
  });

  it("words the hint for each side that exists", () => {
    expect(restoreHint({ before: "2026-06-20T11:00:55Z", after: "2026-06-20T12:30:00Z" })).toBe(
      "Pick 2026-06-20T11:00:55Z or earlier, or 2026-06-20T12:30:00Z or later (the time between is a gap in the backups).",
    );
    expect(restoreHint({ before: "2026-06-20T13:00:00Z" })).toBe("Pick 2026-06-20T13:00:00Z or earlier: nothing after it is restorable yet.");
    expect(restoreHint({ after: "2026-06-20T09:00:00Z" })).toBe("Pick 2026-06-20T09:00:00Z or later: nothing before it is restorable.");
    expect(restoreHint({})).toBe("Take a snapshot and enable PITR first.");
  });
});

describe("windowLines (pulumi-pbm inventory)", () => {
  it("shows each window, the length of each gap, and marks the latest", () => {
    expect(windowLines(inventoryFromStatus("rs0", gapHistory, new Map()))).toEqual([
      "  2026-06-20T09:00:00Z (snapshot)",
      "  gap 1 h 55 s: nothing restorable between 2026-06-20T09:00:00Z and 2026-06-20T10:00:55Z",
      "  2026-06-20T10:00:55Z … 2026-06-20T11:00:55Z",
      "  gap 1 h 29 min 5 s: nothing restorable between 2026-06-20T11:00:55Z and 2026-06-20T12:30:00Z",
      "  2026-06-20T12:30:00Z … 2026-06-20T13:00:00Z  latest",
    ]);
  });
});

describe("afterRestoreNote", () => {
  it("says that pbm turned PITR off and how the declared policy comes back, only when it did", () => {
    const note = afterRestoreNote(true, false);
    expect(note).toMatch(/^pbm turned PITR off for the restore/);
    expect(note).toContain("`pulumi up --refresh`");
    expect(note).toContain("base snapshot pbm needs");
    expect(afterRestoreNote(true, true)).toBeUndefined();
    expect(afterRestoreNote(false, false)).toBeUndefined();
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
    expect(r.problems).toEqual(["last PITR chunk is 1 h old (allowed 15 min)"]);
  });

  // Regression (issue 12): `check --max-pitr-lag 30s` printed "allowed 1 min".
  it("shows limits under a minute in seconds, and ages to the second so they never read as the limit", () => {
    const r = evaluateHealth(inventory(), healthyCluster, { maxPitrLagSec: parseDuration("30s"), now: at("2026-06-20T13:00:45Z") });
    expect(r.problems).toEqual(["last PITR chunk is 45 s old (allowed 30 s)"]);
    const justOver = evaluateHealth(inventory(), healthyCluster, { maxPitrLagSec: parseDuration("15m"), now: at("2026-06-20T13:15:00.300Z") });
    expect(justOver.problems).toEqual(["last PITR chunk is 15 min 1 s old (allowed 15 min)"]);
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
      "last successful snapshot is 47 h 59 min 5 s old (allowed 26 h)",
    ]);
  });
});

describe("formatDuration", () => {
  it("shows a duration exactly, in the units a person would write it", () => {
    expect([30, 90, 900, 3600, 5400, 26 * 3600, 2 * 86400, 2 * 86400 + 3 * 3600 + 5, 1.5, 0].map(formatDuration)).toEqual([
      "30 s", "1 min 30 s", "15 min", "1 h", "1 h 30 min", "26 h", "2 d", "2 d 3 h 5 s", "1.5 s", "0 s",
    ]);
    expect(formatDuration(parseDuration("0.5m"))).toBe("30 s");
  });
});

describe("inventoryFromStatus at scale", () => {
  it("builds the inventory of 200,000 PITR ranges without overflowing the call stack", async () => {
    const { inventoryFromStatus } = await import("../../provider/inventory");
    const t0 = 1_700_000_000;
    const pitrChunks = Array.from({ length: 200_000 }, (_, i) => ({ range: { start: t0 + i * 20, end: t0 + i * 20 + 10 } }));
    const inv = inventoryFromStatus("rs0", { backups: { type: "S3", path: "s3://b", snapshot: [], pitrChunks: { pitrChunks, size: 0 } } } as never, new Map());
    expect(inv.pitrRanges).toHaveLength(200_000);
    expect(inv.pitr.lastChunkTime).toBe(new Date((t0 + 199_999 * 20 + 10) * 1000).toISOString().replace(".000Z", "Z"));
  });
});
