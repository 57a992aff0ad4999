// Every pbm call the provider and `pulumi-pbm` make, against each real pbm release the testbed builds
// (PULUMI_PBM_MATRIX, default "2.14.0 2.8.0 1.8.1"). One sandbox: a cluster per release, each with simulated
// agents of that release, and one MinIO.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readInventory } from "../../provider/inventory";
import { checkHealth } from "../../provider/ops/health";
import { pbm, type PbmRunOptions } from "../../provider/pbm/commands";
import { resetVersionCache } from "../../provider/pbm/version";
import { readPbmConfig, withPbmClient } from "../../provider/state/mongo";
import { configureSimulator } from "../../sandbox/pbm-sim/control";
import { pbmWrapperDir } from "../../sandbox/testbed";
import { createBucket, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

const RELEASES = (process.env.PULUMI_PBM_MATRIX ?? "2.14.0 2.8.0 1.8.1").split(/\s+/).filter(Boolean);
const rsName = (release: string) => `m${release.replace(/\./g, "")}`;
const ge = (v: string, spec: string) => {
  const a = v.split(".").map(Number);
  const b = spec.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
};

/** Polls like the provider's follow loops: pbm may not know an operation for the first second or two. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    const v = await fn().catch((err) => ((last = err), undefined));
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (last: ${last})` : ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("the provider's pbm calls on every built release", () => {
  const sandbox = useSandbox({ replSets: RELEASES.map(rsName) });

  beforeAll(async () => {
    await createBucket(sandbox().s3, "matrix");
    for (const release of RELEASES) {
      const versionPrinted = release === "1.8.1" ? "1.8.0" : release; // 1.8.1's version constant says 1.8.0
      await configureSimulator(sandbox().clusters[rsName(release)].mongodbUri, { version: versionPrinted, timings: { backupSec: 3, restoreSec: 3 } });
    }
  });

  describe.each(RELEASES)("pbm %s", (release) => {
    let o: PbmRunOptions;
    beforeAll(() => {
      resetVersionCache();
      o = { mongodbUri: sandbox().clusters[rsName(release)].mongodbUri, pbmPath: path.join(pbmWrapperDir(release, sandbox().dataDir), "pbm") };
      console.log(`version matrix: real pbm ${release} (${o.pbmPath})`);
    });

    it("reports a cluster with no config as not configured (PBMP-3003), not as an agent problem", async () => {
      const err = await readInventory(o).catch((e: Error) => e);
      expect(String(err)).toMatch(/\[PBMP-3003\]/);
      expect(String(err)).not.toMatch(/pbm-agent runs/);
    });

    it("detects the release and stores an S3 config, secrets on stdin (or a private file before 2.4)", async () => {
      const f = await pbm.version(o);
      expect(f.version).toBe(release === "1.8.1" ? "1.8.0" : release);
      await pbm.applyConfig(s3ConfigYaml(sandbox().s3, "matrix", rsName(release)), { ...o, waitSec: 60 });
      const cfg = await withPbmClient(o.mongodbUri, readPbmConfig);
      expect(cfg?.storage?.s3).toMatchObject({ bucket: "matrix", prefix: rsName(release) });
      expect(cfg?.storage?.s3?.credentials?.["secret-access-key"]).toBe(sandbox().s3.secretAccessKey);
    });

    it("sets PITR settings in one call and reads an empty inventory", async () => {
      await pbm.setConfig({ "pitr.oplogSpanMin": 5 }, o);
      const cfg = await withPbmClient(o.mongodbUri, readPbmConfig);
      expect(cfg?.pitr?.oplogSpanMin).toBe(5);
      const inv = await readInventory(o);
      expect(inv).toMatchObject({ cluster: rsName(release), snapshots: [], pitrRanges: [], latestRestorableWindow: null });
    });

    let backupName = "";
    it("takes a backup, waits for it, and sees it done in describe-backup, list and the inventory", async () => {
      const started = await pbm.backup(o, { wait: true, waitSec: 120 });
      backupName = started.name;
      expect(backupName).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(started.storagePath).toContain("matrix");
      const described = await eventually("backup done", async () => {
        const d = await pbm.describeBackup(backupName, o);
        return d.status === "done" ? d : undefined;
      });
      expect(described).toMatchObject({ name: backupName, status: "done" });
      const list = await pbm.list(o);
      expect(list.snapshots?.map((s) => s.name)).toEqual([backupName]);
      expect(list.snapshots![0].restoreTo).toBeGreaterThan(0);
      const inv = await readInventory(o);
      expect(inv.snapshots.map((s) => [s.name, s.status])).toEqual([[backupName, "done"]]);
      expect(inv.latestRestorableWindow).not.toBeNull();
    });

    it("reports the agents of every member in the health check", async () => {
      const health = await checkHealth({ ...o, maxSnapshotAgeSec: 365 * 86400 });
      expect(health.problems).toEqual([]);
      expect(health.ok).toBe(true);
    });

    it("restores the backup with the release's confirmation flag and follows it to done", async () => {
      const started = await pbm.restore(o, { backup: backupName });
      expect(started.name).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/); // pbm names a restore by its start time
      const done = await eventually("restore done", async () => {
        const d = await pbm.describeRestore(started.name, o);
        return d.status === "done" || d.status === "error" ? d : undefined;
      });
      expect(done).toMatchObject({ status: "done" });
    });

    it("names pbm's refusal without agent advice for a backup that does not exist", async () => {
      const err = (await pbm.describeBackup("2001-01-01T00:00:00Z", o).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/^\[PBMP-2001\] pbm /);
      expect(err.message).not.toMatch(/pbm-agent runs/);
    });

    it("resyncs the storage and deletes the backup with the release's confirmation flag", async () => {
      await pbm.forceResync({ ...o, waitSec: 60 });
      await pbm.deleteBackup(backupName, o);
      const list = await eventually("backup deleted", async () => {
        const l = await pbm.list(o);
        return (l.snapshots ?? []).length === 0 ? l : undefined;
      });
      expect(list.snapshots ?? []).toEqual([]);
    });

    // Storage profiles exist from 2.6 on.
    if (ge(release, "2.6.0")) it("adds and removes a storage profile, its secrets in a private file", async () => {
      const yaml = s3ConfigYaml(sandbox().s3, "matrix", `${rsName(release)}-profile`);
      await pbm.addProfile("archive", yaml, o);
      const profile = await withPbmClient(o.mongodbUri, (admin) => admin.collection("pbmConfig").findOne({ name: "archive", profile: true }));
      expect(profile?.storage?.s3?.prefix).toBe(`${rsName(release)}-profile`);
      await pbm.removeProfile("archive", o);
    });
  });

  it("rejects a pbm older than 1.6.0 with PBMP-2003 (a stand-in prints 1.5.0's version: no release before 1.8.1 builds here)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pbm-1.5-"));
    const fake = path.join(dir, "pbm");
    writeFileSync(fake, `#!/bin/sh\necho '{"Version":"1.5.0"}'\n`);
    chmodSync(fake, 0o755);
    resetVersionCache();
    await expect(pbm.status({ mongodbUri: sandbox().cluster.mongodbUri, pbmPath: fake })).rejects.toThrow(
      "[PBMP-2003] pbm 1.5.0 is older than 1.6.0, the first release with JSON output. Install pbm 1.6.0 or newer on the machine that runs pulumi.",
    );
  });
});
