// Resource handlers as plain functions against FerretDB, MinIO, the real pbm CLI and the simulated agents.
import { beforeAll, describe, expect, it } from "vitest";
import { backupLocation, pitrPolicy, scheduledBackup } from "../../provider";
import { pbm } from "../../provider/pbm/commands";
import { clock } from "../../sandbox/pbm-sim/control";
import { createBucket, lastJson, locationInputs, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

describe("resource handlers", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;
  const location = () => locationInputs(sandbox().s3, uri(), "moved");

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(uri(), new Date("2026-06-20T10:00:00Z"));
    // Given a cluster that pbm already knows, with PITR settings of its own
    await runPbm(sandbox().cluster, ["config", "--file=-"], {
      stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0", "pitr:\n  enabled: false\n  oplogSpanMin: 7\nbackup:\n  compression: zstd\n"),
    });
  });

  it("BackupLocation.create adopts the existing config, reports what it changed, and keeps pitr and backup settings", async () => {
    const { id, outs } = await backupLocation.create(location() as never);
    expect(id).toBe("rs0/main");
    expect(outs.adoptedChanges).toEqual(['storage.s3.prefix: "rs0" -> "moved"']);
    const cfg = lastJson((await runPbm(sandbox().cluster, ["config", "-o", "json"])).stdout);
    expect(cfg.storage.s3.prefix).toBe("moved");
    expect(cfg.pitr).toMatchObject({ enabled: false, oplogSpanMin: 7 });
    expect(cfg.backup.compression).toBe("zstd");
  });

  it("BackupLocation.create fails with an S3 message naming the location and cluster, before pbm is touched, for a wrong key", async () => {
    const before = lastJson((await runPbm(sandbox().cluster, ["config", "-o", "json"])).stdout);
    const bad = { ...location(), prefix: "wrong-key", credentials: { accessKeyId: sandbox().s3.accessKeyId, secretAccessKey: "definitely-not-it" } };
    const msg = await backupLocation.create(bad as never).catch((e: Error) => e.message);
    expect(msg).toMatch(/^\[PBMP-3002\] BackupLocation s3:\/\/pbm-backups\/wrong-key for cluster "rs0": bucket "pbm-backups" at http:\/\/127\.0\.0\.1:\d+ is not usable \(HeadBucket failed\): access denied \(HTTP 403\)\. Check credentials/);
    expect(msg).not.toContain("definitely-not-it");
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "-o", "json"])).stdout)).toEqual(before);
  });

  it("BackupLocation.read reports the live storage so refresh sees drift", async () => {
    await runPbm(sandbox().cluster, ["config", "--set", "storage.s3.prefix=elsewhere"]);
    const r = await backupLocation.read("rs0/main", { ...location(), cluster: "rs0", storagePath: "s3://pbm-backups/moved", adoptedChanges: [] } as never);
    expect(r.inputs).toMatchObject({ prefix: "elsewhere", bucket: "pbm-backups" });
    expect(r.props).toMatchObject({ storagePath: "s3://pbm-backups/elsewhere" });
  });

  it("refuses to delete a BackupLocation while PITR uses it, and fails PitrPolicy create while an enabled schedule exists", async () => {
    await scheduledBackup.create({ mongodbUri: uri(), name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: true, declaredBy: { project: "ops", stack: "prod" } } as never);
    const conflict = await pitrPolicy.create({ mongodbUri: uri(), name: "pitr", enabled: true, oplogSpanMin: 10, oplogOnly: false, takeBaseSnapshot: true } as never).catch((e: Error) => e.message);
    expect(conflict).toBe(
      `[PBMP-1002] PitrPolicy "pitr": A PITR backup for the cluster 'rs0' can be enabled only if there are no other scheduled backups for this cluster. Enabled there: ScheduledBackup "nightly" (project ops, stack prod). Nothing was changed. Set enabled: false on those ScheduledBackups (or delete them) before enabling PITR; for base snapshots use this PitrPolicy's baseSnapshotSchedule. Other clusters are not affected.`,
    );
    // the check at preview says the same, on the property
    const checked = await pitrPolicy.check({}, { mongodbUri: uri(), enabled: true });
    expect(checked.failures?.[0].property).toBe("enabled");

    await scheduledBackup.update("rs0/nightly", {} as never, { mongodbUri: uri(), name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: false } as never);
    const { outs } = await pitrPolicy.create({ mongodbUri: uri(), name: "pitr", enabled: true, oplogSpanMin: 10, oplogOnly: false, takeBaseSnapshot: true } as never);
    // real pbm names a backup by its wall-clock start
    expect(outs.baseSnapshot).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await pbm.describeBackup(outs.baseSnapshot, { mongodbUri: uri() })).toMatchObject({ name: outs.baseSnapshot, type: "logical" });
    const del = await backupLocation.delete("rs0/main", { ...location(), cluster: "rs0", storagePath: "s3://pbm-backups/moved", adoptedChanges: [] } as never).catch((e: Error) => e.message);
    expect(del).toMatch(/^\[PBMP-1003\] BackupLocation for cluster "rs0" \(s3:\/\/pbm-backups\/moved\) is still used by PITR \(pitr.enabled=true\), PitrPolicy "pitr"\. /);
  });
});
