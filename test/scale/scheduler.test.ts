// Issue 10 (scale), the runner over many schedules: a declaration carries its next run, so the first pass over new
// entries only reads (it wrote one updateOne per entry, 19 s for 1,000); entries without one (older releases) get it
// in bulk writes of NEXT_RUN_BATCH; cron expressions are parsed once per expression
// and process (they were parsed on every pass), and a changed cron is still picked up on the next pass.
// Behaviour only; the bench (`BENCH_SECTIONS=scheduler npm run bench`) measures the time.
import type { CommandStartedEvent, Document } from "mongodb";
import { CronExpressionParser } from "cron-parser";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cachedCronCount, dueFireTime, nextFireTime } from "../../provider/core/cron";
import { runDueJobs } from "../../provider/ops/scheduler";
import { NEXT_RUN_BATCH, SCHEDULES, upsertEntry } from "../../provider/registry";
import { closePbmClients, withPbmClient } from "../../provider/state/mongo";
import { useSandbox } from "../helpers/sandbox";

describe("the runner over many schedules", () => {
  const sandbox = useSandbox();
  // A URI of its own, so the runner's shared client for it reports every command it sends.
  const uri = () => `${sandbox().cluster.mongodbUri}${sandbox().cluster.mongodbUri.includes("?") ? "&" : "?"}monitorCommands=true`;
  const hour = new Date().getUTCHours();
  /** Daily at a distinct minute, two or more hours from now: never due while the test runs. */
  const notSoon = (i: number) => `${i % 60} ${(hour + 2 + Math.floor(i / 60)) % 24} * * *`;

  /** The registry commands a pass sends, by command name. */
  async function commandsOf(pass: () => Promise<unknown>): Promise<{ name: string; command: Document }[]> {
    const seen: { name: string; command: Document }[] = [];
    const listen = (e: CommandStartedEvent) => {
      if (e.command[e.commandName] === SCHEDULES) seen.push({ name: e.commandName, command: e.command });
    };
    const client = await withPbmClient(uri(), async (_admin, c) => c);
    client.on("commandStarted", listen);
    try {
      await pass();
    } finally {
      client.off("commandStarted", listen);
    }
    return seen;
  }

  afterEach(async () => {
    vi.restoreAllMocks();
    await withPbmClient(uri(), (admin) => admin.collection(SCHEDULES).deleteMany({}));
  });

  it("reads 200 just-declared schedules with one find and writes nothing: each declaration carries its next run", async () => {
    // Given 200 schedules declared as ScheduledBackup declares them, and never seen by a runner
    const before = Date.now();
    await withPbmClient(uri(), async (admin) => {
      for (let i = 0; i < 200; i++) await upsertEntry(admin, { kind: "schedule", name: `s${i}`, enabled: true, cron: notSoon(i), backup: { type: "logical" }, declaredBy: {} });
    });
    // Then each entry holds the next fire time of its cron
    const entries = await withPbmClient(uri(), (admin) => admin.collection<{ _id: string; cron: string; run?: { nextRunAt?: Date } }>(SCHEDULES).find({}).toArray());
    expect(entries).toHaveLength(200);
    for (const e of entries) expect(e.run?.nextRunAt?.getTime(), e._id).toBe(nextFireTime(e.cron, new Date(before)).getTime());
    // When the runner passes, it reads the registry once and writes nothing
    const first = await commandsOf(() => runDueJobs({ mongodbUri: uri(), holder: "bulk" }));
    expect(first.map((c) => c.name)).toEqual(["find"]);
    // And a changed cron moves the next run with it
    await withPbmClient(uri(), (admin) => upsertEntry(admin, { kind: "schedule", name: "s7", enabled: true, cron: "0 0 1 1 *", backup: { type: "logical" }, declaredBy: {} }));
    const s7 = await withPbmClient(uri(), (admin) => admin.collection<{ _id: string; run?: { nextRunAt?: Date } }>(SCHEDULES).findOne({ _id: "schedule/s7" }));
    expect(s7?.run?.nextRunAt?.toISOString()).toBe(`${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`);
  });

  it("writes the next run of 200 entries without one (written by an older release) in 4 bulk writes, and nothing on the next pass", async () => {
    // Given 200 schedules whose entries carry no next run
    await withPbmClient(uri(), async (admin) => {
      for (let i = 0; i < 200; i++) await upsertEntry(admin, { kind: "schedule", name: `s${i}`, enabled: true, cron: notSoon(i), backup: { type: "logical" }, declaredBy: {} });
      await admin.collection(SCHEDULES).updateMany({}, { $unset: { run: "" } });
    });
    // When the runner passes
    const first = await commandsOf(() => runDueJobs({ mongodbUri: uri(), holder: "bulk" }));
    // Then it reads the registry once and writes every nextRunAt in bulk: 4 update commands of 50
    expect(first.map((c) => c.name)).toEqual(["find", "update", "update", "update", "update"]);
    expect(first.slice(1).map((c) => c.command.updates.length)).toEqual(Array(4).fill(NEXT_RUN_BATCH));
    const entries = await withPbmClient(uri(), (admin) => admin.collection<{ _id: string; run?: { nextRunAt?: Date } }>(SCHEDULES).find({}).toArray());
    expect(entries.filter((e) => e.run?.nextRunAt instanceof Date)).toHaveLength(200);
    const s7 = entries.find((e) => e._id === "schedule/s7")!;
    expect(s7.run!.nextRunAt!.getTime()).toBeGreaterThan(Date.now() + 3600_000);
    // and the next pass only reads
    const second = await commandsOf(() => runDueJobs({ mongodbUri: uri(), holder: "bulk" }));
    expect(second.map((c) => c.name)).toEqual(["find"]);
  });

  it("parses each cron expression once across passes, and runs a schedule on the pass after its cron changes", async () => {
    // Given a schedule declared two minutes ago that is not due, and a PitrPolicy, so a due snapshot is skipped
    // under PMM's rule (no pbm backup needed to see that it became due)
    const parse = vi.spyOn(CronExpressionParser, "parse");
    const longAgo = new Date(Date.now() - 120_000);
    const expr = "17 3 29 2 *"; // 29 February, 03:17
    await withPbmClient(uri(), async (admin) => {
      await upsertEntry(admin, { kind: "pitrPolicy", name: "pitr", enabled: true, declaredBy: {} });
      await upsertEntry(admin, { kind: "schedule", name: "changes", enabled: true, cron: expr, backup: { type: "logical" }, declaredBy: {} });
      await admin.collection<{ _id: string }>(SCHEDULES).updateOne({ _id: "schedule/changes" }, { $set: { createdAt: longAgo } });
    });
    expect(await runDueJobs({ mongodbUri: uri(), holder: "cron" })).toEqual([]);
    expect(await runDueJobs({ mongodbUri: uri(), holder: "cron" })).toEqual([]);
    expect(parse.mock.calls.filter(([e]) => e === expr)).toHaveLength(1);
    // When its cron changes to every minute
    await withPbmClient(uri(), (admin) => upsertEntry(admin, { kind: "schedule", name: "changes", enabled: true, cron: "* * * * *", backup: { type: "logical" }, declaredBy: {} }));
    // Then the next pass finds it due (and the rule check skips it, recorded)
    const reports = await runDueJobs({ mongodbUri: uri(), holder: "cron" });
    expect(reports).toMatchObject([{ schedule: "changes", result: "skipped", reason: expect.stringContaining("[PBMP-1002]") }]);
    expect(parse.mock.calls.filter(([e]) => e === "* * * * *")).toHaveLength(1);
    expect(cachedCronCount()).toBeGreaterThanOrEqual(2);
    await closePbmClients();
  });
});

describe("dueFireTime and nextFireTime with cached expressions", () => {
  it("agree with parsing the expression anew at every call", () => {
    const fresh = (expr: string, at: Date) => CronExpressionParser.parse(expr, { tz: "UTC", currentDate: at });
    const crons = ["*/5 * * * *", "*/2 * * * * *", "0 3 * * *", "30 2 * * 1", "0 0 1 * *", "15,45 * * * *", "0 */6 * * *", "0 0 29 2 *"];
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 2000; k++) {
      const expr = crons[k % crons.length];
      const now = new Date(Date.UTC(2025, 0, 1) + Math.floor(rand() * 400 * 86400e3));
      // since: within 10 minutes or 3 days of now, or exactly on a fire time (a job's lastFireTime)
      const since = k % 3 === 0 ? fresh(expr, now).prev().toDate() : new Date(now.getTime() - Math.floor(rand() * (k % 2 ? 600e3 : 3 * 86400e3)));
      const latest = fresh(expr, new Date(now.getTime() + 1)).prev().toDate();
      const want = latest > since && latest <= now ? latest : undefined;
      expect(dueFireTime(expr, since, now)).toEqual(want);
      expect(nextFireTime(expr, now)).toEqual(fresh(expr, now).next().toDate());
    }
  });
});
