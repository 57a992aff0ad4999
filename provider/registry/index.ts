// The schedule registry in the target cluster (admin.pulumiPbmSchedules, beside pbm's control collections),
// shared by every stack and by the runner. Resources write declarations through the verbs here; the runner's
// `run` state and the runs collection have their own verbs (./runs.ts).
import type { Db } from "mongodb";
import { cronProblem, nextFireTime } from "../core/cron";
import type { RuleParty } from "../core/pitrRule";
import { WriteSignal } from "../core/writeSignal";
import { entrySchema, SCHEDULES, type Declaration, type EntryKind, type RegistryEntry } from "./documents";

export * from "./documents";
export * from "./runs";

export const entryId = (kind: EntryKind, name: string) => `${kind}/${name}`;

const registryWrites = new WriteSignal<[]>();
const announced = <T>(write: () => Promise<T>) => registryWrites.around([], write);

/** Calls `listener` around every write of a declaration in this process (upsert, delete, restore); returns the unsubscribe. */
export function onRegistryWrite(listener: () => void): () => void {
  return registryWrites.listen(listener);
}

/**
 * Creates or updates a declaration. Of the runner's `run` state it sets only `run.nextRunAt`, the next fire time
 * of the entry's cron from now, so a runner's first pass over new entries has nothing to write (a pass over
 * 1,000 just-declared schedules is one `find`). With `onlyOwn`, an entry another
 * stack declared is left alone and the result is false: the filter matches only an entry this declarer may write
 * (see `mayWrite`), so when another stack's entry holds the id the upsert's insert collides with it (E11000), in
 * one atomic step, even when two stacks write at the same moment.
 */
export async function upsertEntry(admin: Db, d: Declaration, o: { onlyOwn?: boolean } = {}): Promise<boolean> {
  const now = new Date();
  const { kind, name, ...fields } = d;
  const unset: Record<string, ""> = {};
  for (const k of ["cron", "backup", "retention", "timeoutSec", "pending", "guardToken"] as const) if (fields[k] === undefined) unset[k] = "";
  // A cron no check validated (a direct API call) gets no next run rather than failing the write.
  const nextRunAt = fields.cron === undefined || cronProblem(fields.cron) ? undefined : nextFireTime(fields.cron, now);
  if (nextRunAt === undefined) unset["run.nextRunAt"] = "";
  const id = entryId(kind, name);
  try {
    await announced(() => admin.collection<{ _id: string }>(SCHEDULES).updateOne(
      o.onlyOwn ? { _id: id, ...writableBy(d.declaredBy) } : { _id: id },
      {
        $set: { kind, name, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)), ...(nextRunAt ? { "run.nextRunAt": nextRunAt } : {}), updatedAt: now },
        $setOnInsert: { createdAt: now },
        ...(Object.keys(unset).length ? { $unset: unset } : {}),
      },
      { upsert: true },
    ));
    return true;
  } catch (err) {
    if (o.onlyOwn && (err as { code?: unknown }).code === 11000) return false;
    throw err;
  }
}

/**
 * Whether a declarer may write or delete an entry: one from the same project and stack, or either side without a
 * stack (the CLI, direct API calls, entries of older releases). Names are per cluster, so two stacks declaring a
 * ScheduledBackup of one name would otherwise overwrite, run and delete each other's schedule.
 */
export function mayWrite(entry: Pick<RegistryEntry, "declaredBy">, by: Declaration["declaredBy"]): boolean {
  if (!by.stack || !entry.declaredBy.stack) return true;
  return (entry.declaredBy.project ?? "") === (by.project ?? "") && entry.declaredBy.stack === by.stack;
}

/** The registry filter for `mayWrite`. */
function writableBy(by: Declaration["declaredBy"]): Record<string, unknown> {
  if (!by.stack) return {};
  const project = by.project === undefined ? { "declaredBy.project": { $exists: false } } : { "declaredBy.project": by.project };
  return { $or: [{ "declaredBy.stack": { $exists: false } }, { ...project, "declaredBy.stack": by.stack }] };
}

export async function getEntry(admin: Db, kind: EntryKind, name: string): Promise<RegistryEntry | null> {
  return parseEntry(await admin.collection<{ _id: string }>(SCHEDULES).findOne({ _id: entryId(kind, name) }));
}

const parseEntry = (doc: unknown): RegistryEntry | null => (doc ? entrySchema().parse(doc) : null);

/** A lookup of every entry, read with one query: `(kind, name)` answers as getEntry would, parsing only what is asked for. */
export async function entryLookup(admin: Db): Promise<(kind: EntryKind, name: string) => RegistryEntry | null> {
  const docs = new Map((await admin.collection<{ _id: string }>(SCHEDULES).find({}).toArray()).map((d) => [d._id, d]));
  return (kind, name) => parseEntry(docs.get(entryId(kind, name)));
}

/** The registry's entries (those matching `filter`, a MongoDB query on the entry documents); a document
 * that does not parse as an entry is left out. */
export async function listEntries(admin: Db, filter: Record<string, unknown> = {}): Promise<RegistryEntry[]> {
  const docs = await admin.collection<{ _id: string }>(SCHEDULES).find(filter).toArray();
  const entry = entrySchema();
  const out: RegistryEntry[] = [];
  for (const d of docs) {
    const p = entry.safeParse(d);
    if (p.success) out.push(p.data);
  }
  return out;
}

/** Deletes an entry; with `onlyBy`, only one that declarer may write (another stack's entry of the same name stays). */
export async function deleteEntry(admin: Db, kind: EntryKind, name: string, o: { onlyBy?: Declaration["declaredBy"] } = {}): Promise<boolean> {
  const r = await announced(() => admin.collection<{ _id: string }>(SCHEDULES).deleteOne({ _id: entryId(kind, name), ...(o.onlyBy ? writableBy(o.onlyBy) : {}) }));
  return r.deletedCount > 0;
}

/** Puts back an entry as it was before a failed change (deletes it if there was none). */
export async function restoreEntry(admin: Db, kind: EntryKind, name: string, before: RegistryEntry | null): Promise<void> {
  if (!before) {
    await deleteEntry(admin, kind, name);
    return;
  }
  await announced(() => admin.collection<{ _id: string }>(SCHEDULES).replaceOne({ _id: before._id }, before, { upsert: true }));
}

/** Who declared an entry, in the rule's terms. */
export function partyOf(e: RegistryEntry): RuleParty {
  return { kind: e.kind === "schedule" ? "schedule" : "pitrPolicy", name: e.name, ...e.declaredBy };
}
