// PitrPolicy: pbm's point-in-time recovery (`pitr.*`, one `pbm config --set` call), PMM's rule, the base
// snapshot PITR needs, and an optional base-snapshot cadence for the runner.
import { PbmInputError, PbmStateError } from "../errors";
import { readInventory, type Inventory, type TimeSpan } from "../inventory";
import { pbm } from "../pbm/commands";
import { deleteEntry, findPitrConflicts, listEntries, pitrConflictMessage, upsertEntry } from "../registry";
import { pitrPolicyInputs, type PitrPolicyInputs } from "../schemas";
import { clusterName, hasPitrBase, readPbmConfig, withPbmClient } from "../state/mongo";
import { changedKeys, checkWith, isUnknown, pick, uriTarget } from "./common";

/** Stand-ins for values unknown during preview, so cross-field rules still run. */
const PREVIEW_PLACEHOLDERS = { mongodbUri: "mongodb://unknown/", name: "pitr" };

const DESIRED = ["enabled", "oplogSpanMin", "compression", "compressionLevel", "oplogOnly", "takeBaseSnapshot", "baseSnapshotSchedule", "name", "pbmPath"] as const;

export interface PitrPolicyOutputs extends PitrPolicyInputs {
  cluster: string;
  /** Whether pbm is slicing the oplog now. */
  slicing: boolean;
  /** pbm's PITR error (e.g. no base snapshot), if any. */
  pitrError?: string;
  lastChunkTime?: string;
  /** The latest contiguous restorable window (the inventory's last `restorableWindows` entry); null when none. */
  latestRestorableWindow?: TimeSpan | null;
  /** Name of the base snapshot this resource started, if it had to. */
  baseSnapshot?: string;
}

async function ruleConflicts(i: Pick<PitrPolicyInputs, "mongodbUri" | "name">) {
  return withPbmClient(i.mongodbUri, async (admin) => {
    const cluster = await clusterName(admin);
    const conflicts = findPitrConflicts(await listEntries(admin), { kind: "pitrPolicy", name: i.name });
    return { cluster, conflicts };
  });
}

function statusOutputs(inv: Inventory): Pick<PitrPolicyOutputs, "slicing" | "pitrError" | "lastChunkTime" | "latestRestorableWindow"> {
  return {
    slicing: inv.pitr.running,
    ...(inv.pitr.error ? { pitrError: inv.pitr.error } : {}),
    ...(inv.pitr.lastChunkTime ? { lastChunkTime: inv.pitr.lastChunkTime } : {}),
    latestRestorableWindow: inv.latestRestorableWindow,
  };
}

async function apply(i: PitrPolicyInputs, previous?: PitrPolicyOutputs): Promise<PitrPolicyOutputs> {
  const o = { mongodbUri: i.mongodbUri, pbmPath: i.pbmPath };
  const { cluster, configured, baseExists, conflicts } = await withPbmClient(i.mongodbUri, async (admin) => {
    const entries = await listEntries(admin);
    return {
      cluster: await clusterName(admin),
      configured: !!(await readPbmConfig(admin))?.storage,
      baseExists: await hasPitrBase(admin),
      conflicts: findPitrConflicts(entries, { kind: "pitrPolicy", name: i.name }),
    };
  });
  // Checked again here: another stack may have enabled a schedule since preview.
  if (i.enabled && conflicts.length) throw new PbmInputError("PITR_CONFLICT", `PitrPolicy "${i.name}": ${pitrConflictMessage(cluster, { kind: "pitrPolicy", name: i.name }, conflicts)}`, { solution: "" });
  if (!configured) throw new PbmStateError("NOT_CONFIGURED", `PitrPolicy "${i.name}": cluster "${cluster}" has no pbm storage configured`);

  const set: Record<string, string | number | boolean> = { "pitr.enabled": i.enabled, "pitr.oplogSpanMin": i.oplogSpanMin, "pitr.oplogOnly": i.oplogOnly };
  if (i.compression) set["pitr.compression"] = i.compression;
  if (i.compressionLevel !== undefined) set["pitr.compressionLevel"] = i.compressionLevel;
  await pbm.setConfig(set, o);

  await withPbmClient(i.mongodbUri, async (admin) => {
    const declaredBy = i.declaredBy ?? {};
    await upsertEntry(admin, { kind: "pitrPolicy", name: i.name, enabled: i.enabled, declaredBy });
    if (i.baseSnapshotSchedule)
      await upsertEntry(admin, {
        kind: "pitrBase",
        name: i.name,
        enabled: i.enabled,
        cron: i.baseSnapshotSchedule.schedule,
        backup: { type: i.baseSnapshotSchedule.type },
        retention: i.baseSnapshotSchedule.retention,
        declaredBy,
      });
    else await deleteEntry(admin, "pitrBase", i.name);
  });

  let baseSnapshot = previous?.baseSnapshot;
  if (i.enabled && !i.oplogOnly && i.takeBaseSnapshot && !baseExists) {
    const started = await pbm.backup(o, { type: i.baseSnapshotSchedule?.type === "physical" ? "physical" : "logical" });
    baseSnapshot = started.name;
    console.log(`pulumi-pbm: PitrPolicy "${i.name}" started base snapshot "${started.name}" on cluster "${cluster}"; PITR slicing begins when it is done`);
  }
  return { ...i, cluster, slicing: previous?.slicing ?? false, latestRestorableWindow: previous?.latestRestorableWindow ?? null, ...(baseSnapshot ? { baseSnapshot } : {}) };
}

