// A ScheduledBackup's name is per cluster, and the stack that declared it owns it. Before, a second stack's
// ScheduledBackup of the same name overwrote the first one's schedule in the registry (the runner then ran the
// second one's settings), and either stack's destroy deleted the schedule of the other.
import { beforeAll, describe, expect, it } from "vitest";
import { scheduledBackup } from "../../provider";
import { GUARD } from "../../provider/registry/guard";
import { SCHEDULES } from "../../provider/registry";
import { withPbmClient } from "../../provider/state/mongo";
import { createBucket, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

describe("ScheduledBackup names across stacks", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;
  const nightly = (stack: string, schedule: string) => ({
    mongodbUri: uri(),
    name: "nightly",
    schedule,
    type: "logical" as const,
    enabled: true,
    declaredBy: { project: "ops", stack },
  });
  const registry = () =>
    withPbmClient(uri(), async (admin) => ({
      entry: await admin.collection(SCHEDULES).findOne({ _id: "schedule/nightly" as never }),
      guard: await admin.collection(GUARD).findOne({}),
    }));

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await runPbm(sandbox().cluster, ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "names") });
    // Given stack "prod" declares ScheduledBackup "nightly"
    await scheduledBackup.create(nightly("prod", "0 2 * * *") as never);
  });

  it("refuses another stack's ScheduledBackup of the same name at preview, naming the owner and the fix", async () => {
    const checked = await scheduledBackup.check({}, nightly("staging", "0 3 * * *"));
    expect(checked.failures).toEqual([
      {
        property: "",
        reason:
          '[PBMP-1001] property "name": cluster "rs0" already has ScheduledBackup "nightly" (project ops, stack prod). Names of ScheduledBackups are per cluster: rename this one, or delete that one from its stack first.',
      },
    ]);
    // A disabled declaration would overwrite it just the same, so it is refused too.
    expect((await scheduledBackup.check({}, { ...nightly("staging", "0 3 * * *"), enabled: false })).failures).toHaveLength(1);
    // The owner's own update passes.
    expect((await scheduledBackup.check({}, nightly("prod", "0 4 * * *"))).failures).toBeUndefined();
  });

  it("refuses it at create too (a check can be stale), leaving the owner's schedule and claim as they were", async () => {
    const before = await registry();
    for (const enabled of [true, false]) {
      const msg = await scheduledBackup.create({ ...nightly("staging", "0 3 * * *"), enabled } as never).then(
        () => "created",
        (e: Error) => e.message,
      );
      expect(msg).toBe(
        '[PBMP-1001] ScheduledBackup "nightly": property "name": cluster "rs0" already has ScheduledBackup "nightly" (project ops, stack prod). Names of ScheduledBackups are per cluster: rename this one, or delete that one from its stack first. Nothing was changed.',
      );
    }
    const after = await registry();
    expect(after.entry).toMatchObject({ cron: "0 2 * * *", enabled: true, declaredBy: { project: "ops", stack: "prod" } });
    expect(after.entry?.pending).toBeFalsy();
    expect(after.guard?.schedules).toEqual(before.guard?.schedules);
  });

  it("another stack's refresh does not adopt the schedule, and its destroy leaves it and its claim", async () => {
    const staging = { ...nightly("staging", "0 3 * * *"), cluster: "rs0" };
    expect((await scheduledBackup.read("rs0/nightly", staging as never)).id).toBe("");
    const before = await registry();
    await scheduledBackup.delete("rs0/nightly", staging as never);
    const after = await registry();
    expect(after.entry).toMatchObject({ cron: "0 2 * * *", declaredBy: { stack: "prod" } });
    expect(after.guard?.schedules).toEqual(before.guard?.schedules);
    expect(after.guard?.schedules).toEqual([`schedule/nightly#${after.entry?.guardToken}`]);
  });

  it("the owner still updates and deletes it; then the name is free for another stack", async () => {
    await scheduledBackup.update("rs0/nightly", {} as never, nightly("prod", "0 5 * * *") as never);
    expect((await registry()).entry).toMatchObject({ cron: "0 5 * * *" });
    await scheduledBackup.delete("rs0/nightly", { ...nightly("prod", "0 5 * * *"), cluster: "rs0" } as never);
    expect((await registry()).entry).toBeNull();
    expect((await registry()).guard?.schedules).toEqual([]);
    await scheduledBackup.create(nightly("staging", "0 3 * * *") as never);
    expect((await registry()).entry).toMatchObject({ cron: "0 3 * * *", declaredBy: { stack: "staging" } });
  });
});
