// The runner's records, owned here: each entry's `run` state (lease, last and next run) and the runs collection
// (one document per backup a job started). The runner and the inventory use these verbs, never the collections.
import type { Db, UpdateFilter } from "mongodb";
import { RUNS, runDocSchema, runStateSchema, SCHEDULES, type RunDoc, type RunState } from "./documents";

const schedules = (admin: Db) => admin.collection<{ _id: string }>(SCHEDULES);
const runs = (admin: Db) => admin.collection<{ _id: string }>(RUNS);

/** `$set` (and `$unset`) of `run.<field>` for each field given. */
function runUpdate(set: Partial<RunState>, unset: (keyof RunState)[] = []): UpdateFilter<{ _id: string }> {
  const $unset: Record<string, ""> = Object.fromEntries(unset.map((k) => [`run.${k}`, ""]));
  return { $set: Object.fromEntries(Object.entries(set).map(([k, v]) => [`run.${k}`, v])), ...(unset.length ? { $unset } : {}) };
}

/**
 * Takes the job's lease for `fire`, as one conditional update: false if another runner holds a live lease, or
 * a runner already claimed this fire time (or a later one).
 */
export async function claim(admin: Db, id: string, holder: string, fire: Date, now: Date, leaseSec: number): Promise<boolean> {
  const claimed = await schedules(admin).findOneAndUpdate(
    {
      _id: id,
      $and: [
        { $or: [{ "run.lease": { $exists: false } }, { "run.lease.expiresAt": { $lt: now } }, { "run.lease.holder": holder }] },
        { $or: [{ "run.lastFireTime": { $exists: false } }, { "run.lastFireTime": { $lt: fire } }] },
      ],
    },
    runUpdate({ lease: { holder, expiresAt: new Date(now.getTime() + leaseSec * 1000) }, lastFireTime: fire }),
    { returnDocument: "after" },
  );
  return claimed !== null;
}

/** Extends `holder`'s lease to `leaseSec` from `now`; does nothing if the lease is no longer its own. */
export async function renewLease(admin: Db, id: string, holder: string, now: Date, leaseSec: number): Promise<void> {
  await schedules(admin).updateOne({ _id: id, "run.lease.holder": holder }, { $set: { "run.lease.expiresAt": new Date(now.getTime() + leaseSec * 1000) } });
}

/** Whether a runner holds a lease on the entry that has not expired at `now`. */
export async function leaseIsLive(admin: Db, id: string, now: Date): Promise<boolean> {
  const doc = await schedules(admin).findOne({ _id: id });
  const run = runStateSchema().safeParse((doc as { run?: unknown } | null)?.run ?? {});
  const lease = run.success ? run.data.lease : undefined;
  return lease !== undefined && lease.expiresAt > now;
}

/** Records a started backup: its runs document (status running) and the entry's last start. */
export async function recordStart(admin: Db, e: { _id: string; kind: RunDoc["kind"] }, backup: string, fire: Date, startedAt: Date): Promise<void> {
  const doc: Omit<RunDoc, "_id"> = { scheduleId: e._id, kind: e.kind, fireTime: fire, startedAt, status: "running" };
  await runs(admin).updateOne({ _id: backup }, { $set: doc }, { upsert: true });
  await schedules(admin).updateOne({ _id: e._id }, runUpdate({ lastStartedAt: startedAt, lastBackupName: backup }));
}

/** Closes a backup's runs document with its outcome. */
export async function recordBackupEnd(admin: Db, backup: string, status: "done" | "error", finishedAt: Date, error?: string): Promise<void> {
  await runs(admin).updateOne({ _id: backup }, { $set: { status, finishedAt, ...(error ? { error } : {}) } });
}

/** Records a job's outcome on its entry and releases the lease (a no-op if the entry was deleted meanwhile). */
export async function recordFinish(
  admin: Db,
  id: string,
  outcome: Required<Pick<RunState, "lastResult" | "lastFinishedAt">> & Pick<RunState, "nextRunAt" | "lastError">,
): Promise<void> {
  const set = Object.fromEntries(Object.entries(outcome).filter(([, v]) => v !== undefined));
  await schedules(admin).updateOne({ _id: id }, runUpdate(set, ["lease"]));
}

/**
 * Update statements per bulk write of next runs. MongoDB takes 100,000 in one command; FerretDB 1.24 (the test
 * sandbox) stops answering an update command of 100 statements or more, so the runner sends batches of 50: 20
 * commands for 1,000 new entries instead of 1,000.
 */
export const NEXT_RUN_BATCH = 50;

/** Sets the next run of many entries, in bulk writes of NEXT_RUN_BATCH. */
export async function setNextRuns(admin: Db, next: readonly { id: string; at: Date }[]): Promise<void> {
  const ops = next.map(({ id, at }) => ({ updateOne: { filter: { _id: id }, update: runUpdate({ nextRunAt: at }) } }));
  for (let i = 0; i < ops.length; i += NEXT_RUN_BATCH) await schedules(admin).bulkWrite(ops.slice(i, i + NEXT_RUN_BATCH), { ordered: false });
}

/** Runs still marked running: followed by a live runner, or left by one that stopped. */
export async function openRuns(admin: Db): Promise<RunDoc[]> {
  const docs = await runs(admin).find({ status: "running" }).toArray();
  return docs.flatMap((d) => {
    const p = runDocSchema().safeParse(d);
    return p.success ? [p.data] : [];
  });
}

/** The backups the runs of one entry (`kind/name`) made, deleted ones included. */
export async function backupsMadeBy(admin: Db, id: string): Promise<Set<string>> {
  const docs = await runs(admin).find({ scheduleId: id }, { projection: { _id: 1 } }).toArray();
  return new Set(docs.map((r) => String(r._id)));
}

/** Which job made each backup the runner started: backup name → the entry's name (without its kind). */
export async function makersOfBackups(admin: Db): Promise<Map<string, string>> {
  const docs = await runs(admin).find({}, { projection: { scheduleId: 1 } }).toArray();
  const maker = runDocSchema().pick({ _id: true, scheduleId: true });
  return new Map(docs.flatMap((d) => {
    const p = maker.safeParse(d);
    return p.success ? [[p.data._id, p.data.scheduleId.replace(/^[^/]+\//, "")] as const] : [];
  }));
}

/** Marks a backup retention deleted. */
export async function recordDeleted(admin: Db, backup: string, at: Date): Promise<void> {
  await runs(admin).updateOne({ _id: backup }, { $set: { deletedAt: at } });
}
