// The schedule registry in the target cluster (admin.pulumiPbmSchedules, beside pbm's control collections),
// shared by every stack and by the runner. Resources write declarations through the verbs here; the runner's
// `run` state and the runs collection have their own verbs (./runs.ts).
import type { Db } from "mongodb";
import type { RuleParty } from "../core/pitrRule";
import { entrySchema, SCHEDULES, type Declaration, type EntryKind, type RegistryEntry } from "./documents";

export * from "./documents";
export * from "./runs";

export const entryId = (kind: EntryKind, name: string) => `${kind}/${name}`;

/** Creates or updates a declaration without touching the runner's `run` state. */
export async function upsertEntry(admin: Db, d: Declaration): Promise<void> {
  const now = new Date();
  const { kind, name, ...fields } = d;
  const unset: Record<string, ""> = {};
  for (const k of ["cron", "backup", "retention", "timeoutSec", "pending", "guardToken"] as const) if (fields[k] === undefined) unset[k] = "";
  await admin.collection<{ _id: string }>(SCHEDULES).updateOne(
    { _id: entryId(kind, name) },
    {
      $set: { kind, name, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)), updatedAt: now },
      $setOnInsert: { createdAt: now },
      ...(Object.keys(unset).length ? { $unset: unset } : {}),
    },
    { upsert: true },
  );
}

export async function getEntry(admin: Db, kind: EntryKind, name: string): Promise<RegistryEntry | null> {
  const doc = await admin.collection<{ _id: string }>(SCHEDULES).findOne({ _id: entryId(kind, name) });
  return doc ? entrySchema().parse(doc) : null;
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

export async function deleteEntry(admin: Db, kind: EntryKind, name: string): Promise<void> {
  await admin.collection<{ _id: string }>(SCHEDULES).deleteOne({ _id: entryId(kind, name) });
}

/** Puts back an entry as it was before a failed change (deletes it if there was none). */
export async function restoreEntry(admin: Db, kind: EntryKind, name: string, before: RegistryEntry | null): Promise<void> {
  if (!before) return deleteEntry(admin, kind, name);
  await admin.collection<{ _id: string }>(SCHEDULES).replaceOne({ _id: before._id }, before, { upsert: true });
}

/** Who declared an entry, in the rule's terms. */
export function partyOf(e: RegistryEntry): RuleParty {
  return { kind: e.kind === "schedule" ? "schedule" : "pitrPolicy", name: e.name, ...e.declaredBy };
}
