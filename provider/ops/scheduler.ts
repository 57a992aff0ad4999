// The runner: executes due ScheduledBackups and PitrPolicy base snapshots from the registry, once per fire
// time, under a lease so several runners never run one job twice, and applies retention afterwards.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Db } from "mongodb";
import { readInventory } from "../inventory";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { ruleText } from "../core/pitrRule";
import { listEntries, partyOf, RUNS, SCHEDULES, type RegistryEntry } from "../registry";
import { clusterBlockers, violationOn } from "../registry/rule";
import { withPbmClient } from "../state/mongo";
import { systemClock, type Clock } from "./clock";
import { protectedBases, selectForDeletion } from "./retention";

export interface RunnerOptions extends PbmRunOptions {
  clock?: Clock;
  /** Identifies this runner in leases. */
  holder?: string;
  /** Lease length; renewed while a backup runs. Default 120 s. */
  leaseSec?: number;
  /** How long to follow one backup. Default 6 h. */
  backupTimeoutSec?: number;
  /** Poll interval while following a backup, in real milliseconds. Default 1000. */
  pollMs?: number;
  onEvent?: (line: string) => void;
}

export interface JobReport {
  schedule: string;
  result: "success" | "error" | "skipped";
  backup?: string;
  reason?: string;
  deleted?: string[];
}

type Cron = { prev(): { toDate(): Date }; next(): { toDate(): Date }; reset(at: Date): void };

/** Parsed cron expressions by expression string, least recently used first (a pass reads every entry's). */
const cronCache = new Map<string, Cron>();
export const CRON_CACHE_MAX = 4096;
/** The first fire time after a job's `since`, by expression and `since` (ms): a pass where nothing is due reads only this. */
const firstAfterCache = new Map<string, number>();
const FIRST_AFTER_MAX = 16384;

/** Gets `key` from an LRU map, computing and adding it (dropping the least recently used beyond `max`) if absent. */
function lru<V>(m: Map<string, V>, key: string, max: number, make: () => V): V {
  let v = m.get(key);
  if (v !== undefined) m.delete(key); // most recently used goes last
  else {
    v = make();
    if (m.size >= max) m.delete(m.keys().next().value!);
  }
  m.set(key, v);
  return v;
}

/**
 * The expression positioned at `at`. Parsed once per expression string and process (a changed cron is a new
 * string, so it is parsed on the next pass); `reset` repositions it, as parsing it anew at `at` would.
 */
function cronAt(expr: string, at: Date): Cron {
  const c = lru(cronCache, expr, CRON_CACHE_MAX, () => {
    const { CronExpressionParser } = require("cron-parser") as typeof import("cron-parser");
    return CronExpressionParser.parse(expr, { tz: "UTC" }) as unknown as Cron;
  });
  c.reset(at);
  return c;
}

/** How many parsed expressions the process holds (tests). */
export function cachedCronCount(): number {
  return cronCache.size;
}

/**
 * The fire time to run now, if any: the latest fire time after `since` and not after `now`. Runs missed while
 * no runner was up collapse into this one catch-up.
 */
export function dueFireTime(cron: string, since: Date, now: Date): Date | undefined {
  // A fire time lies in (since, now] exactly when the first one after `since` is not after `now`; that first one
  // stays the same until the job runs (or its cron changes), so most passes answer from memory.
  const first = lru(firstAfterCache, `${since.getTime()} ${cron}`, FIRST_AFTER_MAX, () => cronAt(cron, since).next().toDate().getTime());
  if (first > now.getTime()) return undefined;
  const latest = cronAt(cron, new Date(now.getTime() + 1)).prev().toDate();
  return latest.getTime() > since.getTime() && latest.getTime() <= now.getTime() ? latest : undefined;
}

export function nextFireTime(cron: string, after: Date): Date {
  return cronAt(cron, after).next().toDate();
}

const jobLabel = (e: RegistryEntry) => (e.kind === "pitrBase" ? `${e.name} (PITR base snapshots)` : e.name);

async function setRun(admin: Db, id: string, fields: Record<string, unknown>, unset: string[] = []) {
  await admin.collection<{ _id: string }>(SCHEDULES).updateOne(
    { _id: id },
    { $set: Object.fromEntries(Object.entries(fields).map(([k, v]) => [`run.${k}`, v])), ...(unset.length ? { $unset: Object.fromEntries(unset.map((k) => [`run.${k}`, ""])) } : {}) },
  );
}

