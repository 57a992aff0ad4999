// The registry's two collections in the target cluster (beside pbm's control collections) and the shape of their
// documents. Field names are stored in existing clusters: rename none.
import { z } from "zod";
import { builtOnce } from "../builtOnce";

/** Declarations, one per ScheduledBackup, PitrPolicy and PitrPolicy base-snapshot job, each with its `run` state. */
export const SCHEDULES = "pulumiPbmSchedules";
/** One document per backup a job started, keyed by the backup's name. */
export const RUNS = "pulumiPbmRuns";

export type EntryKind = "schedule" | "pitrBase" | "pitrPolicy";

// The schemas are built once per process on first use (the runner parses every entry on every pass).
const built = builtOnce(buildSchemas);

/** The registry document's schema. */
export const entrySchema = () => built().entry;
/** The runner's state on an entry (its `run` field). */
export const runStateSchema = () => built().runState;
/** A document of the runs collection. */
export const runDocSchema = () => built().runDoc;

function buildSchemas() {
  // Written by this code as Dates; coerced so an entry another tool wrote with strings still runs.
  const date = z.coerce.date();
  // Loose: fields of other versions survive restoreEntry's replace.
  const runState = z.looseObject({
    /** Held by the runner that claimed the current fire time; removed when its job finishes. */
    lease: z.object({ holder: z.string(), expiresAt: date }).optional(),
    /** The last fire time claimed; a runner never claims it again. */
    lastFireTime: date.optional(),
    nextRunAt: date.optional(),
    lastStartedAt: date.optional(),
    lastBackupName: z.string().optional(),
    lastFinishedAt: date.optional(),
    lastResult: z.enum(["success", "error", "skipped"]).optional(),
    /** null after a success: the previous error no longer applies. */
    lastError: z.string().nullable().optional(),
  });
  const entry = z.object({
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
    run: runState.optional(),
  });
  const runDoc = z.object({
    /** The backup's name. */
    _id: z.string(),
    /** The entry (`kind/name`) whose job started it. */
    scheduleId: z.string(),
    kind: z.enum(["schedule", "pitrBase"]),
    fireTime: date,
    startedAt: date,
    status: z.enum(["running", "done", "error"]),
    finishedAt: date.optional(),
    error: z.string().optional(),
    /** When retention deleted the backup. */
    deletedAt: date.optional(),
  });
  return { entry, runState, runDoc };
}

export type RegistryEntry = z.infer<ReturnType<typeof entrySchema>>;
export type RunState = z.infer<ReturnType<typeof runStateSchema>>;
export type RunDoc = z.infer<ReturnType<typeof runDocSchema>>;
export type Declaration = Omit<RegistryEntry, "_id" | "createdAt" | "updatedAt" | "run">;
