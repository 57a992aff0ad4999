// The schedule registry in the target cluster (admin.pulumiPbmSchedules, beside pbm's control collections),
// shared by every stack and by the runner. Resources write only declaration fields; the runner owns `run`.
import type { Db } from "mongodb";
import { z } from "zod";
import type { RuleParty } from "../core/pitrRule";

export const SCHEDULES = "pulumiPbmSchedules";
export const RUNS = "pulumiPbmRuns";

export type EntryKind = "schedule" | "pitrBase" | "pitrPolicy";

/**
 * The registry document's schema, built once per process on first use (this module is never serialised by
 * Pulumi, so a module-level value is safe here; the runner parses every entry on every pass).
 */
export function entrySchema(): EntrySchema {
  return (schema ??= buildEntrySchema());
}
type EntrySchema = ReturnType<typeof buildEntrySchema>;
let schema: EntrySchema | undefined;

function buildEntrySchema() {
  return z.object({
    _id: z.string(),
    kind: z.enum(["schedule", "pitrBase", "pitrPolicy"]),
    name: z.string(),
    enabled: z.boolean(),
    cron: z.string().optional(),
    backup: z
      .object({
        type: z.enum(["logical", "physical", "incremental"]),
        compression: z.string().optional(),
        compressionLevel: z.number().optional(),
        namespaces: z.array(z.string()).optional(),
        profile: z.string().optional(),
      })
      .optional(),
    retention: z.object({ count: z.number().optional(), maxAgeDays: z.number().optional() }).optional(),
    /** Seconds one pbm call of this job may take (the resource's timeoutSec). */
    timeoutSec: z.number().optional(),
    declaredBy: z.object({ project: z.string().optional(), stack: z.string().optional(), urn: z.string().optional() }),
    /** Set while a create or update is claiming the rule's guard; the runner does not run pending entries. */
    pending: z.boolean().optional(),
    /** The token of this declaration's claim in the guard (./guard.ts); a new one per claim. */
    guardToken: z.string().optional(),
    createdAt: z.date(),
    updatedAt: z.date(),
    run: z.record(z.string(), z.unknown()).optional(),
  });
}
export type RegistryEntry = z.infer<EntrySchema>;
export type Declaration = Omit<RegistryEntry, "_id" | "createdAt" | "updatedAt" | "run">;

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

/** Every entry in the registry; a document that does not parse as an entry is left out. */
/** The registry's entries (those matching `filter`, a MongoDB query on the entry documents). */
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
