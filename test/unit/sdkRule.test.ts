// PMM's rule inside one program (both resources new, so neither is in the cluster's registry yet): the later of
// two conflicting declarations gets an error on its resource and a `programConflicts` input its create refuses;
// nothing else in the program is touched.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../sandbox/testbed";

const nativeRequire = createRequire(__filename);

describe("the PITR rule in one program", () => {
  it("marks the later of an enabled PitrPolicy and an enabled ScheduledBackup on one cluster, and nothing on another cluster", async () => {
    const pulumi: typeof import("@pulumi/pulumi") = nativeRequire("@pulumi/pulumi");
    const sdk = nativeRequire(path.join(REPO_ROOT, "dist", "sdk", "index.js"));
    const inputs = new Map<string, Record<string, unknown>>();
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => {
          inputs.set(a.name, a.inputs);
          return { id: `${a.name}-id`, state: a.inputs };
        },
        call: (a) => a.inputs,
      },
      "rule",
      "test",
      true,
    );
    const errors: string[] = [];
    const logError = pulumi.log.error;
    pulumi.log.error = async (msg: string) => void errors.push(msg);
    try {
      const password = randomBytes(9).toString("hex");
      const rs0 = `mongodb://pbm:${password}@mongo1:27017,mongo2:27017/?replicaSet=rs0`;
      const rs1 = `mongodb://pbm:${password}@other1:27017/?replicaSet=rs1`;
      new sdk.PitrPolicy("pitr", { mongodbUri: rs0 });
      new sdk.ScheduledBackup("elsewhere", { mongodbUri: rs1, schedule: "0 2 * * *" });
      new sdk.ScheduledBackup("off", { mongodbUri: rs0, schedule: "0 2 * * *", enabled: false });
      // another user and host order: the same cluster all the same
      const conflicting = new sdk.ScheduledBackup("nightly", { mongodbUri: `mongodb://backup:${randomBytes(9).toString("hex")}@mongo2:27017,mongo1/?replicaSet=rs0`, schedule: "0 2 * * *" });
      await new Promise((r) => conflicting.urn.apply(r));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      pulumi.log.error = logError;
    }
    expect(errors).toEqual([
      `[PBMP-1002] ScheduledBackup "nightly": A snapshot backup for cluster 'rs0' can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled there by PitrPolicy "pitr" (in this program). Set enabled: false on this ScheduledBackup, or disable that PitrPolicy first; to keep base snapshots while PITR runs, use the PitrPolicy's baseSnapshotSchedule.`,
    ]);
    expect(inputs.get("nightly")?.programConflicts).toEqual([{ kind: "pitrPolicy", name: "pitr" }]);
    for (const other of ["pitr", "elsewhere", "off"]) expect(inputs.get(other)?.programConflicts).toEqual([]);
  });
});
