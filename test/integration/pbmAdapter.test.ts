// provider/pbm, provider/state and the inventory readers against the real pbm CLI, the simulated agents,
// FerretDB and MinIO.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readInventory } from "../../provider/inventory";
import { withMadeUpCredentials } from "../helpers/secrets";
import { readInventoryFromStorage } from "../../provider/ops/storageInventory";
import { pbm } from "../../provider/pbm/commands";
import { resetVersionCache } from "../../provider/pbm/version";
import { probeBucket } from "../../provider/state/s3";
import { clock, configureSimulator } from "../../sandbox/pbm-sim/control";
import { pbmWrapperDir, readPbmCalls, toolBinDir } from "../../sandbox/testbed";
import { createBucket, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

describe("provider/pbm against the real pbm CLI", () => {
  const sandbox = useSandbox();
  const o = () => ({ mongodbUri: sandbox().cluster.mongodbUri });
  let record: string;

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await configureSimulator(o().mongodbUri, { timings: { backupSec: 3, restoreSec: 3 } });
    await runPbm(sandbox().cluster, ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0") });
  });
  beforeEach(() => {
    resetVersionCache();
    record = path.join(mkdtempSync(path.join(tmpdir(), "adapter-")), "calls.jsonl");
    process.env.PBM_RECORD = record;
  });
  afterEach(() => {
    delete process.env.PBM_RECORD;
  });

  it("detects the pbm version once per URI and process, and passes the URI only in the environment", async () => {
    await pbm.status(o());
    await pbm.list(o());
    await pbm.setConfig({ "pitr.oplogSpanMin": 5 }, o());
    const calls = readPbmCalls(record);
    expect(calls.map((c) => c.argv[0])).toEqual(["version", "status", "list", "config"]);
    expect(calls.every((c) => c.argv.includes("--out=json") && c.env.includes("PBM_MONGODB_URI"))).toBe(true);
    expect(JSON.stringify(calls)).not.toContain(o().mongodbUri);
  });

  it("passes the config's secrets on stdin, never in argv", async () => {
    await pbm.applyConfig(s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0"), { ...o(), waitSec: 60 });
    const calls = readPbmCalls(record);
    expect(calls.map((c) => c.argv.slice(0, 2))).toContainEqual(["config", "--file=-"]);
    expect(JSON.stringify(calls)).not.toContain(sandbox().s3.secretAccessKey);
  });

  it("uses --yes for restore only where pbm has it (2.14+)", async () => {
    const started = await pbm.backup(o(), { wait: true, waitSec: 60 });
    for (const release of ["2.14.0", "2.8.0"]) {
      resetVersionCache();
      const pbmPath = path.join(pbmWrapperDir(release, sandbox().dataDir), "pbm");
      await configureSimulator(o().mongodbUri, { version: release });
      const restore = await pbm.restore({ ...o(), pbmPath }, { backup: started.name });
      await waitUntilDone(() => pbm.describeRestore(restore.name, { ...o(), pbmPath }));
      const restoreCall = readPbmCalls(record).filter((c) => c.argv[0] === "restore").pop()!;
      expect(restoreCall.argv.includes("--yes")).toBe(release === "2.14.0");
      expect(restoreCall.exitCode).toBe(0);
    }
    await configureSimulator(o().mongodbUri, { version: sandbox().pbmRelease });
  });

  it("never shows the password of an unreachable cluster in the error", async () => {
    const { uri: dead, password } = withMadeUpCredentials("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300");
    const err = await pbm.status({ mongodbUri: dead }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^\[PBMP-3001\] pbm status exited with code 1: connect to mongodb: /);
    expect((err as Error).message).not.toContain(password);
  });

  it("names AWS_CA_BUNDLE when it keeps the real pbm from reaching the storage", async () => {
    // The sandbox's wrapper drops the variable; the bare binary sees what a user's environment holds.
    const bare = path.join(toolBinDir(`pbm-${sandbox().pbmRelease}`), "pbm");
    const saved = process.env.AWS_CA_BUNDLE;
    process.env.AWS_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
    try {
      const err = (await readInventory({ ...o(), pbmPath: bare }).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/^\[PBMP-2001\] pbm status -s backups -s pitr exited with code 1: .*unable to add custom RootCAs/);
      expect(err.message).toMatch(/AWS_CA_BUNDLE environment variable; unset it/);
    } finally {
      if (saved === undefined) delete process.env.AWS_CA_BUNDLE;
      else process.env.AWS_CA_BUNDLE = saved;
    }
  });

  it("reads the same snapshots and ranges from the bucket as from the cluster", async () => {
    // a base taken after the restores above (pbm resumes PITR only from such a backup)
    await pbm.backup(o(), { wait: true, waitSec: 60 });
    await runPbm(sandbox().cluster, ["config", "--set", "pitr.enabled=true"]);
    await clock.advance(o().mongodbUri, 1800);
    const live = await readInventory(o());
    const s3 = sandbox().s3;
    const stored = await readInventoryFromStorage({ bucket: "pbm-backups", prefix: "rs0", endpointUrl: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    expect(live.pitrRanges.length).toBeGreaterThan(0);
    expect(stored.snapshots.map((s) => [s.name, s.restoreToTime])).toEqual(live.snapshots.filter((s) => s.status === "done").map((s) => [s.name, s.restoreToTime]));
    expect(stored.pitrRanges).toEqual(live.pitrRanges);
    expect(stored.latestRestorableWindow).toEqual(live.latestRestorableWindow);
  });
});

async function waitUntilDone(describe: () => Promise<{ status: string }>): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const d = await describe().catch(() => undefined);
    if (d?.status === "done") return;
    if (d?.status === "error" || Date.now() > deadline) throw new Error(`restore ended ${d?.status ?? "unknown"}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}


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