/** Takes the job's lease for this fire time; null if another runner holds it or already ran it. */
async function acquire(admin: Db, e: RegistryEntry, holder: string, fire: Date, now: Date, leaseSec: number) {
  return admin.collection<{ _id: string }>(SCHEDULES).findOneAndUpdate(
    {
      _id: e._id,
      $and: [
        { $or: [{ "run.lease": { $exists: false } }, { "run.lease.expiresAt": { $lt: now } }, { "run.lease.holder": holder }] },
        { $or: [{ "run.lastFireTime": { $exists: false } }, { "run.lastFireTime": { $lt: fire } }] },
      ],
    },
    { $set: { "run.lease": { holder, expiresAt: new Date(now.getTime() + leaseSec * 1000) }, "run.lastFireTime": fire } },
    { returnDocument: "after" },
  );
}

/** Finishes the records of runs whose runner died while following them. */
async function reconcile(admin: Db, o: RunnerOptions, now: Date, report: (l: string) => void): Promise<void> {
  const open = await admin.collection<{ _id: string; scheduleId: string }>(RUNS).find({ status: "running" }).toArray();
  for (const r of open) {
    const entry = await admin.collection<{ _id: string; run?: Record<string, unknown> }>(SCHEDULES).findOne({ _id: r.scheduleId });
    const lease = entry?.run?.lease as { expiresAt: Date } | undefined;
    if (lease && new Date(lease.expiresAt) > now) continue; // its runner is alive
    const d = await pbm.describeBackup(String(r._id), o).catch(() => undefined);
    if (!d || ["starting", "running", "dumpDone"].includes(d.status)) continue;
    const status = d.status === "done" ? "done" : "error";
    await admin.collection<{ _id: string }>(RUNS).updateOne({ _id: r._id }, { $set: { status, finishedAt: now, ...(d.error ? { error: d.error } : {}) } });
    if (entry) await setRun(admin, entry._id, { lastFinishedAt: now, lastResult: status === "done" ? "success" : "error", ...(d.error ? { lastError: d.error } : {}) }, ["lease"]);
    report(`recovered the record of ${r._id} (${r.scheduleId}) left by a stopped runner: ${d.status}`);
  }
}

/**
 * Update statements per bulk write of next runs. MongoDB takes 100,000 in one command; FerretDB 1.24 (the test
 * sandbox) stops answering an update command of 100 statements or more, so the runner sends batches of 50: 20
 * commands for 1,000 new entries instead of 1,000.
 */
export const NEXT_RUN_BATCH = 50;

