// The simulator's injectable faults and the remaining §8 messages, as the provider meets them.
import { MongoClient, Timestamp } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { pbm } from "../../provider/pbm/commands";
import { resetVersionCache } from "../../provider/pbm/version";
import { clock, configureSimulator, pathWithSimulator } from "../../sandbox/pbm-sim/control";
import { createBucket, lastJson, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

describe("pbm simulator faults", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;
  const T0 = new Date("2026-06-20T10:00:00Z");

  beforeAll(async () => {
    process.env.PATH = pathWithSimulator(process.env.PATH);
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(uri(), T0);
    await runPbm(sandbox().cluster, ["config", "--file", "-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0") });
  });

  it("ends a backup in error with the injected message, shown by status and describe-backup", async () => {
    await configureSimulator(uri(), { faults: { failBackups: { count: 1, message: "mongodump: read tcp: connection reset by peer" } } });
    const started = lastJson((await runPbm(sandbox().cluster, ["backup", "-o", "json"])).stdout);
    await clock.advance(uri(), 30);
    const desc = lastJson((await runPbm(sandbox().cluster, ["describe-backup", started.name, "-o", "json"])).stdout);
    expect(desc).toMatchObject({ status: "error", error: "mongodump: read tcp: connection reset by peer" });
    const st = lastJson((await runPbm(sandbox().cluster, ["status", "-s", "backups", "-o", "json"])).stdout);
    expect(st.backups.snapshot[0]).toMatchObject({ status: "error", printStatus: "failed" });
    // the fault was used up: the next backup succeeds
    await runPbm(sandbox().cluster, ["backup"]);
    await clock.advance(uri(), 120);
    expect(lastJson((await runPbm(sandbox().cluster, ["list", "-o", "json"])).stdout).snapshots).toHaveLength(1);
  });

  it("reports denied storage as the agents' storage error in status", async () => {
    await configureSimulator(uri(), { faults: { storage: "denied" } });
    const st = lastJson((await runPbm(sandbox().cluster, ["status", "-s", "cluster", "-o", "json"])).stdout);
    const node = st.cluster[0].nodes[0];
    expect(node.ok).toBe(false);
    expect(node.errors[0]).toMatch(/^storage: storage check failed with: file stat: get S3 object header: https response error StatusCode: 403/);
    await configureSimulator(uri(), { faults: {} });
  });

  it("hangs the chosen command, which the provider turns into a PBMP-2005 timeout", async () => {
    await configureSimulator(uri(), { faults: { hang: { commands: ["status"], seconds: 20 } } });
    resetVersionCache();
    const err = await pbm.status({ mongodbUri: uri(), timeoutSec: 2 }).catch((e: Error) => e);
    expect((err as Error).message).toBe("[PBMP-2005] pbm status did not finish within 2s. Check `pbm status` and `pbm logs`; raise timeoutSec if the cluster is slow.");
    await configureSimulator(uri(), { faults: {} });
  });

  it("prints pbm's wait timeout, agents-later and resync-running messages (§8.15)", async () => {
    const c = sandbox().cluster;
    const waited = await runPbm(c, ["backup", "--wait", "--wait-time", "2s", "-o", "json"]);
    expect(waited.stderr).toBe("Error: Operation is in progress. Check pbm status and logs\n");
    await clock.advance(uri(), 120);
    await runPbm(c, ["config", "--set", "pitr.enabled=true"]);
    await clock.advance(uri(), 3600);
    await runPbm(c, ["backup"]); // a newer base: chunks before it are no longer needed
    await clock.advance(uri(), 120);
    const del = await runPbm(c, ["delete-pitr", "--older-than", "0d", "--yes", "-o", "json"]);
    expect(lastJson(del.stdout)).toEqual({ msg: "Processing by agents. Please check status later" });

    const client = new MongoClient(uri());
    try {
      const now = Math.floor((await clock.now(uri())).getTime() / 1000);
      await client.db("admin").collection("pbmLock").insertOne({ type: "resync", replset: "rs0", node: "mongo2:27017", opid: "aaaaaaaaaaaaaaaaaaaaaaaa", hb: new Timestamp({ t: now, i: 1 }) });
      expect((await runPbm(c, ["list", "-o", "json"])).stdout).toBe('{"msg":"Storage resync is running. Backups list will be available after sync finishes."}\n');
      expect((await runPbm(c, ["config", "--set", "pitr.enabled=true"])).stderr).toBe("Error: another operation in progress, Resync storage/aaaaaaaaaaaaaaaaaaaaaaaa [rs0/mongo2:27017]\n");
    } finally {
      await client.close();
    }
  });
});

describe("pbm simulator, sharded topology", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;

  it("intersects the shards' timelines: a gap on one shard cuts the cluster's PITR range (§3.4)", async () => {
    process.env.PATH = pathWithSimulator(process.env.PATH);
    await createBucket(sandbox().s3, "pbm-backups");
    await configureSimulator(uri(), {
      oplogWindowMin: 30,
      topology: {
        sharded: true,
        replsets: [
          { name: "cfg", configsvr: true, members: [{ host: "cfg1:27019", role: "P" }, { host: "cfg2:27019", role: "S" }] },
          { name: "shard1", members: [{ host: "s1a:27018", role: "P" }, { host: "s1b:27018", role: "S" }] },
        ],
      },
    });
    await clock.set(uri(), new Date("2026-06-20T10:00:00Z"));
    const c = sandbox().cluster;
    await runPbm(c, ["config", "--file", "-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "cluster", "pitr:\n  enabled: true\n  oplogSpanMin: 10\n") });
    await runPbm(c, ["backup"]);
    await clock.advance(uri(), 120);
    await clock.advance(uri(), 3600);
    const st = lastJson((await runPbm(c, ["status", "-s", "cluster", "-o", "json"])).stdout);
    expect(st.cluster.map((rs: { rs: string }) => rs.rs).sort()).toEqual(["cfg", "shard1"]);
    const before = lastJson((await runPbm(c, ["list", "--full", "-o", "json"])).stdout);
    expect(before.pitr.ranges).toHaveLength(1);
    expect(Object.keys(before.pitr.rsRanges).sort()).toEqual(["cfg", "shard1"]);

    // When shard1's agents are down longer than the oplog window
    await configureSimulator(uri(), { agentsDown: ["s1a:27018", "s1b:27018"] });
    await runPbm(c, ["status", "-s", "running"]);
    await clock.advance(uri(), 2 * 3600);
    await configureSimulator(uri(), { agentsDown: [] });
    await clock.advance(uri(), 1800);

    // Then cfg's timeline is whole, shard1's has a gap, and the cluster's restorable range stops at the gap
    const after = lastJson((await runPbm(c, ["list", "--full", "--unbacked", "-o", "json"])).stdout);
    expect(after.pitr.rsRanges.cfg).toHaveLength(1);
    expect(after.pitr.rsRanges.shard1).toHaveLength(2);
    expect(after.pitr.ranges).toHaveLength(2);
    expect(after.pitr.ranges[0].range.end).toBe(after.pitr.rsRanges.shard1[0].range.end);
    expect(after.pitr.ranges[1].noBaseSnapshot).toBe(true);
  });
});
