// Issue 10 (scale): call economy, the shared inventory and bounded state. Speed targets live in the bench
// (`npm run bench`, sandbox/bench/); these tests assert counts and sizes only.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { inventoryFromStatus, inventoryOutputs, MAX_OUTPUT_CHARS, OUTPUT_LIMITS, sharedInventoryOrEmpty } from "../../provider/inventory";
import { forgetSharedInventory } from "../../provider/inventory/shared";
import { MongoClient } from "mongodb";
import { pbm } from "../../provider/pbm/commands";
import { deleteEntry, upsertEntry } from "../../provider/registry";
import { clusterReads, forgetClusterReads } from "../../provider/resources/clusterReads";
import { withPbmClient } from "../../provider/state/mongo";
import { statusOut } from "../../provider/pbm/output";
import { resetVersionCache } from "../../provider/pbm/version";
import { backupInventory } from "../../provider/resources/backupInventory";
import { readPbmCalls } from "../../sandbox/testbed";
import { createBucket, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { cliStack } from "../helpers/stack";

const T0 = Date.parse("2025-01-01T00:00:00Z") / 1000;

/** `pbm status --out=json` of a long history: `ranges` PITR ranges with a gap after each, `snapshots` snapshots. */
function bigStatus(ranges: number, snapshots: number, text = (i: number) => `2025-${i}`): string {
  const snapshot = Array.from({ length: snapshots }, (_, i) => ({ name: text(snapshots - 1 - i), size: 1024, status: i % 50 ? "done" : "error", error: i % 50 ? undefined : text(i), restoreTo: T0 + (snapshots - 1 - i) * 3600 + 55, type: "logical" }));
  const pitrChunks = Array.from({ length: ranges }, (_, i) => ({ range: { start: T0 + i * 180 + 1, end: T0 + (i + 1) * 180 - 30 }, ...(i % 9 === 0 ? { noBaseSnapshot: true } : {}) }));
  return JSON.stringify({ backups: { type: "S3", path: "s3://b/p", snapshot, pitrChunks: { pitrChunks, size: ranges * 512 } }, pitr: { conf: true, run: true } });
}

describe("the inventory of a long history", () => {
  it("turns 200,000 ranges and 10,000 snapshots into an inventory whose state summary stays within its bound", () => {
    // Given pbm's status of 200,000 ranges (each followed by a gap) and 10,000 snapshots
    const st = statusOut.parse(JSON.parse(bigStatus(200_000, 10_000, (i) => new Date((T0 + i * 3600) * 1000).toISOString().replace(".000Z", "Z"))));
    // When it becomes an inventory and its outputs
    const inv = inventoryFromStatus("rs0", st, new Map());
    const outs = inventoryOutputs(inv);
    // Then the inventory is complete, and the outputs hold the latest entries, the totals and nothing more
    expect(inv.pitrRanges).toHaveLength(200_000);
    expect(inv.snapshots).toHaveLength(10_000);
    expect(outs.totals).toMatchObject({ snapshots: 10_000, pitrRanges: 200_000, unbackedPitrRanges: 22_223, restorableWindows: inv.restorableWindows.length, gaps: inv.gaps.length });
    expect(outs.truncated).toBe(true);
    for (const list of [outs.snapshots, outs.pitrRanges, outs.restorableWindows, outs.gaps]) expect(list).toHaveLength(OUTPUT_LIMITS.list);
    expect(outs.restorableWindows.at(-1)).toEqual(inv.latestRestorableWindow);
    expect(outs.pitrRanges.at(-1)).toEqual(inv.pitrRanges.at(-1));
    expect(outs.snapshots[0]).toEqual(inv.snapshots[0]); // pbm lists newest first
    expect(outs.earliestRestorableTime).toBe(inv.restorableWindows[0].start);
    const size = JSON.stringify(outs).length;
    console.log(`200,000 ranges, 10,000 snapshots: full inventory ${(JSON.stringify(inv).length / 1e6).toFixed(1)} MB of JSON, state summary ${size} characters`);
    expect(size).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
  });

  it("keeps the summary within MAX_OUTPUT_CHARS even when every string is as long and as costly to escape as it gets", () => {
    const nasty = (i: number) => `"\\\n\u0001${"\u{1F600}\"".repeat(400)}${i}`;
    const st = statusOut.parse(JSON.parse(bigStatus(1000, 100, nasty)));
    const inv = inventoryFromStatus(nasty(0), st, new Map(st.backups!.snapshot!.map((s) => [s.name, nasty(1)])));
    inv.pitr.error = nasty(2);
    const outs = inventoryOutputs(inv);
    expect(JSON.stringify(outs).length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
  });
});

describe("call economy through the provider", () => {
  const sandbox = useSandbox({ replSets: ["scaleA", "scaleB", "scaleC"], pulumi: true });
  let record: string;
  const o = () => ({ mongodbUri: sandbox().clusters.scaleC.mongodbUri });
  const calls = () => readPbmCalls(record).map((c) => c.argv.filter((a) => a !== "--out=json").join(" "));

  beforeAll(async () => {
    await createBucket(sandbox().s3, "scale");
    await pbm.applyConfig(s3ConfigYaml(sandbox().s3, "scale", "scaleC"), { ...o(), waitSec: 60 });
  });
  beforeEach(() => {
    record = path.join(mkdtempSync(path.join(tmpdir(), "scale-")), "calls.jsonl");
    process.env.PBM_RECORD = record;
  });
  afterEach(() => {
    delete process.env.PBM_RECORD;
  });

  it("refreshes two clusters with exactly one pbm status per cluster and no pbm version, through the pulumi command", async () => {
    // Given a stack of two clusters, each with a BackupLocation, a PitrPolicy and a BackupInventory, deployed
    const sb = sandbox();
    const stack = await cliStack({
      sandbox: sb,
      projectDir: "test/fixtures/scale-stack",
      stackName: "scale",
      config: {
        clusters: { value: JSON.stringify(["scaleA", "scaleB"].map((n) => ({ name: n, uri: sb.clusters[n].mongodbUri }))), secret: true },
        s3: { value: JSON.stringify({ endpoint: sb.s3.endpoint, accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey }), secret: true },
        count: { value: "2" },
        bucket: { value: "scale" },
        // PMM's rule is another test's business (the bench keeps the disabled ScheduledBackups).
        schedules: { value: "false" },
      },
      env: { PBM_RECORD: record },
    });
    expect((await stack.up()).exitCode).toBe(0);
    const atUp = calls();
    rmSync(record, { force: true });

    // When refreshing (one engine operation: `pulumi refresh --yes` alone runs a preview operation first, with
    // its own provider process and so its own reads)
    expect((await stack.run(stack.withConfig("refresh", "--yes", "--skip-preview", "--color", "never"))).exitCode).toBe(0);

    // Then pbm ran once per cluster, `pbm status` only (the release came from the version cache written during up)
    const atRefresh = calls();
    console.log(`pbm calls: up ${JSON.stringify(atUp)}; refresh ${JSON.stringify(atRefresh)}`);
    expect(atRefresh).toEqual(["status -s backups -s pitr", "status -s backups -s pitr"]);
    // And the state holds the bounded summary
    const state = await stack.exportState();
    expect(state).toContain('"totals"');
    expect((await stack.destroy()).exitCode).toBe(0);
  });

  it("shares one pbm status among concurrent and later readers of a cluster in one process", async () => {
    forgetSharedInventory();
    rmSync(record, { force: true });
    const [a, b] = await Promise.all([sharedInventoryOrEmpty(o()), sharedInventoryOrEmpty(o())]);
    const c = await backupInventory.read("inventory", { mongodbUri: o().mongodbUri });
    expect(a).toBe(b);
    expect(c.props.configured).toBe(true);
    expect(calls().filter((c) => c.startsWith("status"))).toHaveLength(1);
  });

  it("reads pbm again after a write through the adapter, and sees the write", async () => {
    // Given a shared inventory with PITR off
    await pbm.setConfig({ "pitr.enabled": false }, o());
    expect((await sharedInventoryOrEmpty(o())).pitr.enabled).toBe(false);
    rmSync(record, { force: true });
    // When PITR is turned on through the adapter (a read in flight at the time must not be kept either)
    forgetSharedInventory(o().mongodbUri);
    const inFlight = sharedInventoryOrEmpty(o());
    await pbm.setConfig({ "pitr.enabled": true }, o());
    await inFlight;
    // Then the next reader gets a fresh status that shows it
    expect((await sharedInventoryOrEmpty(o())).pitr.enabled).toBe(true);
    expect(calls().filter((c) => c.startsWith("status"))).toHaveLength(2);
    await pbm.setConfig({ "pitr.enabled": false }, o());
  });

  it("shares one read of pbm's config and one of the registry among the read handlers of a cluster, until this process writes either", async () => {
    const uri = o().mongodbUri;
    forgetClusterReads();
    const outside = new MongoClient(uri);
    try {
      // Given the reads of a cluster, as BackupLocation.read, ScheduledBackup.read and PitrPolicy.read share them
      const [first, joined] = await Promise.all([clusterReads(uri), clusterReads(uri)]);
      expect(joined).toBe(first);
      const spanBefore = first.config?.pitr?.oplogSpanMin;
      // When another process changes pbm's config behind this one's back
      await outside.db("admin").collection("pbmConfig").updateOne({ profile: null }, { $set: { "pitr.oplogSpanMin": 9 } });
      // Then readers in this process still share the first read: one query each per cluster, however many resources
      expect(await clusterReads(uri)).toBe(first);
      // When this process declares a schedule
      await withPbmClient(uri, (admin) => upsertEntry(admin, { kind: "schedule", name: "shared-reads", enabled: true, cron: "0 3 * * *", backup: { type: "logical" }, declaredBy: {} }));
      // Then the next read is fresh: it sees the declaration and the other process's change
      const fresh = await clusterReads(uri);
      expect(fresh).not.toBe(first);
      expect(fresh.entry("schedule", "shared-reads")).toMatchObject({ cron: "0 3 * * *", enabled: true });
      expect(fresh.config?.pitr?.oplogSpanMin).toBe(9);
      // And a pbm write through the adapter drops it too
      await pbm.setConfig({ "pitr.oplogSpanMin": spanBefore ?? 10 }, o());
      expect((await clusterReads(uri)).config?.pitr?.oplogSpanMin).toBe(spanBefore ?? 10);
    } finally {
      await withPbmClient(uri, (admin) => deleteEntry(admin, "schedule", "shared-reads"));
      await outside.close();
    }
  });

  it("asks a pbm binary for its release once, then remembers it on disk by path, size and mtime", async () => {
    resetVersionCache();
    await pbm.status(o(), ["pitr"]);
    expect(calls().filter((c) => c.startsWith("version"))).toHaveLength(0); // known from the tests above
    // A replaced binary (new mtime) is asked again
    const dir = mkdtempSync(path.join(tmpdir(), "pbm-copy-"));
    const copy = path.join(dir, "pbm");
    writeFileSync(copy, `#!/bin/sh\nexec ${JSON.stringify(path.join(sandbox().pbmBinDir, "pbm"))} "$@"\n`);
    chmodSync(copy, 0o755);
    resetVersionCache();
    await pbm.status({ ...o(), pbmPath: copy }, ["pitr"]);
    resetVersionCache();
    await pbm.status({ ...o(), pbmPath: copy }, ["pitr"]);
    expect(calls().filter((c) => c.startsWith("version"))).toHaveLength(1);
  });

  it("reads a 200,000-range history through BackupInventory.read into state of bounded size", async () => {
    // Given a pbm whose status prints 200,000 ranges and 10,000 snapshots (10 MB of JSON)
    const dir = mkdtempSync(path.join(tmpdir(), "pbm-big-"));
    writeFileSync(path.join(dir, "status.json"), bigStatus(200_000, 10_000) + "\n");
    const fake = path.join(dir, "pbm");
    writeFileSync(fake, `#!/bin/sh\ncase "$1" in version) echo '{"Version":"2.14.0"}';; status) cat ${JSON.stringify(path.join(dir, "status.json"))};; *) exit 1;; esac\n`);
    chmodSync(fake, 0o755);
    // When the resource reads it
    const r = await backupInventory.read("inventory", { mongodbUri: o().mongodbUri, pbmPath: fake });
    // Then the state it returns is bounded and counts the whole history
    const { mongodbUri, pbmPath, ...outs } = r.props;
    expect(JSON.stringify(outs).length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    expect(outs.totals).toMatchObject({ pitrRanges: 200_000, snapshots: 10_000 });
    expect(outs.truncated).toBe(true);
  });

  it("takes a 200,000-range history through pulumi up and refresh, and keeps the state within its bound", async () => {
    // Given a cluster whose pbm status lists 200,000 ranges and 10,000 snapshots (10 MB of JSON): a pbm that prints
    // that for `status` and runs the sandbox's real pbm for everything else (the real one would read 200,000 chunks
    // from FerretDB at about 1,000 a second)
    const sb = sandbox();
    const dir = mkdtempSync(path.join(tmpdir(), "pbm-big-"));
    writeFileSync(path.join(dir, "status.json"), bigStatus(200_000, 10_000) + "\n");
    const big = path.join(dir, "pbm");
    writeFileSync(big, `#!/bin/sh\nif [ "$1" = status ]; then exec cat ${JSON.stringify(path.join(dir, "status.json"))}; fi\nexec ${JSON.stringify(path.join(sb.pbmBinDir, "pbm"))} "$@"\n`);
    chmodSync(big, 0o755);
    const stack = await cliStack({
      sandbox: sb,
      projectDir: "test/fixtures/scale-stack",
      stackName: "history",
      config: {
        clusters: { value: JSON.stringify([{ name: "scaleA", uri: sb.clusters.scaleA.mongodbUri }]), secret: true },
        s3: { value: JSON.stringify({ endpoint: sb.s3.endpoint, accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey }), secret: true },
        count: { value: "1" },
        bucket: { value: "scale" },
        schedules: { value: "false" },
        pbmPath: { value: big },
      },
    });
    // When it is deployed and refreshed
    const up = await stack.up();
    const refresh = await stack.refresh();
    // Then both succeed, and the state holds the bounded summary of the whole history
    expect(up.exitCode).toBe(0);
    expect(refresh.exitCode).toBe(0);
    const state = JSON.parse(await stack.exportState());
    const inventory = state.deployment.resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/pbm:BackupInventory");
    expect(inventory.outputs.totals).toMatchObject({ pitrRanges: 200_000, snapshots: 10_000 });
    expect(inventory.outputs.truncated).toBe(true);
    expect(JSON.stringify(inventory.outputs).length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    console.log(`200,000 ranges through the pulumi command: up ${(up.durationMs / 1000).toFixed(1)} s, refresh ${(refresh.durationMs / 1000).toFixed(1)} s, whole state ${(JSON.stringify(state).length / 1024).toFixed(1)} KiB`);
    expect((await stack.destroy()).exitCode).toBe(0);
  });
});
