// The simulated pbm agents (sandbox/pbm-sim/world.ts) as the REAL pbm CLI sees them: every behaviour below is
// asserted through pbm 2.14.0's own commands and output (reference §3 PITR, §4 control collections, §5 storage
// layout). The CLI names backups and restores by wall clock; every time it prints (restoreTo, ranges,
// ts_to_restore) is cluster time, i.e. the simulated clock these tests move.
import { MongoClient } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { clock, configureSimulator } from "../../sandbox/pbm-sim/control";
import { createBucket, lastJson, listKeys, runPbm, s3ConfigYaml, type PbmResult } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

const T0 = new Date("2026-06-20T10:00:00Z");
const t0 = T0.getTime() / 1000;
/** pbm's `--time` format: UTC, no zone suffix. */
const pbmTime = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 19);

/** Retries until the agents (woken by the CLI's write, ticking every 200 ms while busy) have acted on what the CLI sent. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function ok(r: PbmResult): any {
  if (r.exitCode !== 0) throw new Error(`pbm exited with ${r.exitCode}: ${r.stderr || r.stdout}`);
  return lastJson(r.stdout);
}

describe("simulated pbm agents, driven by the real pbm CLI", () => {
  const sandbox = useSandbox({ replSets: ["rs0"] });
  const c = () => sandbox().cluster;
  const uri = () => c().mongodbUri;
  const pbm = async (...args: string[]) => ok(await runPbm(c(), [...args, "-o", "json"]));
  /** The secondary that does the work, as the agents name it: 127.0.0.2:<shim port>. */
  const worker = () => `127.0.0.2:${c().port}`;
  let base = ""; // the first backup
  let baseLw = 0;

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(uri(), T0);
  });

  it("initializes the storage when the CLI stores a config (.pbm.init, resync)", async () => {
    const shown = ok(await runPbm(c(), ["config", "--file", "-", "-o", "json"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0") }));
    expect(shown.storage.s3).toMatchObject({ bucket: "pbm-backups", prefix: "rs0" });
    await eventually(".pbm.init", async () => ((await listKeys(sandbox().s3, "pbm-backups", "rs0/")).includes("rs0/.pbm.init") ? true : undefined));
  });

  it("reports PITR's catch-up error in status while no base backup exists (§3.1)", async () => {
    // (pbm echoes the keys in map order)
    expect(await pbm("config", "--set", "pitr.enabled=true", "--set", "pitr.oplogSpanMin=5")).toEqual(expect.arrayContaining([
      { key: "pitr.enabled", value: "true" },
      { key: "pitr.oplogSpanMin", value: "5" },
    ]));
    const st = await eventually("pitr error", async () => {
      const s = await pbm("status", "-s", "pitr");
      return s.pitr.error ? s : undefined;
    });
    expect(st.pitr).toMatchObject({ conf: true, run: false, nodes: null });
    expect(st.pitr.error).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000[+-]\d{4} E \[rs0\/127\.0\.0\.2:\d+\] \[pitr\] init: catchup: get last backup: no backup found\. full backup is required to start PITR$/,
    );
    // The CLI itself finds no base among the agents' backups
    expect((await runPbm(c(), ["restore", "--time", pbmTime(t0), "--yes"])).stderr).toBe("Error: no base snapshot found\n");
  });

  it("runs a backup through pbm's statuses over simulated time and writes pbm's S3 layout (§4, §5)", async () => {
    const started = await pbm("backup", "--compression", "s2");
    base = started.name;
    expect(base).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/); // wall clock: pbm names it
    expect(started.storagePath).toContain("pbm-backups/rs0");

    // The agents hold pbm's lock: the CLI's concurrent-operation check and the running section read it.
    const busy = await runPbm(c(), ["backup"]);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`^Error: another operation in progress, Snapshot backup/[0-9a-f]{24} \\[rs0/${worker().replace(/\./g, "\\.")}\\]\\n$`));
    const running = await pbm("status");
    expect(running.running).toEqual({ type: "backup", opID: expect.stringMatching(/^[0-9a-f]{24}$/), name: base, startTS: t0, status: "snapshot backup" });
    expect(running.backups.snapshot[0]).toMatchObject({ name: base, status: "running", printStatus: "ongoing" });
    expect(running.cluster[0].nodes.map((n: { host: string; agent: string; ok: boolean }) => [n.host, n.agent, n.ok])).toEqual(
      [1, 2, 3].map((i) => [`127.0.0.${i}:${c().port}`, "v2.14.0", true]),
    );
    expect((await pbm("list")).snapshots).toBeNull(); // list shows finished backups only

    await clock.advance(uri(), 120);
    const list = await pbm("list");
    expect(list.snapshots).toEqual([{ name: base, status: "done", printStatus: "success", restoreTo: expect.any(Number), pbmVersion: "2.14.0", type: "logical", src: "" }]);
    baseLw = list.snapshots[0].restoreTo;
    expect(baseLw).toBeGreaterThan(t0);
    expect(baseLw).toBeLessThanOrEqual(t0 + 60);
    expect((await pbm("status", "-s", "running")).running).toEqual({});
    const keys = await listKeys(sandbox().s3, "pbm-backups", "rs0/");
    expect(keys).toContain(`rs0/${base}.pbm.json`);
    expect(keys).toContain(`rs0/${base}/rs0/meta.pbm`);
    expect(keys).toContain(`rs0/${base}/rs0/metadata.json`);
    expect(keys.some((k) => new RegExp(`^rs0/${base}/rs0/oplog/20260620\\d{6}-1\\.20260620\\d{6}-1\\.s2$`).test(k))).toBe(true);
    const desc = await pbm("describe-backup", base);
    expect(desc).toMatchObject({ name: base, type: "logical", status: "done", storage_type: "s3", pbm_version: "2.14.0", last_write_ts: baseLw });
    expect(desc.replsets).toEqual([expect.objectContaining({ name: "rs0", status: "done", node: worker() })]);
  });

  it("slices PITR chunks every oplogSpanMin after the base and shows the range from the base's last write + 1 (§3.4)", async () => {
    await clock.advance(uri(), 3600);
    const list = await pbm("list");
    expect(list.pitr).toEqual({ on: true, ranges: [{ range: { start: baseLw + 1, end: baseLw + 3600 } }] });
    const chunks = (await listKeys(sandbox().s3, "pbm-backups", "rs0/pbmPitr/rs0/")).filter((k) => k.endsWith(".oplog.s2"));
    expect(chunks).toHaveLength(12); // 60 minutes / 5-minute span
    expect(chunks[0]).toMatch(/^rs0\/pbmPitr\/rs0\/20260620\/20260620\d{6}-1\.20260620\d{6}-1\.oplog\.s2$/);
    // Slicing runs: the op-lock (pitr.run), the acknowledged node (pitr.nodes), and start_ok hides the old error.
    expect((await pbm("status", "-s", "pitr")).pitr).toEqual({ conf: true, run: true, nodes: [`rs0/${worker()}`] });
  });

  let firstRange = { start: 0, end: 0 };
  let secondStart = 0;
  it("resumes slicing after a long outage with a gap, hiding unbacked parts unless --unbacked (§3.4)", async () => {
    await configureSimulator(uri(), { agentsDown: ["*"], oplogWindowMin: 30 });
    expect((await pbm("status", "-s", "pitr")).pitr.run).toBe(false);
    await clock.advance(uri(), 2 * 3600);
    await configureSimulator(uri(), { agentsDown: [] });
    await clock.advance(uri(), 1800);
    const list = await pbm("list");
    expect(list.pitr.ranges).toHaveLength(1); // the range after the gap has no base yet
    const unbacked = (await pbm("list", "--unbacked")).pitr.ranges;
    expect(unbacked).toHaveLength(2);
    expect(unbacked[1].noBaseSnapshot).toBe(true);
    expect(unbacked[1].range.start).toBeGreaterThan(unbacked[0].range.end + 3600);
    firstRange = unbacked[0].range;
    secondStart = unbacked[1].range.start;

    // A new base inside the second timeline splits it (restorable from the base's last write + 1)
    await pbm("backup");
    await clock.advance(uri(), 1800);
    const after = await pbm("list", "--unbacked");
    const lw = after.snapshots[1].restoreTo;
    expect(after.pitr.ranges.map((r: { noBaseSnapshot?: boolean }) => !!r.noBaseSnapshot)).toEqual([false, true, false]);
    expect(after.pitr.ranges[1].range).toEqual({ start: secondStart, end: lw });
    expect(after.pitr.ranges[2].range.start).toBe(lw + 1);
  });

  it("restores to a time inside a range and turns PITR off, as pbm's leader does (§3.2, §3.5)", async () => {
    const target = firstRange.start + 600;
    const started = await pbm("restore", "--time", pbmTime(target), "--yes");
    expect(Object.keys(started)).toEqual(["name"]);
    // The JSON CLI returns once the command is sent; the agents write the restore's metadata on their next tick.
    const running = await eventually("restore metadata", async () => {
      const r = await runPbm(c(), ["describe-restore", started.name, "-o", "json"]);
      return r.exitCode === 0 ? lastJson(r.stdout) : undefined;
    });
    expect(running).toMatchObject({ name: started.name, backup: base, type: "logical", status: "running", ts_to_restore: target });
    expect((await pbm("status", "-s", "running")).running).toMatchObject({ type: "restore", name: base, status: "snapshot restore" });
    await clock.advance(uri(), 120);
    const done = await pbm("describe-restore", started.name);
    expect(done).toMatchObject({ status: "done", ts_to_restore: target, replsets: [expect.objectContaining({ name: "rs0", status: "done" })] });
    expect(await pbm("config", "pitr.enabled")).toEqual({ key: "pitr.enabled", value: "false" });
    expect((await pbm("list", "--restore")).find((r: { name: string }) => r.name === started.name)).toMatchObject({ name: started.name, status: "done", type: "pitr", snapshot: base, "point-in-time": target });
  });

  it("fails restores outside the chunks with pbm's texts (§3.5)", async () => {
    const restoreError = async (...args: string[]) => {
      const { name } = await pbm("restore", ...args, "--yes");
      const meta = await eventually("restore error", async () => {
        const r = await runPbm(c(), ["describe-restore", name, "-o", "json"]);
        return r.exitCode === 0 && lastJson(r.stdout).status === "error" ? lastJson(r.stdout) : undefined;
      });
      expect((await pbm("status", "-s", "running")).running).toEqual({}); // failed at the start: no lock left
      return meta.error as string;
    };
    const ranges = (await pbm("list", "--unbacked")).pitr.ranges;
    const lastEnd = ranges[ranges.length - 1].range.end;
    // Beyond the newest chunk
    expect(await restoreError("--time", pbmTime(lastEnd + 86400))).toBe(`no chunk with the target time, the last chunk ends on {${lastEnd} 1}`);
    // In the outage's gap: the first range's chunks end before the target
    expect(await restoreError("--time", pbmTime(firstRange.end + 600))).toBe(`no chunk with the target time, the last chunk ends on {${firstRange.end} 1}`);
    // After the gap, replayed from the first base: the chunks are not contiguous
    expect(await restoreError("--base-snapshot", base, "--time", pbmTime(secondStart + 600))).toBe(
      `integrity vilolated, expect chunk with start_ts {${firstRange.end} 1}, but got {${secondStart} 1}`,
    );
  });

  it("deletes a backup's metadata and files, and cleans up older chunks", async () => {
    const r = await runPbm(c(), ["delete-backup", base, "--yes", "-o", "json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    await eventually("backup deleted", async () => ((await pbm("list")).snapshots.some((s: { name: string }) => s.name === base) ? undefined : true));
    expect(await listKeys(sandbox().s3, "pbm-backups", `rs0/${base}`)).toEqual([]);
    expect(await listKeys(sandbox().s3, "pbm-backups", "rs0/")).not.toContain(`rs0/${base}.pbm.json`);

    // cleanup drops chunks (and backups) older than the time: here the first range, before the gap
    const chunksBefore = (await listKeys(sandbox().s3, "pbm-backups", "rs0/pbmPitr/")).length;
    const cleanup = await runPbm(c(), ["cleanup", `--older-than=${pbmTime(firstRange.end + 60)}`, "--yes", "-o", "json"]);
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    const ranges = await eventually("first range cleaned up", async () => {
      const rs = (await pbm("list", "--unbacked")).pitr.ranges;
      return rs[0].range.start === secondStart ? rs : undefined;
    });
    expect(ranges[0].noBaseSnapshot).toBe(true);
    const chunksAfter = await listKeys(sandbox().s3, "pbm-backups", "rs0/pbmPitr/");
    expect(chunksBefore - chunksAfter.length).toBe(12);
  });

  it("lets exactly one of two concurrent backups win pbm's lock while config changes land or are refused", async () => {
    const client = new MongoClient(uri());
    try {
      const admin = client.db("admin");
      const before = await admin.collection("pbmBackups").countDocuments();
      const [b1, b2, s1, s2] = await Promise.all([
        runPbm(c(), ["backup", "-o", "json"]),
        runPbm(c(), ["backup", "-o", "json"]),
        runPbm(c(), ["config", "--set", "pitr.oplogSpanMin=7", "-o", "json"]),
        runPbm(c(), ["config", "--set", "backup.compression=zstd", "-o", "json"]),
      ]);
      // A loser either saw the lock (CLI check) or sent its command and waited for metadata the agents never
      // wrote (pbm's leader refuses while a live lock exists); CLIs started in the same second share the name.
      const lost = /^Error: (another operation in progress, Snapshot backup\/|wait for backup status: no progress from leader, backup metadata not found)/;
      for (const b of [b1, b2]) if (b.exitCode !== 0) expect(b.stderr).toMatch(lost);
      expect([b1, b2].filter((b) => b.exitCode === 0).length).toBeGreaterThanOrEqual(1);
      for (const s of [s1, s2]) if (s.exitCode !== 0) expect(s.stderr).toMatch(/^Error: another operation in progress, Snapshot backup\//);
      expect(await admin.collection("pbmBackups").countDocuments()).toBe(before + 1);
      expect(await admin.collection("pbmLock").countDocuments({ type: "backup" })).toBe(1);
      const winners = new Set([b1, b2].filter((b) => b.exitCode === 0).map((b) => lastJson(b.stdout).name));
      expect(winners.size).toBe(1);
      expect((await pbm("status", "-s", "running")).running).toMatchObject({ type: "backup", name: [...winners][0] });
      const cfg = await admin.collection("pbmConfig").findOne({ profile: null });
      if (s1.exitCode === 0) expect(cfg?.pitr.oplogSpanMin).toBe(7);
      if (s2.exitCode === 0) expect(cfg?.backup.compression).toBe("zstd");
      expect(cfg?.storage.s3.bucket).toBe("pbm-backups"); // the document survived intact
      await clock.advance(uri(), 120);
      expect((await pbm("describe-backup", [...winners][0])).status).toBe("done");
    } finally {
      await client.close();
    }
  });

  it("runs on every settings change made back to back, though the agents sleep between work", async () => {
    // Each clock move is a settings write that wakes the sleeping agents (on a frozen clock nothing else would
    // for 45 s or more), and returns only once they acknowledge it, or fails after 15 s.
    const started = await clock.now(uri());
    for (let i = 1; i <= 30; i++) await clock.set(uri(), new Date(started.getTime() + i * 1000));
    expect((await clock.now(uri())).getTime()).toBe(started.getTime() + 30_000);
    // And the agents beat on the clock they acknowledged: pbm still sees all three.
    const st = await pbm("status", "-s", "cluster");
    expect(st.cluster[0].nodes.map((n: { ok: boolean }) => n.ok)).toEqual([true, true, true]);
  });
});
