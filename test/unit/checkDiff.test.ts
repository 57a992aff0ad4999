// check() and diff() of the resources as plain functions: what users see for bad input at preview, and
// which changes update in place or replace.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { backupLocation, pitrPolicy, scheduledBackup } from "../../provider";
import { UNKNOWN } from "../../provider/resources/common";

// Credentials made at run time: none is written in the code.
const password = randomBytes(9).toString("hex");
const uri = `mongodb://pbm:${password}@mongo1:27017/?replicaSet=rs0`;
// Failures name the property in the reason, never in `property` (the engine would print a secret's value there).
const reasons = (r: { failures?: { property: string; reason: string }[] }) =>
  Object.fromEntries((r.failures ?? []).map((f) => /^\[PBMP-1001\] propert(?:y|ies) "([^"]*)"[^:]*: ([\s\S]*)$/.exec(f.reason)!.slice(1)));

describe("scheduledBackup.check", () => {
  const base = { mongodbUri: UNKNOWN, name: "nightly", schedule: "0 2 * * *" };

  it("fails when the cron expression is invalid, naming the property", async () => {
    const r = await scheduledBackup.check({}, { ...base, schedule: "61 * * * *" });
    expect(reasons(r).schedule).toMatch(/is not a valid cron expression \("61 \* \* \* \*"\)/);
    const fields = await scheduledBackup.check({}, { ...base, schedule: "every night" });
    expect(reasons(fields).schedule).toMatch(/5 fields \(or 6 with seconds\), evaluated in UTC/);
  });

  it("fails when namespaces are given for a physical backup or name a system database", async () => {
    expect(reasons(await scheduledBackup.check({}, { ...base, type: "physical", namespaces: ["shop.*"] })).namespaces).toMatch(/only allowed for logical/);
    expect(reasons(await scheduledBackup.check({}, { ...base, namespaces: ["admin.users"] })).namespaces).toMatch(/admin, config and local/);
  });

  it("fails when retention keeps no backups or compression is unknown", async () => {
    const r = reasons(await scheduledBackup.check({}, { ...base, retention: { count: 0 }, compression: "xz" }));
    expect(r["retention.count"]).toMatch(/at least 1/);
    expect(r.compression).toMatch(/one of none, gzip, snappy, lz4, s2, pgzip, zstd/);
  });

  it("accepts unknown values during preview and fills defaults otherwise", async () => {
    const r = await scheduledBackup.check({}, { ...base, schedule: UNKNOWN });
    expect(r.failures).toBeUndefined();
    expect(r.inputs?.schedule).toBe(UNKNOWN);
    const known = await scheduledBackup.check({}, { ...base, mongodbUri: UNKNOWN });
    expect(known.inputs).toMatchObject({ type: "logical", enabled: true });
  });

  it("fails when an unknown property is given", async () => {
    expect(reasons(await scheduledBackup.check({}, { ...base, cron: "0 2 * * *" })).cron).toMatch(/not a known property/);
  });
});

describe("pitrPolicy.check", () => {
  it("fails when oplogSpanMin is zero or negative, with PBM's default in the fix", async () => {
    for (const span of [0, -5]) {
      const r = reasons(await pitrPolicy.check({}, { mongodbUri: UNKNOWN, oplogSpanMin: span }));
      expect(r.oplogSpanMin).toBe(`must be a number greater than 0 and at most 1440 minutes, got ${span}. Leave it unset to use PBM's default of 10`);
    }
  });

  it("fails when the URI is not a mongodb:// connection string", async () => {
    expect(reasons(await pitrPolicy.check({}, { mongodbUri: "mongodb+srv://x/" })).mongodbUri).toMatch(/mongodb\+srv/);
  });
});

