// provider/pbm, provider/state and the inventory readers against the pbm simulator, FerretDB and MinIO.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readInventory } from "../../provider/inventory";
import { readInventoryFromStorage } from "../../provider/ops/storageInventory";
import { pbm } from "../../provider/pbm/commands";
import { resetVersionCache } from "../../provider/pbm/version";
import { probeBucket } from "../../provider/state/s3";
import { clock, pathWithSimulator, readRecord } from "../../sandbox/pbm-sim/control";
import { createBucket, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

describe("provider/pbm against the simulator", () => {
  const sandbox = useSandbox();
  const o = () => ({ mongodbUri: sandbox().cluster.mongodbUri });
  let record: string;

  beforeAll(async () => {
    process.env.PATH = pathWithSimulator(process.env.PATH);
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(o().mongodbUri, new Date("2026-06-20T10:00:00Z"));
    await runPbm(sandbox().cluster, ["config", "--file", "-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0") });
  });
  beforeEach(() => {
    resetVersionCache();
    record = path.join(mkdtempSync(path.join(tmpdir(), "adapter-")), "calls.jsonl");
    process.env.PBM_SIM_RECORD = record;
    delete process.env.PBM_SIM_VERSION;
  });

  it("detects the pbm version once per URI and process, and passes the URI only in the environment", async () => {
    await pbm.status(o());
    await pbm.list(o());
    await pbm.setConfig({ "pitr.oplogSpanMin": 5 }, o());
    const calls = readRecord(record);
    expect(calls.map((c) => c.argv[0])).toEqual(["version", "status", "list", "config"]);
    expect(calls.every((c) => c.argv.includes("--out=json") && c.env.includes("PBM_MONGODB_URI"))).toBe(true);
    expect(JSON.stringify(calls)).not.toContain(o().mongodbUri);
  });

  it("fails with PBMP-2003 when pbm is older than 1.6.0", async () => {
    process.env.PBM_SIM_VERSION = "1.5.0";
    await expect(pbm.status(o())).rejects.toThrow("[PBMP-2003] pbm 1.5.0 is older than 1.6.0, the first release with JSON output. Install pbm 1.6.0 or newer on the machine that runs pulumi.");
  });

  it("reports pbm's error the same way whether pbm prints it on stderr (2.15) or as JSON on stdout (2.8)", async () => {
    for (const version of ["2.15.0", "2.8.0"]) {
      resetVersionCache();
      process.env.PBM_SIM_VERSION = version;
      await expect(pbm.describeBackup("nope", o())).rejects.toThrow(
        "[PBMP-2001] pbm describe-backup nope exited with code 1: get backup meta: get backup meta: not found. Check that pbm-agent runs on every member (`pbm status`), then rerun.",
      );
    }
  });

  it("normalises 1.8's completeTS and 2.12's backup storage field", async () => {
    process.env.PBM_SIM_VERSION = "2.12.0";
    const started = await pbm.backup(o(), {});
    expect(started).toEqual({ name: "2026-06-20T10:00:00Z", storagePath: "s3://pbm-backups/rs0" });
    await clock.advance(o().mongodbUri, 120);
    resetVersionCache();
    process.env.PBM_SIM_VERSION = "1.8.1";
    const list = await pbm.list(o());
    expect(list.snapshots?.[0]).toMatchObject({ name: "2026-06-20T10:00:00Z", status: "done", restoreTo: expect.any(Number) });
    expect(list.snapshots![0].restoreTo).toBeGreaterThan(0);
  });

  it("uses --yes for restore only where pbm has it (2.14+)", async () => {
    for (const [version, hasYes] of [["2.15.0", true], ["2.8.0", false]] as const) {
      resetVersionCache();
      process.env.PBM_SIM_VERSION = version;
      await clock.advance(o().mongodbUri, 120);
      await pbm.restore(o(), { backup: "2026-06-20T10:00:00Z" });
      const restoreCall = readRecord(record).filter((c) => c.argv[0] === "restore").pop()!;
      expect(restoreCall.argv.includes("--yes")).toBe(hasYes);
      expect(restoreCall.exitCode).toBe(0);
    }
  });

  it("never shows the password of an unreachable cluster in the error", async () => {
    const dead = "mongodb://pbm:hunter2-secret@127.0.0.1:1/?serverSelectionTimeoutMS=300";
    const err = await pbm.status({ mongodbUri: dead }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^\[PBMP-2001\] pbm status exited with code 1: connect to mongodb: /);
    expect((err as Error).message).not.toContain("hunter2-secret");
  });

  it("reads the same snapshots and ranges from the bucket as from the cluster", async () => {
    await runPbm(sandbox().cluster, ["config", "--set", "pitr.enabled=true"]);
    await clock.advance(o().mongodbUri, 1800);
    const live = await readInventory(o());
    const s3 = sandbox().s3;
    const stored = await readInventoryFromStorage({ bucket: "pbm-backups", prefix: "rs0", endpointUrl: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    expect(stored.snapshots.map((s) => [s.name, s.restoreToTime])).toEqual(live.snapshots.filter((s) => s.status === "done").map((s) => [s.name, s.restoreToTime]));
    expect(stored.pitrRanges).toEqual(live.pitrRanges);
    expect(stored.restorableWindow).toEqual(live.restorableWindow);
  });
});

describe("probeBucket", () => {
  const sandbox = useSandbox();
  beforeAll(async () => createBucket(sandbox().s3, "probe-me"));

  it("passes for a bucket the keys can write, leaving no marker behind", async () => {
    const s3 = sandbox().s3;
    await probeBucket({ bucket: "probe-me", endpointUrl: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, "BackupLocation s3://probe-me");
  });

  it("fails with an S3-specific message for a missing bucket, a wrong secret, or an unreachable endpoint", async () => {
    const s3 = sandbox().s3;
    const base = { endpointUrl: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    await expect(probeBucket({ ...base, bucket: "no-such-bucket" }, "BackupLocation s3://no-such-bucket")).rejects.toThrow(/^\[PBMP-3002\] BackupLocation s3:\/\/no-such-bucket: bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+ is not usable \(HeadBucket failed\): the bucket does not exist/);
    const wrong = await probeBucket({ ...base, bucket: "probe-me", secretAccessKey: "not-the-secret-key" }, "loc").catch((e: Error) => e.message);
    expect(wrong).toMatch(/is not usable \(HeadBucket failed\): (access denied|the secret access key is wrong)/);
    expect(wrong).not.toContain("not-the-secret-key");
    await expect(probeBucket({ ...base, bucket: "probe-me", endpointUrl: "http://127.0.0.1:1" }, "loc")).rejects.toThrow(/the endpoint is unreachable/);
  });
});