export const pitrPolicy = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const r = checkWith(pitrPolicyInputs(), news, PREVIEW_PLACEHOLDERS);
    if (r.failures || !r.inputs) return r;
    const i = r.inputs as PitrPolicyInputs;
    if (i.enabled === true && typeof i.mongodbUri === "string" && !isUnknown(i.mongodbUri)) {
      const { cluster, conflicts } = await ruleConflicts(i);
      if (conflicts.length) return { failures: [{ property: "enabled", reason: pitrConflictMessage(cluster, { kind: "pitrPolicy", name: i.name }, conflicts) }] };
    }
    return r;
  },

  async diff(_id: string, olds: PitrPolicyOutputs, news: PitrPolicyInputs) {
    const changed = changedKeys(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>, DESIRED);
    const replaces = uriTarget(olds.mongodbUri) !== uriTarget(news.mongodbUri) ? ["mongodbUri"] : changed.includes("name") ? ["name"] : [];
    return { changes: changed.length > 0 || replaces.length > 0 || olds.mongodbUri !== news.mongodbUri, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: PitrPolicyInputs) {
    const outs = await apply(inputs);
    return { id: `${outs.cluster}/pitr`, outs };
  },

  async read(id: string, props: PitrPolicyOutputs) {
    const live = await withPbmClient(props.mongodbUri, async (admin) => (await readPbmConfig(admin))?.pitr);
    const inv = await readInventory({ mongodbUri: props.mongodbUri, pbmPath: props.pbmPath });
    const inputs: PitrPolicyInputs = {
      ...props,
      enabled: !!live?.enabled,
      oplogSpanMin: live?.oplogSpanMin ?? 10,
      oplogOnly: !!live?.oplogOnly,
      ...(props.compression !== undefined || live?.compression ? { compression: live?.compression ?? props.compression } : {}),
      ...(live?.compressionLevel !== undefined ? { compressionLevel: live.compressionLevel } : {}),
    };
    const outs = { ...props, ...inputs, ...statusOutputs(inv) };
    // 0.1 named this output `restorableWindow` (min..max over all ranges, gaps included): not carried over.
    delete (outs as { restorableWindow?: unknown }).restorableWindow;
    return { id, props: outs, inputs: pick(outs as unknown as Record<string, unknown>, ["mongodbUri", ...DESIRED, "declaredBy"]) };
  },

  async update(_id: string, olds: PitrPolicyOutputs, news: PitrPolicyInputs) {
    return { outs: await apply(news, olds) };
  },

  /** Turns slicing off and keeps every chunk and snapshot. */
  async delete(_id: string, props: PitrPolicyOutputs) {
    await pbm.setConfig({ "pitr.enabled": false }, { mongodbUri: props.mongodbUri, pbmPath: props.pbmPath });
    await withPbmClient(props.mongodbUri, async (admin) => {
      await deleteEntry(admin, "pitrPolicy", props.name);
      await deleteEntry(admin, "pitrBase", props.name);
    });
  },
};
