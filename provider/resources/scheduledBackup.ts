// ScheduledBackup: a cron schedule in the registry collection of the target cluster. pbm has no scheduler;
// the package's runner (`pulumi-pbm scheduler`) executes it. Deleting it keeps every backup it made.
import { PbmInputError } from "../errors";
import { deleteEntry, findPitrConflicts, getEntry, listEntries, pitrConflictMessage, upsertEntry } from "../registry";
import { scheduledBackupInputs, type ScheduledBackupInputs } from "../schemas";
import { clusterName, withPbmClient } from "../state/mongo";
import { changedKeys, checkWith, isUnknown, pick, uriTarget } from "./common";

/** Stand-ins for values unknown during preview, so cross-field rules still run. */
const PREVIEW_PLACEHOLDERS = { mongodbUri: "mongodb://unknown/", name: "unknown", schedule: "0 0 * * *" };

const DESIRED = ["name", "schedule", "type", "compression", "compressionLevel", "namespaces", "profile", "retention", "enabled", "pbmPath"] as const;

export interface ScheduledBackupOutputs extends ScheduledBackupInputs {
  cluster: string;
  /** The next run time (UTC) by the schedule. */
  nextRunTime?: string;
}

function nextRun(cron: string): string | undefined {
  try {
    const { CronExpressionParser } = require("cron-parser") as typeof import("cron-parser");
    return CronExpressionParser.parse(cron, { tz: "UTC" }).next().toDate().toISOString();
  } catch {
    return undefined;
  }
}

async function conflictsFor(i: ScheduledBackupInputs) {
  return withPbmClient(i.mongodbUri, async (admin) => ({
    cluster: await clusterName(admin),
    conflicts: findPitrConflicts(await listEntries(admin), { kind: "schedule", name: i.name }),
  }));
}

async function apply(i: ScheduledBackupInputs): Promise<ScheduledBackupOutputs> {
  return withPbmClient(i.mongodbUri, async (admin) => {
    const cluster = await clusterName(admin);
    if (i.enabled) {
      // Checked again here: a PitrPolicy may have been enabled since preview, by this or another stack.
      const conflicts = findPitrConflicts(await listEntries(admin), { kind: "schedule", name: i.name });
      if (conflicts.length) throw new PbmInputError("PITR_CONFLICT", `ScheduledBackup "${i.name}": ${pitrConflictMessage(cluster, { kind: "schedule", name: i.name }, conflicts)}`, { solution: "" });
    }
    await upsertEntry(admin, {
      kind: "schedule",
      name: i.name,
      enabled: i.enabled,
      cron: i.schedule,
      backup: {
        type: i.type,
        ...(i.compression ? { compression: i.compression } : {}),
        ...(i.compressionLevel !== undefined ? { compressionLevel: i.compressionLevel } : {}),
        ...(i.namespaces?.length ? { namespaces: i.namespaces } : {}),
        ...(i.profile ? { profile: i.profile } : {}),
      },
      retention: i.retention,
      declaredBy: i.declaredBy ?? {},
    });
    return { ...i, cluster, nextRunTime: i.enabled ? nextRun(i.schedule) : undefined };
  });
}

export const scheduledBackup = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const r = checkWith(scheduledBackupInputs(), news, PREVIEW_PLACEHOLDERS);
    if (r.failures || !r.inputs) return r;
    const i = r.inputs as ScheduledBackupInputs;
    if (i.enabled === true && typeof i.mongodbUri === "string" && !isUnknown(i.mongodbUri) && !isUnknown(i.name)) {
      const { cluster, conflicts } = await conflictsFor(i);
      if (conflicts.length) return { failures: [{ property: "enabled", reason: pitrConflictMessage(cluster, { kind: "schedule", name: i.name }, conflicts) }] };
    }
    return r;
  },

  async diff(_id: string, olds: ScheduledBackupOutputs, news: ScheduledBackupInputs) {
    const changed = changedKeys(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>, DESIRED);
    const replaces = [...(uriTarget(olds.mongodbUri) !== uriTarget(news.mongodbUri) ? ["mongodbUri"] : []), ...(changed.includes("name") ? ["name"] : [])];
    return { changes: changed.length > 0 || replaces.length > 0 || olds.mongodbUri !== news.mongodbUri, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: ScheduledBackupInputs) {
    const outs = await apply(inputs);
    return { id: `${outs.cluster}/${inputs.name}`, outs };
  },

  async read(id: string, props: ScheduledBackupOutputs) {
    const entry = await withPbmClient(props.mongodbUri, (admin) => getEntry(admin, "schedule", props.name));
    if (!entry) return { id: "" };
    const inputs: ScheduledBackupInputs = {
      ...props,
      enabled: entry.enabled,
      schedule: entry.cron ?? props.schedule,
      type: entry.backup?.type ?? props.type,
      compression: entry.backup?.compression as ScheduledBackupInputs["compression"],
      compressionLevel: entry.backup?.compressionLevel,
      namespaces: entry.backup?.namespaces,
      profile: entry.backup?.profile,
      retention: entry.retention,
    };
    const outs = { ...props, ...inputs, nextRunTime: entry.enabled ? nextRun(inputs.schedule) : undefined };
    return { id, props: outs, inputs: pick(outs as unknown as Record<string, unknown>, ["mongodbUri", ...DESIRED, "declaredBy"]) };
  },

  async update(_id: string, _olds: ScheduledBackupOutputs, news: ScheduledBackupInputs) {
    return { outs: await apply(news) };
  },

  /** Removes the schedule; its backups stay (retention of existing backups is the runner's job). */
  async delete(_id: string, props: ScheduledBackupOutputs) {
    await withPbmClient(props.mongodbUri, (admin) => deleteEntry(admin, "schedule", props.name));
  },
};
