// Conformance of the pbm simulator with ../shared/reference/pbm.md: JSON shapes, strings, streams and exit
// codes per release, state in pbm's collections, artifacts in pbm's S3 layout, PITR timelines.
import { MongoClient } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { clock, configureSimulator, readRecord } from "../../sandbox/pbm-sim/control";
import { createBucket, lastJson, listKeys, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const T0 = new Date("2026-06-20T10:00:00Z");

describe("pbm simulator, unconfigured cluster (2.15)", () => {
  const sandbox = useSandbox();
  beforeAll(async () => clock.set(sandbox().cluster.mongodbUri, T0));

  it("prints pbm's two-line message on stderr and exits 1 when no URI is given (§8.1)", async () => {
    const r = await runPbm(undefined, ["status", "-o", "json"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "Error: no MongoDB connection URI supplied\n       Usual practice is the set it by the PBM_MONGODB_URI environment variable. It can also be set with commandline argument --mongodb-uri.\n",
    );
  });

  it("reports a connection failure as JSON on stdout in JSON mode and as text on stderr otherwise (§8.2)", async () => {
    const dead = { replSetName: "rs0", port: 1, mongodbUri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500" };
    const json = await runPbm(dead, ["list", "-o", "json"]);
    expect(json.exitCode).toBe(1);
    expect(lastJson(json.stdout).Error).toMatch(/^connect to mongodb: create mongo connection: ping: server selection error: /);
    const text = await runPbm(dead, ["list"]);
    expect(text.stdout).toBe("");
    expect(text.stderr).toMatch(/^Error: connect to mongodb: create mongo connection: ping: /);
  });

  it("fails config listing and status with pbm's no-document errors before any config (§8.3, §8.4)", async () => {
    const c = sandbox().cluster;
    expect((await runPbm(c, ["config", "-o", "json"])).stderr).toBe("Error: get: mongo: no documents in result\n");
    const st = await runPbm(c, ["status", "-o", "json"]);
    expect(st).toMatchObject({ exitCode: 1, stdout: "" });
    expect(st.stderr).toBe("Error: get status of cluster: get cluster status: get config: get: mongo: no documents in result\n");
  });

  it("refuses a backup with pbm's message when there is no config, and when agents are missing (§8.5, §8.6)", async () => {
    const c = sandbox().cluster;
    expect((await runPbm(c, ["backup", "-o", "json"])).stderr).toBe("Error: no config set. Set config with <pbm config>\n");
    expect((await runPbm(c, ["backup", "-o", "json"], { version: "2.5.0" })).stdout).toBe(
      '{"Error":"no store set. Set remote store with \\u003cpbm store set\\u003e"}\n',
    );
    await configureSimulator(c.mongodbUri, { agentsDown: ["*"] });
    await runPbm(c, ["status", "-s", "running"]); // the agents' documents go away
    expect((await runPbm(c, ["backup", "-o", "json"])).stderr).toBe("Error: backup pre-check: no available agent(s) on replsets: rs0\n");
    await configureSimulator(c.mongodbUri, { agentsDown: [] });
  });

  it("rejects an unknown config key with yaml.v2's strict-decoding text and line number (§8.13)", async () => {
    const c = sandbox().cluster;
    const r = await runPbm(c, ["config", "--file", "-", "-o", "json"], { stdin: "storage:\n  type: s3\n  s3:\n    regoin: x\n" });
    expect(r.stderr).toBe("Error: unable to get new config: decode: yaml: unmarshal errors:\n  line 4: field regoin not found in type s3.Config\n");
    const missing = await runPbm(c, ["config", "--file", "-"], { stdin: "storage:\n  type: s3\n" });
    expect(missing.stderr).toBe("Error: unable to get new config: storage cast: missing S3 configuration with S3 storage type\n");
    const badBool = await runPbm(c, ["config", "--file", "-"], { stdin: "pitr:\n  enabled: 'yes'\n" });
    expect(badBool.stderr).toBe("Error: unable to get new config: decode: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `yes` into bool\n");
  });

  it("prints pbm's version JSON without touching the database", async () => {
    const r = await runPbm(undefined, ["version", "--short", "-o", "json"], { version: "2.8.0" });
    expect(r).toEqual({ stdout: '{"Version":"2.8.0"}\n', stderr: "", exitCode: 0 });
    // global flags may come before the command, as with cobra and kingpin
    expect((await runPbm(undefined, ["-o", "json", "version", "--short"])).stdout).toBe('{"Version":"2.15.0"}\n');
    const full = lastJson((await runPbm(undefined, ["version", "-o", "json"])).stdout);
    expect(Object.keys(full)).toEqual(["Version", "Platform", "GitCommit", "GitBranch", "BuildTime", "GoVersion"]);
  });
});

describe("pbm simulator, configured cluster", () => {
  const sandbox = useSandbox({ replSets: ["rs0"] });
  const uri = () => sandbox().cluster.mongodbUri;
  let recordFile: string;

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(uri(), T0);
    recordFile = path.join(mkdtempSync(path.join(tmpdir(), "pbm-record-")), "calls.jsonl");
  });

  it("applies a config from stdin, masks secrets in 2.15 JSON and writes .pbm.init to the bucket", async () => {
    const s3 = sandbox().s3;
    const r = await runPbm(sandbox().cluster, ["config", "--file", "-", "-o", "json"], {
      stdin: s3ConfigYaml(s3, "pbm-backups", "rs0"),
      env: { PBM_SIM_RECORD: recordFile },
    });
    expect(r.exitCode).toBe(0);
    const shown = lastJson(r.stdout);
    expect(shown.storage.s3.credentials).toEqual({ "access-key-id": "***", "secret-access-key": "***" });
    expect(shown.storage.s3).toMatchObject({ region: "us-east-1", forcePathStyle: true, maxUploadParts: 10000, storageClass: "STANDARD" });
    expect(shown.pitr).toBeUndefined(); // sections absent from the file stay absent
    expect(await listKeys(s3, "pbm-backups", "rs0/")).toContain("rs0/.pbm.init");

    const listed = lastJson((await runPbm(sandbox().cluster, ["config", "-o", "json"])).stdout);
    expect(listed.pitr).toEqual({ enabled: false, compression: "s2" });
    expect(listed.backup).toEqual({ oplogSpanMin: 0, compression: "s2" });
    expect(listed.restore).toEqual({});
    expect(JSON.stringify(listed)).not.toContain(s3.secretAccessKey);
    // 2.12 and older omit the credentials object from JSON
    const old = lastJson((await runPbm(sandbox().cluster, ["config", "-o", "json"], { version: "2.12.0" })).stdout);
    expect(old.storage.s3.credentials).toBeUndefined();
    // the single-key form returns the clear text, as real pbm does
    const key = lastJson((await runPbm(sandbox().cluster, ["config", "storage.s3.credentials.secret-access-key", "-o", "json"])).stdout);
    expect(key).toEqual({ key: "storage.s3.credentials.secret-access-key", value: s3.secretAccessKey });
  });

  it("records argv, env names and stdin use without secrets when asked to", async () => {
    const calls = readRecord(recordFile);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ argv: ["config", "--file", "-", "-o", "json"], stdin: true, exitCode: 0 });
    expect(calls[0].env).toContain("PBM_MONGODB_URI");
    expect(JSON.stringify(calls)).not.toContain(sandbox().s3.secretAccessKey);
  });

  it("sets keys with pbm's echo and errors for bad keys and values", async () => {
    const c = sandbox().cluster;
    expect(lastJson((await runPbm(c, ["config", "--set", "pitr.oplogSpanMin=5", "-o", "json"])).stdout)).toEqual([{ key: "pitr.oplogSpanMin", value: "5" }]);
    expect((await runPbm(c, ["config", "--set", "foo.bar=1"])).stderr).toBe("Error: set foo.bar: invalid config key\n");
    expect((await runPbm(c, ["config", "--set", "pitr.enabled=yes"])).stderr).toBe(
      'Error: set pitr.enabled: casting value of pitr.enabled: strconv.ParseBool: parsing "yes": invalid syntax\n',
    );
    expect((await runPbm(c, ["config", "--set", "pitr.compression=xz"])).stderr).toBe('Error: set pitr.compression: unsupported compression type: "xz"\n');
    // ≤ 2.8 prints command errors as JSON on stdout
    const old = await runPbm(c, ["config", "--set", "foo.bar=1", "-o", "json"], { version: "2.8.0" });
    expect(old).toMatchObject({ exitCode: 1, stdout: '{"Error":"set foo.bar: invalid config key"}\n', stderr: "" });
  });

  it("reports PITR's catch-up error in status while no base snapshot exists (§3.1, §8.10)", async () => {
    const c = sandbox().cluster;
    await runPbm(c, ["config", "--set", "pitr.enabled=true"]);
    const st = lastJson((await runPbm(c, ["status", "-s", "pitr", "-o", "json"])).stdout);
    expect(st.pitr).toMatchObject({ conf: true, run: false, nodes: null });
    expect(st.pitr.error).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000 E \[rs0\/mongo2:27017\] \[pitr\] init: catchup: get last backup: no backup found\. full backup is required to start PITR$/);
    expect((await runPbm(c, ["restore", "--time", "2026-06-20T10:00:00", "--yes"])).stderr).toBe("Error: no base snapshot found\n");
  });

  it("runs a backup through pbm's statuses over simulated time and writes pbm's S3 layout", async () => {
    const c = sandbox().cluster;
    const r = await runPbm(c, ["backup", "--compression", "s2", "-o", "json"]);
    expect(lastJson(r.stdout)).toEqual({ name: "2026-06-20T10:00:00Z", storagePath: "s3://pbm-backups/rs0" });
    // ≤ 2.8 prints the concurrent-operation error as its own JSON object on stdout
    const old = lastJson((await runPbm(c, ["backup", "-o", "json"], { version: "2.8.0" })).stdout);
    expect(old).toEqual({ error: "another operation in progress", operation: { node: "mongo2:27017", opid: expect.stringMatching(/^[0-9a-f]{24}$/), replset: "rs0", type: "backup" } });
    const busy = await runPbm(c, ["backup"]);
    expect(busy.stderr).toMatch(/^Error: another operation in progress, Snapshot backup\/[0-9a-f]{24} \[rs0\/mongo2:27017\]\n$/);
    const running = lastJson((await runPbm(c, ["status", "-o", "json"])).stdout);
    expect(running.running).toMatchObject({ type: "backup", name: "2026-06-20T10:00:00Z", status: "snapshot backup" });
    expect(running.backups.snapshot[0]).toMatchObject({ status: "running", printStatus: "ongoing" });
    expect(lastJson((await runPbm(c, ["list", "-o", "json"])).stdout).snapshots).toBeNull(); // list shows done backups only

    await clock.advance(uri(), 120);
    const list = lastJson((await runPbm(c, ["list", "-o", "json"])).stdout);
    expect(list.snapshots).toHaveLength(1);
    expect(Object.keys(list.snapshots[0])).toEqual(["name", "status", "printStatus", "restoreTo", "pbmVersion", "type", "src"]);
    const keys = await listKeys(sandbox().s3, "pbm-backups", "rs0/");
    expect(keys).toContain("rs0/2026-06-20T10:00:00Z.pbm.json");
    expect(keys).toContain("rs0/2026-06-20T10:00:00Z/rs0/meta.pbm");
    expect(keys.some((k) => /^rs0\/2026-06-20T10:00:00Z\/rs0\/oplog\/\d{14}-1\.\d{14}-1\.s2$/.test(k))).toBe(true);
    const desc = lastJson((await runPbm(c, ["describe-backup", "2026-06-20T10:00:00Z", "-o", "json"])).stdout);
    expect(desc).toMatchObject({ name: "2026-06-20T10:00:00Z", type: "logical", status: "done", storage_type: "s3" });
    expect(desc.last_write_ts).toBe(list.snapshots[0].restoreTo);
  });

  it("slices PITR chunks every oplogSpanMin after the base and shows ranges split at the base (§3.4)", async () => {
    const c = sandbox().cluster;
    await clock.advance(uri(), 3600);
    const list = lastJson((await runPbm(c, ["list", "-o", "json"])).stdout);
    const base = list.snapshots[0].restoreTo;
    expect(list.pitr.on).toBe(true);
    expect(list.pitr.ranges).toHaveLength(1);
    expect(list.pitr.ranges[0].range.start).toBe(base + 1);
    const chunks = (await listKeys(sandbox().s3, "pbm-backups", "rs0/pbmPitr/rs0/")).filter((k) => k.endsWith(".oplog.s2"));
    expect(chunks.length).toBe(12); // 60 minutes / 5-minute span
    expect(chunks[0]).toMatch(/^rs0\/pbmPitr\/rs0\/20260620\/\d{14}-1\.\d{14}-1\.oplog\.s2$/);
    const st = lastJson((await runPbm(c, ["status", "-s", "pitr", "-o", "json"])).stdout);
    expect(st.pitr).toEqual({ conf: true, run: true, nodes: ["rs0/mongo2:27017"] });
  });

  it("resumes slicing after a long outage with a gap, hiding unbacked parts unless --unbacked (§3.4)", async () => {
    const c = sandbox().cluster;
    await configureSimulator(uri(), { agentsDown: ["*"], oplogWindowMin: 30 });
    await runPbm(c, ["status", "-s", "running"]);
    await clock.advance(uri(), 2 * 3600);
    await configureSimulator(uri(), { agentsDown: [] });
    await clock.advance(uri(), 1800);
    const list = lastJson((await runPbm(c, ["list", "-o", "json"])).stdout);
    expect(list.pitr.ranges).toHaveLength(1); // the range after the gap has no base yet
    const unbacked = lastJson((await runPbm(c, ["list", "--unbacked", "-o", "json"])).stdout).pitr.ranges;
    expect(unbacked).toHaveLength(2);
    expect(unbacked[1].noBaseSnapshot).toBe(true);
    expect(unbacked[1].range.start).toBeGreaterThan(unbacked[0].range.end);

    // A new base inside the second timeline splits it (restorable from the base's last write + 1)
    await runPbm(c, ["backup"]);
    await clock.advance(uri(), 1800);
    const after = lastJson((await runPbm(c, ["list", "--unbacked", "-o", "json"])).stdout);
    const lw = after.snapshots[1].restoreTo;
    expect(after.pitr.ranges.map((r: { noBaseSnapshot?: boolean }) => !!r.noBaseSnapshot)).toEqual([false, true, false]);
    expect(after.pitr.ranges[1].range.end).toBe(lw);
    expect(after.pitr.ranges[2].range.start).toBe(lw + 1);
  });

  it("restores to a time inside a range and fails with pbm's texts outside it (§3.5, §8.9)", async () => {
    const c = sandbox().cluster;
    const ranges = lastJson((await runPbm(c, ["list", "-o", "json"])).stdout).pitr.ranges;
    const inside = new Date((ranges[0].range.start + 600) * 1000).toISOString().slice(0, 19);
    expect((await runPbm(c, ["restore", "--time", inside, "-o", "json"])).stderr).toBe("Error: no tty\n");
    const ok = lastJson((await runPbm(c, ["restore", "--time", inside, "--yes", "-o", "json"])).stdout);
    expect(Object.keys(ok)).toEqual(["name"]);
    await clock.advance(uri(), 120);
    const done = lastJson((await runPbm(c, ["describe-restore", ok.name, "-o", "json"])).stdout);
    expect(done).toMatchObject({ name: ok.name, status: "done", ts_to_restore: ranges[0].range.start + 600 });

    const beyond = new Date((ranges[ranges.length - 1].range.end + 3600 * 24) * 1000).toISOString().slice(0, 19);
    const failed = lastJson((await runPbm(c, ["restore", "--time", beyond, "--yes", "-o", "json"])).stdout);
    await clock.advance(uri(), 10);
    const meta = lastJson((await runPbm(c, ["describe-restore", failed.name, "-o", "json"])).stdout);
    expect(meta.status).toBe("error");
    expect(meta.error).toMatch(/^no chunk with the target time, the last chunk ends on \{\d+ 1\}$/);
    // the restore turned PITR off, as pbm's leader does
    expect(lastJson((await runPbm(c, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("false");
  });

  it("names unknown backups with pbm's texts (§8.11)", async () => {
    const c = sandbox().cluster;
    expect((await runPbm(c, ["restore", "nope", "--yes"])).stderr).toBe("Error: backup 'nope' not found\n");
    expect((await runPbm(c, ["describe-backup", "nope"])).stderr).toBe("Error: get backup meta: get backup meta: not found\n");
    expect((await runPbm(c, ["delete-backup", "nope", "--yes"])).stderr).toBe("Error: get backup metadata: get backup meta: not found\n");
  });

  it("keeps 1.8's completeTS and 2.8's storage field shapes", async () => {
    const c = sandbox().cluster;
    const v18 = lastJson((await runPbm(c, ["list", "-o", "json"], { version: "1.8.1" })).stdout);
    expect(Object.keys(v18.snapshots[0])).toEqual(["name", "status", "completeTS", "pbmVersion", "type"]);
    const v28 = lastJson((await runPbm(c, ["status", "-s", "cluster", "-o", "json"], { version: "2.5.0" })).stdout);
    expect(v28.cluster[0].nodes[0]).toEqual({ host: "rs0/mongo1:27017", agent: "v2.5.0", role: "P", ok: true });
    expect((await runPbm(c, ["restore", "x", "--yes"], { version: "2.8.0" })).stderr).toBe("Error: parse command line parameters: unknown long flag '--yes'\n");
    expect((await runPbm(c, ["restore", "x", "--yes"], { version: "2.12.0" })).stderr).toBe("Error: unknown flag: --yes\n");
  });

  it("deletes a backup only with --yes without a TTY and prints the list afterwards (§1.2, §8.12)", async () => {
    const c = sandbox().cluster;
    await runPbm(c, ["config", "--set", "pitr.enabled=false"]);
    expect((await runPbm(c, ["delete-backup", "2026-06-20T10:00:00Z"])).stderr).toBe("Error: no tty\n");
    const r = await runPbm(c, ["delete-backup", "2026-06-20T10:00:00Z", "--yes", "-o", "json"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Snapshots:\n/);
    const after = lastJson(r.stdout);
    expect(after.snapshots.map((s: { name: string }) => s.name)).not.toContain("2026-06-20T10:00:00Z");
    const keys = await listKeys(sandbox().s3, "pbm-backups", "rs0/2026-06-20T10:00:00Z");
    expect(keys).toEqual([]);
  });

  it("prints pbm's JSON messages for cancel, resync and empty deletes (§8.15)", async () => {
    const c = sandbox().cluster;
    expect((await runPbm(c, ["cancel-backup", "-o", "json"])).stdout).toBe('{"msg":"Backup cancellation has started"}\n');
    expect((await runPbm(c, ["config", "--force-resync", "-o", "json"])).stdout).toBe('{"msg":"Storage resync started"}\n');
    expect((await runPbm(c, ["delete-pitr", "--older-than", "2000-01-01", "--yes", "-o", "json"])).stdout).toBe('{"msg":"nothing to delete"}\n');
  });

  it("keeps state consistent when two processes back up and change config at once", async () => {
    const c = sandbox().cluster;
    await clock.advance(uri(), 600);
    const results = await Promise.all([
      runPbm(c, ["backup", "-o", "json"]),
      runPbm(c, ["backup", "-o", "json"]),
      runPbm(c, ["config", "--set", "pitr.oplogSpanMin=7", "-o", "json"]),
      runPbm(c, ["config", "--set", "backup.compression=zstd", "-o", "json"]),
    ]);
    const [b1, b2, s1, s2] = results;
    // In the same second both CLIs name the backup alike and follow the one that got pbm's lock, as real
    // pbm does; any failure must be pbm's lock error, never a broken state.
    for (const b of [b1, b2]) if (b.exitCode !== 0) expect(b.stderr).toMatch(/^Error: another operation in progress, Snapshot backup\//);
    expect(b1.exitCode === 0 || b2.exitCode === 0).toBe(true);
    // pbm's `config --set` refuses while a backup holds the lock; otherwise it applies.
    for (const r of [s1, s2]) if (r.exitCode !== 0) expect(r.stderr).toMatch(/^Error: another operation in progress, Snapshot backup\//);
    const client = new MongoClient(uri());
    try {
      const admin = client.db("admin");
      expect(await admin.collection("pbmLock").countDocuments({ type: "backup" })).toBe(1);
      expect(await admin.collection("pbmBackups").countDocuments({ status: { $in: ["starting", "running", "dumpDone"] } })).toBe(1);
      const cfg = await admin.collection("pbmConfig").findOne({ profile: null });
      if (s1.exitCode === 0) expect(cfg?.pitr.oplogSpanMin).toBe(7);
      if (s2.exitCode === 0) expect(cfg?.backup.compression).toBe("zstd");
      expect(cfg?.storage.s3.bucket).toBe("pbm-backups"); // the document survived intact
    } finally {
      await client.close();
    }
  });
});