describe("backupLocation.check", () => {
  const base = { mongodbUri: UNKNOWN, bucket: "pbm-backups" };

  it("fails when the bucket name or endpoint is not valid", async () => {
    const r = reasons(await backupLocation.check({}, { ...base, bucket: "Bad_Bucket", endpointUrl: "minio:9000" }));
    expect(r.bucket).toMatch(/valid S3 bucket name/);
    expect(r.endpointUrl).toMatch(/http\(s\) URL/);
  });

  it("fails when the upload part size is below S3's minimum", async () => {
    expect(reasons(await backupLocation.check({}, { ...base, uploadPartSizeBytes: 1024 })).uploadPartSizeBytes).toMatch(/5 MiB/);
  });

  it("fills pbm's defaults so state shows the effective config", async () => {
    const r = await backupLocation.check({}, { ...base, mongodbUri: uri });
    expect(r.inputs).toMatchObject({ region: "us-east-1", forcePathStyle: true, insecureSkipTLSVerify: false });
  });
});

describe("diff decisions", () => {
  const loc = { mongodbUri: uri, bucket: "pbm-backups", region: "us-east-1", forcePathStyle: true, insecureSkipTLSVerify: false, resyncTimeoutSec: 300 };

  it("updates a BackupLocation in place when the prefix changes", async () => {
    const d = await backupLocation.diff("rs0/main", { ...loc, cluster: "rs0", storagePath: "s3://pbm-backups", adoptedChanges: [] }, { ...loc, prefix: "rs0" });
    expect(d).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
  });

  it("replaces, deleting first, when mongodbUri points at another host", async () => {
    const d = await backupLocation.diff("rs0/main", { ...loc, cluster: "rs0", storagePath: "s3://pbm-backups", adoptedChanges: [] }, { ...loc, mongodbUri: uri.replace("mongo1", "mongo9") });
    expect(d.replaces).toEqual(["mongodbUri"]);
    expect(d.deleteBeforeReplace).toBe(true);
  });

  it("updates in place, not replaces, when a member is added to the seed list or the hosts are listed in another order", async () => {
    const before = `mongodb://pbm:${password}@mongo1:27017,mongo2:27017/?replicaSet=rs0`;
    const after = `mongodb://pbm:${password}@mongo3:27017,mongo2:27017,mongo1:27017/?replicaSet=rs0`;
    const d = await scheduledBackup.diff("rs0/nightly", { mongodbUri: before, name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: true, cluster: "rs0" } as never, { mongodbUri: after, name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: true } as never);
    expect(d).toMatchObject({ changes: true, replaces: [] });
    // the same hosts under another replica set name are another cluster
    const other = await scheduledBackup.diff("rs0/nightly", { mongodbUri: before, name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: true, cluster: "rs0" } as never, { mongodbUri: before.replace("rs0", "rs1"), name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: true } as never);
    expect(other.replaces).toEqual(["mongodbUri"]);
  });

  it("updates in place, not replaces, when only the password in mongodbUri rotates", async () => {
    const d = await backupLocation.diff("rs0/main", { ...loc, cluster: "rs0", storagePath: "s3://pbm-backups", adoptedChanges: [] }, { ...loc, mongodbUri: uri.replace(password, randomBytes(9).toString("hex")) });
    expect(d).toMatchObject({ changes: true, replaces: [] });
  });

  it("reports no changes when only outputs such as slicing or lastChunkTime moved", async () => {
    const desired = { mongodbUri: uri, enabled: true, oplogSpanMin: 10, oplogOnly: false, takeBaseSnapshot: true, name: "pitr" };
    const d = await pitrPolicy.diff("rs0/pitr", { ...desired, cluster: "rs0", slicing: true, lastChunkTime: "2026-06-20T11:00:00Z", latestRestorableWindow: null } as never, desired as never);
    expect(d.changes).toBe(false);
  });

  it("reports a change when an input is unknown during preview", async () => {
    const desired = { mongodbUri: uri, name: "nightly", schedule: "0 2 * * *", type: "logical", enabled: true };
    const d = await scheduledBackup.diff("rs0/nightly", { ...desired, cluster: "rs0" } as never, { ...desired, schedule: UNKNOWN } as never);
    expect(d.changes).toBe(true);
    const renamed = await scheduledBackup.diff("rs0/nightly", { ...desired, cluster: "rs0" } as never, { ...desired, name: "nightly-2" } as never);
    expect(renamed.replaces).toEqual(["name"]);
  });
});
