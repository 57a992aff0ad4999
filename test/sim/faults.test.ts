// The simulated agents' injectable faults as the REAL pbm CLI (2.14.0) and the provider meet them, and the
// sharded timeline intersection, which this one-FerretDB sandbox can only show at the World level.
import { MongoClient, ObjectId, Timestamp } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { pbm as provider } from "../../provider/pbm/commands";
import { runPbmRaw } from "../../provider/pbm/run";

const describeBackup = provider.describeBackup;
import { clock, configureSimulator } from "../../sandbox/pbm-sim/control";
import { mergeTimelines, pitrRanges, timelines } from "../../sandbox/pbm-sim/timeline";
import { createBucket, lastJson, runPbm, s3ConfigYaml, type PbmResult } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

const T0 = new Date("2026-06-20T10:00:00Z");

async function eventually(fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function ok(r: PbmResult): any {
  if (r.exitCode !== 0) throw new Error(`pbm exited with ${r.exitCode}: ${r.stderr || r.stdout}`);
  return lastJson(r.stdout);
}

describe("simulated pbm agents' faults, through the real pbm CLI", () => {
  const sandbox = useSandbox();
  const c = () => sandbox().cluster;
  const uri = () => c().mongodbUri;
  const pbm = async (...args: string[]) => ok(await runPbm(c(), [...args, "-o", "json"]));

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(uri(), T0);
    ok(await runPbm(c(), ["config", "--file", "-", "-o", "json"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0") }));
  });

  it("ends a backup in error with the injected message, shown by status and describe-backup", async () => {
    await configureSimulator(uri(), { faults: { failBackups: { count: 1, message: "mongodump: read tcp: connection reset by peer" } } });
    const started = await pbm("backup");
    await clock.advance(uri(), 30);
    const st = await pbm("status", "-s", "backups");
    expect(st.backups.snapshot[0]).toMatchObject({ name: started.name, status: "error", printStatus: "failed", error: "mongodump: read tcp: connection reset by peer" });
    const logged = await pbm("logs", "-e", "backup", "-s", "E");
    expect(logged).toContainEqual(expect.objectContaining({ s: 1, rs: "rs0", e: "backup", eobj: started.name, msg: "backup: mongodump: read tcp: connection reset by peer" }));
    // pbm 2.14's describe-backup cannot size a failed logical backup whose size the agents never recorded
    // (cmd/pbm/backup.go: it returns errMissedFile for exactly the not-done backups it means to excuse).
    expect((await runPbm(c(), ["describe-backup", started.name, "-o", "json"])).stderr).toBe("Error: get snapshot size: missed file\n");
    // so the provider reads the failure from `pbm status`, and a runner following the backup sees it end
    expect(await describeBackup(started.name, { mongodbUri: uri() })).toMatchObject({ name: started.name, status: "error", error: "mongodump: read tcp: connection reset by peer" });
    // the fault was used up: the next backup succeeds (named a second later: pbm names backups by wall clock)
    await new Promise((r) => setTimeout(r, 1100));
    const next = await pbm("backup");
    await clock.advance(uri(), 120);
    expect((await pbm("list")).snapshots.map((s: { name: string }) => s.name)).toEqual([next.name]);
  });

  it("reports denied storage as the agents' storage error in status", async () => {
    await configureSimulator(uri(), { faults: { storage: "denied" } });
    try {
      const st = await pbm("status", "-s", "cluster");
      for (const node of st.cluster[0].nodes) {
        expect(node.ok).toBe(false);
        expect(node.errors).toEqual([
          "storage: storage check failed with: file stat: get S3 object header: https response error StatusCode: 403, RequestID: SIM0000000000000, api error AccessDenied: Access Denied.",
        ]);
      }
    } finally {
      await configureSimulator(uri(), { faults: {} });
    }
  });

  it("refuses a backup with the CLI's pre-check error while the agents are down, cleanly or killed", async () => {
    await configureSimulator(uri(), { agentsDown: ["*"] });
    const down = await runPbm(c(), ["backup", "-o", "json"]);
    expect(down).toMatchObject({ exitCode: 1, stderr: "Error: backup pre-check: no available agent(s) on replsets: rs0\n" });
    const gone = await pbm("status", "-s", "cluster");
    expect(gone.cluster[0].nodes.every((n: { agent: string; ok: boolean }) => n.agent === "" && !n.ok)).toBe(true);

    // Killed agents leave their documents behind: status calls them lost once 30 s old, but 2.14's pre-check
    // fails only for replica sets with no agent document at all, so the CLI sends the backup and gives up
    // after waiting 33 s for metadata no agent writes.
    await configureSimulator(uri(), { agentsDown: [], faults: {} });
    await configureSimulator(uri(), { agentsDown: ["*"], faults: { agentsKilled: true } });
    try {
      await clock.advance(uri(), 60);
      const lost = await pbm("status", "-s", "cluster");
      for (const node of lost.cluster[0].nodes) expect(node.errors).toEqual([expect.stringMatching(/^lost agent, last heartbeat: \d+$/)]);
      const waited = await runPbm(c(), ["backup"]);
      expect(waited.stdout).toMatch(/^Starting backup "[^"]+"\.+\n$/);
      expect(waited.stderr).toBe("Error: wait for backup status: no progress from leader, backup metadata not found\n");
    } finally {
      await configureSimulator(uri(), { agentsDown: [], faults: {} });
    }
  });

  // Replaces the simulated CLI's "hang" fault: with the simulated clock standing still a backup never finishes,
  // so the real `pbm backup --wait` (no --wait-time) waits forever, and the provider's timeout ends it.
  it("turns a real pbm that waits forever into a PBMP-2005 timeout", async () => {
    const err = await runPbmRaw(["backup", "--wait"], { mongodbUri: uri(), timeoutSec: 3 }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      "[PBMP-2005] pbm backup --wait did not finish within 3s. Check `pbm status` and `pbm logs`; raise timeoutSec if the cluster is slow.",
    );
    // the backup itself went on and finishes when simulated time moves
    const running = await pbm("status", "-s", "running");
    expect(running.running).toMatchObject({ type: "backup", status: "snapshot backup" });
    await clock.advance(uri(), 120);
    expect((await pbm("describe-backup", running.running.name)).status).toBe("done");
  });
});

// pbm's CLI sees a sharded cluster through mongos/config servers (getShardMap) and dials every shard; this
// sandbox has one FerretDB behind one wire shim that answers as one replica set, so the real CLI cannot show
// several replica sets. The agents still slice per replica set: this test reads the chunks they wrote and
// merges them with the simulator's copy of pbm's timeline rules (sandbox/pbm-sim/timeline.ts).
describe("simulated pbm agents, sharded topology (World level)", () => {
  const sandbox = useSandbox({ replSets: ["cfg"] });
  const uri = () => sandbox().cluster.mongodbUri;

  it("intersects the shards' timelines: a gap on one shard cuts the cluster's PITR range (§3.4)", async () => {
    const s3 = sandbox().s3;
    const port = sandbox().cluster.port;
    await createBucket(s3, "pbm-backups");
    await configureSimulator(uri(), {
      topology: {
        sharded: true,
        replsets: [
          // The config server replica set is the one the shim answers as, so its members are the shim's addresses.
          { name: "cfg", configsvr: true, members: [{ host: `127.0.0.1:${port}`, role: "P" }, { host: `127.0.0.2:${port}`, role: "S" }] },
          { name: "shard1", members: [{ host: "s1a:27018", role: "P" }, { host: "s1b:27018", role: "S" }] },
        ],
      },
    });
    await clock.set(uri(), T0);
    const t0 = T0.getTime() / 1000;
    const client = new MongoClient(uri());
    try {
      const admin = client.db("admin");
      // What `pbm config --file` and `pbm backup` would write (the real CLI cannot talk to this topology).
      const storage = { type: "s3", s3: { region: s3.region, endpointUrl: s3.endpoint, forcePathStyle: true, bucket: "pbm-backups", prefix: "cluster", credentials: { "access-key-id": s3.accessKeyId, "secret-access-key": s3.secretAccessKey } } };
      await admin.collection("pbmConfig").insertOne({ storage, pitr: { enabled: true, oplogSpanMin: 10 }, backup: { compression: "s2" }, epoch: new Timestamp({ t: t0, i: 1 }) });
      await admin.collection("pbmCmd").insertOne({ _id: new ObjectId(), cmd: "backup", backup: { type: "logical", name: "2026-06-20T10:00:00Z", compression: "s2" }, ts: Math.floor(Date.now() / 1000) } as never);
      // The agents start it at T0 (the clock stands still until they have), and it is done 60 s later.
      await eventually(async () => (await admin.collection("pbmBackups").countDocuments()) === 1);
      await clock.advance(uri(), 120);
      await clock.advance(uri(), 3600);
      const agents = await admin.collection("pbmAgents").find({}).toArray();
      expect([...new Set(agents.map((a) => a.rs))].sort()).toEqual(["cfg", "shard1"]);
      const base = await admin.collection("pbmBackups").findOne({ name: "2026-06-20T10:00:00Z" });
      expect(base).toMatchObject({ status: "done", replsets: [expect.objectContaining({ name: "cfg", iscs: true }), expect.objectContaining({ name: "shard1" })] });
      const baseLw = (base!.last_write_ts as Timestamp).getHighBits();
      const chunks = async () => admin.collection("pbmPITRChunks").find({}).toArray() as never as Promise<{ rs: string; start_ts: Timestamp; end_ts: Timestamp }[]>;
      expect(pitrRanges(await chunks(), ["cfg", "shard1"], [baseLw])).toEqual([{ range: { start: baseLw + 1, end: baseLw + 3600 } }]);

      // When shard1's agents are down longer than the oplog window
      await configureSimulator(uri(), { agentsDown: ["s1a:27018", "s1b:27018"], oplogWindowMin: 30 });
      await clock.advance(uri(), 2 * 3600);
      await configureSimulator(uri(), { agentsDown: [] });
      await clock.advance(uri(), 1800);

      // Then cfg's timeline is whole, shard1's has a gap, and the cluster's restorable range stops at the gap
      const all = await chunks();
      const cfgTl = timelines(all.filter((ch) => ch.rs === "cfg"));
      const shardTl = timelines(all.filter((ch) => ch.rs === "shard1"));
      expect(cfgTl).toHaveLength(1);
      expect(shardTl).toHaveLength(2);
      const merged = mergeTimelines([cfgTl, shardTl]);
      expect(merged).toHaveLength(2);
      expect(merged[0]).toEqual({ start: baseLw, end: shardTl[0].end });
      expect(merged[1].start).toBe(shardTl[1].start);
      expect(pitrRanges(all, ["cfg", "shard1"], [baseLw])).toEqual([
        { range: { start: baseLw + 1, end: shardTl[0].end } },
        { range: merged[1], noBaseSnapshot: true },
      ]);
    } finally {
      await client.close();
    }
  });
});
