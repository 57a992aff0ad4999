// PMM's rule inside one program (both resources new, so neither is in the cluster's registry yet).
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../sandbox/testbed";

const nativeRequire = createRequire(__filename);

describe("the PITR rule in one program", () => {
  it("fails the run when an enabled PitrPolicy and an enabled ScheduledBackup target the same cluster, and not for another cluster", async () => {
    const pulumi: typeof import("@pulumi/pulumi") = nativeRequire("@pulumi/pulumi");
    const sdk = nativeRequire(path.join(REPO_ROOT, "dist", "sdk", "index.js"));
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs }, "rule", "test", true);
    const failures: Error[] = [];
    process.on("unhandledRejection", (e) => failures.push(e as Error));
    const rs0 = "mongodb://pbm:pw@mongo1:27017,mongo2:27017/?replicaSet=rs0";
    const rs1 = "mongodb://pbm:pw@other1:27017/?replicaSet=rs1";
    new sdk.PitrPolicy("pitr", { mongodbUri: rs0 });
    new sdk.ScheduledBackup("elsewhere", { mongodbUri: rs1, schedule: "0 2 * * *" });
    new sdk.ScheduledBackup("off", { mongodbUri: rs0, schedule: "0 2 * * *", enabled: false });
    const conflicting = new sdk.ScheduledBackup("nightly", { mongodbUri: rs0.replace("pw", "other-password"), schedule: "0 2 * * *" });
    await new Promise((r) => conflicting.urn.apply(r));
    await new Promise((r) => setTimeout(r, 300));
    expect([...new Set(failures.map((f) => f.message))]).toEqual([
      `[PBMP-1002] ScheduledBackup "nightly": A snapshot backup for cluster 'mongo1:27017,mongo2:27017' can be performed only if there is no enabled PITR backup for this cluster. This program also enables PitrPolicy "pitr" there. Set enabled: false on this ScheduledBackup, or use the PitrPolicy's baseSnapshotSchedule for base snapshots.`,
    ]);
  });
});
