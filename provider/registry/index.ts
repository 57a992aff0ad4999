// The schedule registry in the target cluster (admin.pulumiPbmSchedules, beside pbm's control collections),
// shared by every stack and by the runner. Resources write only declaration fields; the runner owns `run`.
import type { Db } from "mongodb";
import { z } from "zod";

export const SCHEDULES = "pulumiPbmSchedules";
export const RUNS = "pulumiPbmRuns";

export type EntryKind = "schedule" | "pitrBase" | "pitrPolicy";

export function entrySchema() {
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
    declaredBy: z.object({ project: z.string().optional(), stack: z.string().optional(), urn: z.string().optional() }),
    createdAt: z.date(),
    updatedAt: z.date(),
    run: z.record(z.string(), z.unknown()).optional(),
  });
}
export type RegistryEntry = z.infer<ReturnType<typeof entrySchema>>;
export type Declaration = Omit<RegistryEntry, "_id" | "createdAt" | "updatedAt" | "run">;

export const entryId = (kind: EntryKind, name: string) => `${kind}/${name}`;

/** Creates or updates a declaration without touching the runner's `run` state. */
export async function upsertEntry(admin: Db, d: Declaration): Promise<void> {
  const now = new Date();
  const { kind, name, ...fields } = d;
  const unset: Record<string, ""> = {};
  for (const k of ["cron", "backup", "retention"] as const) if (fields[k] === undefined) unset[k] = "";
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

export async function listEntries(admin: Db): Promise<RegistryEntry[]> {
  const docs = await admin.collection<{ _id: string }>(SCHEDULES).find({}).toArray();
  return docs.flatMap((d) => {
    const p = entrySchema().safeParse(d);
    return p.success ? [p.data] : [];
  });
}

export async function deleteEntry(admin: Db, kind: EntryKind, name: string): Promise<void> {
  await admin.collection<{ _id: string }>(SCHEDULES).deleteOne({ _id: entryId(kind, name) });
}

const who = (e: RegistryEntry) => {
  const by = [e.declaredBy.project, e.declaredBy.stack].filter(Boolean).join("/");
  return `"${e.name}"${by ? ` (stack ${by})` : ""}`;
};

/**
 * PMM's rule: PITR may not be enabled on a cluster while other scheduled backups are enabled there.
 * Returns the entries that conflict with enabling `wanted` (disabled entries and PITR base cadences never count).
 */
export function findPitrConflicts(entries: RegistryEntry[], wanted: { kind: "schedule" | "pitrPolicy"; name: string }): RegistryEntry[] {
  const other = wanted.kind === "schedule" ? "pitrPolicy" : "schedule";
  return entries.filter((e) => e.enabled && e.kind === other && !(e.kind === wanted.kind && e.name === wanted.name));
}

/** The rule's message: PMM's wording, the conflicting names, and the fix. */
export function pitrConflictMessage(cluster: string, wanted: { kind: "schedule" | "pitrPolicy"; name: string }, conflicts: RegistryEntry[]): string {
  const names = conflicts.map(who).join(", ");
  if (wanted.kind === "pitrPolicy")
    return `A PITR backup for the cluster '${cluster}' can be enabled only if there are no other scheduled backups for this cluster. Enabled scheduled backups there: ${names}. Set enabled: false on those ScheduledBackups (or delete them) before enabling PITR; a base-snapshot cadence on the PitrPolicy itself is allowed, and other clusters are not affected`;
  return `A snapshot backup for cluster '${cluster}' can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled there by PitrPolicy ${names}. Set enabled: false on this ScheduledBackup, or disable PITR first; to keep base snapshots with PITR, use the PitrPolicy's baseSnapshotSchedule`;
}
