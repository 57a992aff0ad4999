// A PitrPolicy's base snapshot under faults: storage the agents cannot use fails the create and leaves the
// cluster as it was; a backup already under way serves as the base; a base that fails after create shows up as
// a change at the next check, and that update takes a new one. Each case on a cluster of its own.
import { beforeAll, describe, expect, it } from "vitest";
import { pitrPolicy } from "../../provider";
import { GUARD } from "../../provider/registry/guard";
import { SCHEDULES } from "../../provider/registry";
import { withPbmClient } from "../../provider/state/mongo";
import { clock, configureSimulator } from "../../sandbox/pbm-sim/control";
import { createBucket, lastJson, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

type RS = "rs0" | "rs1" | "rs2";

describe("PitrPolicy's base snapshot", () => {
  const sandbox = useSandbox({ replSets: ["rs0", "rs1", "rs2"] });
  const uri = (rs: RS) => sandbox().clusters[rs].mongodbUri;
  const inputs = (rs: RS) => ({ mongodbUri: uri(rs), name: "pitr", enabled: true, oplogSpanMin: 10, oplogOnly: false, takeBaseSnapshot: true, declaredBy: { project: "p", stack: "s" } });
  const pitrOn = async (rs: RS) => lastJson((await runPbm(sandbox().clusters[rs], ["config", "pitr.enabled", "-o", "json"])).stdout).value === "true";
  const backups = (rs: RS) => withPbmClient(uri(rs), (a) => a.collection<{ name: string; status: string }>("pbmBackups").find({}, { projection: { _id: 0, name: 1, status: 1 } }).toArray());
  const until = async (what: string, ok: () => Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    for (const rs of ["rs0", "rs1", "rs2"] as const) {
      await runPbm(sandbox().clusters[rs], ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", rs) });
      await clock.run(uri(rs), 60);
    }
  });

  it("fails the create before starting anything when the agents report the storage unusable, and leaves the cluster as it was", async () => {
    await configureSimulator(uri("rs0"), { faults: { storage: "denied" } });
    await until("the agents to report the storage", () => withPbmClient(uri("rs0"), async (a) => !!(await a.collection("pbmAgents").findOne({ "stors.ok": false }))));
    const msg = await pitrPolicy.create(inputs("rs0") as never).catch((e: Error) => e.message);
    expect(msg).toMatch(/^\[PBMP-3002\] PitrPolicy "pitr": pbm-agent on cluster "rs0" cannot use the backup storage, so PITR can get no base snapshot: .*AccessDenied.*\. PitrPolicy "pitr": pbm's pitr settings were put back as they were\. Fix the storage access/);
    expect(await pitrOn("rs0")).toBe(false);
    expect(await backups("rs0")).toEqual([]);
    const left = await withPbmClient(uri("rs0"), async (a) => ({ entries: await a.collection(SCHEDULES).countDocuments({}), guard: await a.collection(GUARD).findOne({}) }));
    expect(left.entries).toBe(0);
    expect(left.guard?.pitr).toBeNull();

    // Once the storage works, the same create converges.
    await configureSimulator(uri("rs0"), { faults: {} });
    await until("the agents to report the storage", () => withPbmClient(uri("rs0"), async (a) => !(await a.collection("pbmAgents").findOne({ "stors.ok": false }))));
    const { outs } = await pitrPolicy.create(inputs("rs0") as never);
    expect(outs.baseSnapshot).toBeDefined();
    expect(await pitrOn("rs0")).toBe(true);
  });

  it("never starts a second base when a backup is already under way", async () => {
    // pbm refuses config changes while a backup holds its lock: the create waits for it, then uses it as the base.
    await clock.run(uri("rs1"), 1);
    await configureSimulator(uri("rs1"), { timings: { backupSec: 12 } });
    await runPbm(sandbox().clusters.rs1, ["backup"]);
    await until("the backup to run", async () => (await backups("rs1")).some((b) => b.status === "running"));
    const running = (await backups("rs1"))[0].name;
    await pitrPolicy.create(inputs("rs1") as never);
    expect((await backups("rs1")).map((b) => [b.name, b.status])).toEqual([[running, "done"]]);
    expect(await pitrOn("rs1")).toBe(true);
  });

  it("shows a base snapshot that failed after the create as a change, and the update takes a new one", async () => {
    // Real time on this cluster: the base fails 5 s after it started, once pbm backup has returned.
    await clock.run(uri("rs2"), 1);
    await configureSimulator(uri("rs2"), { faults: { failBackups: { count: 1, message: "simulated: the dump failed" } }, timings: { backupSec: 8 } });
    const { outs } = await pitrPolicy.create(inputs("rs2") as never);
    const first = outs.baseSnapshot as string;
    await until("the base to fail", async () => (await backups("rs2")).some((b) => b.name === first && b.status === "error"));

    const checked = await pitrPolicy.check(inputs("rs2"), inputs("rs2"));
    expect(checked.failures).toBeUndefined();
    expect(checked.inputs).toMatchObject({ baseSnapshotMissing: true });
    const diff = await pitrPolicy.diff("rs2/pitr", outs as never, checked.inputs as never);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await pitrPolicy.update("rs2/pitr", outs as never, checked.inputs as never);
    expect(updated.outs.baseSnapshot).not.toBe(first);
    expect(updated.outs).not.toHaveProperty("baseSnapshotMissing");
    await until("the new base to finish", async () => (await backups("rs2")).some((b) => b.name === updated.outs.baseSnapshot && b.status === "done"));
    expect((await pitrPolicy.check(inputs("rs2"), inputs("rs2"))).inputs).not.toHaveProperty("baseSnapshotMissing");
  });
});