/** One pass: runs every due job once. */
export async function runDueJobs(o: RunnerOptions): Promise<JobReport[]> {
  const clock = o.clock ?? systemClock;
  const holder = o.holder ?? `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`;
  const leaseSec = o.leaseSec ?? 120;
  const report = o.onEvent ?? (() => undefined);
  return withPbmClient(o.mongodbUri, async (admin) => {
    const reports: JobReport[] = [];
    await reconcile(admin, o, await clock.now(), report);
    const entries = await listEntries(admin);
    // The next run of entries that have none yet (the first pass after declaring them), written in bulk at the
    // end of the pass, or before a due job runs so they do not wait for its backup.
    const nextRuns: { id: string; at: Date }[] = [];
    const writeNextRuns = async () => {
      const ops = nextRuns.splice(0).map(({ id, at }) => ({ updateOne: { filter: { _id: id }, update: { $set: { "run.nextRunAt": at } } } }));
      for (let i = 0; i < ops.length; i += NEXT_RUN_BATCH) await admin.collection<{ _id: string }>(SCHEDULES).bulkWrite(ops.slice(i, i + NEXT_RUN_BATCH), { ordered: false });
    };
    for (const e of entries) {
      if ((e.kind !== "schedule" && e.kind !== "pitrBase") || !e.enabled || e.pending || !e.cron || !e.backup) continue;
      const now = await clock.now();
      const since = (e.run?.lastFireTime as Date | undefined) ?? e.createdAt;
      const fire = dueFireTime(e.cron, new Date(since), now);
      if (!fire) {
        if (!e.run?.nextRunAt) nextRuns.push({ id: e._id, at: nextFireTime(e.cron, now) });
        continue;
      }
      await writeNextRuns();
      const lease = await acquire(admin, e, holder, fire, now, leaseSec);
      if (!lease) continue; // another runner has it, or already ran this fire time
      const done = async (r: JobReport, fields: Record<string, unknown>) => {
        await setRun(admin, e._id, { ...fields, lastResult: r.result, lastFinishedAt: await clock.now(), nextRunAt: nextFireTime(e.cron!, await clock.now()) }, ["lease"]);
        reports.push(r);
        report(`${jobLabel(e)}: ${r.result}${r.backup ? ` ${r.backup}` : ""}${r.reason ? ` (${r.reason})` : ""}${r.deleted?.length ? `; retention deleted ${r.deleted.join(", ")}` : ""}`);
      };
      // PMM's rule, checked before every run against the guard, the registry and pbm's live config: no
      // scheduled snapshots while PITR is enabled on the cluster. The skip is recorded with the rule's words.
      if (e.kind === "schedule") {
        const blockers = await clusterBlockers(admin, partyOf(e));
        if (blockers.length) {
          const why = ruleText(await violationOn(admin, o.mongodbUri, partyOf(e), blockers), `ScheduledBackup "${e.name}"`);
          await done({ schedule: e.name, result: "skipped", reason: why }, { lastError: `skipped: ${why}` });
          continue;
        }
      }
      let name: string;
      try {
        name = (await pbm.backup({ ...o, ...(e.timeoutSec ? { timeoutSec: e.timeoutSec } : {}) }, { type: e.backup.type, compression: e.backup.compression, compressionLevel: e.backup.compressionLevel, namespaces: e.backup.namespaces, profile: e.backup.profile })).name;
      } catch (err) {
        const msg = (err as Error).message;
        const busy = /another operation in progress/.test(msg);
        await done({ schedule: e.name, result: busy ? "skipped" : "error", reason: busy ? "another pbm operation is running" : msg }, { lastError: msg });
        continue;
      }
      const startedAt = await clock.now();
      await admin.collection<{ _id: string }>(RUNS).updateOne({ _id: name }, { $set: { scheduleId: e._id, kind: e.kind, fireTime: fire, startedAt, status: "running" } }, { upsert: true });
      await setRun(admin, e._id, { lastStartedAt: startedAt, lastBackupName: name });
      report(`${jobLabel(e)}: started backup ${name}`);
      // Follow it to the end, renewing the lease.
      const deadline = Date.now() + (o.backupTimeoutSec ?? 6 * 3600) * 1000;
      let status = "running";
      let error: string | undefined;
      for (;;) {
        const d = await pbm.describeBackup(name, o).catch(() => undefined);
        status = d?.status ?? status;
        error = d?.error;
        if (["done", "error", "canceled"].includes(status)) break;
        if (Date.now() > deadline) {
          error = `still ${status} after ${o.backupTimeoutSec ?? 6 * 3600}s`;
          break;
        }
        await admin.collection<{ _id: string }>(SCHEDULES).updateOne({ _id: e._id, "run.lease.holder": holder }, { $set: { "run.lease.expiresAt": new Date((await clock.now()).getTime() + leaseSec * 1000) } });
        await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      }
      const ok = status === "done";
      await admin.collection<{ _id: string }>(RUNS).updateOne({ _id: name }, { $set: { status: ok ? "done" : "error", finishedAt: await clock.now(), ...(error ? { error } : {}) } });
      let deleted: string[] = [];
      if (ok && e.retention) deleted = await applyRetention(admin, e, o, await clock.now());
      await done({ schedule: e.name, result: ok ? "success" : "error", backup: name, ...(error ? { reason: error } : {}), deleted }, { ...(error ? { lastError: error } : { lastError: null }) });
    }
    await writeNextRuns();
    return reports;
  });
}

async function applyRetention(admin: Db, e: RegistryEntry, o: PbmRunOptions, now: Date): Promise<string[]> {
  const mine = new Set((await admin.collection<{ _id: string }>(RUNS).find({ scheduleId: e._id }).toArray()).map((r) => String(r._id)));
  const inv = await readInventory(o);
  const candidates = inv.snapshots.filter((s) => mine.has(s.name)).map((s) => ({ name: s.name, type: s.type, status: s.status, restoreTo: new Date(s.restoreToTime) }));
  const doomed = selectForDeletion(candidates, e.retention ?? {}, now, protectedBases(inv.snapshots, inv.pitrRanges));
  const deleted: string[] = [];
  for (const name of doomed) {
    try {
      await pbm.deleteBackup(name, o);
      await admin.collection<{ _id: string }>(RUNS).updateOne({ _id: name }, { $set: { deletedAt: now } });
      deleted.push(name);
    } catch {
      /* pbm refused (e.g. the last PITR base); keep it */
    }
  }
  return deleted;
}

/** Long-running mode: a pass every `intervalSec` until `signal` aborts. */
export async function runScheduler(o: RunnerOptions & { intervalSec?: number; signal?: AbortSignal }): Promise<void> {
  const clock = o.clock ?? systemClock;
  while (!o.signal?.aborted) {
    try {
      await runDueJobs(o);
    } catch (err) {
      o.onEvent?.(`pass failed: ${(err as Error).message}`);
    }
    await clock.sleep((o.intervalSec ?? 30) * 1000);
  }
}
