// PitrPolicy: pbm's point-in-time recovery (`pitr.*`, one `pbm config --set` call), PMM's rule, the base
// snapshot PITR needs, and an optional base-snapshot cadence for the runner.
import type { Db } from "mongodb";
import { together } from "../core/together";
import { sameParty, type RuleParty } from "../core/pitrRule";
import { errors, tellLeft } from "../errors";
import { inventoryOutputs, sharedInventory, type Inventory, type TimeSpan } from "../inventory";
import { stdoutNotice, type NoticeSink } from "../notice";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { deleteEntry, getEntry, upsertEntry, type RegistryEntry } from "../registry";
import { pitrHolder, releasePitr } from "../registry/guard";
import { knownCompression, pitrPolicyInputs, type PitrPolicyInputs } from "../schemas";
import { agentStorageProblem, baseInProgress, clusterName, hasPitrBase, readPbmConfig, withPbmClient } from "../state/mongo";
import { clusterReads } from "./clusterReads";
import { changedKeys, checkWith, pick, sameTarget, type Handlers } from "./common";
import { checkUnderRule, enableUnderRule, type Undo } from "./enable";

/** Stand-ins for values unknown during preview, so cross-field rules still run. */
const PREVIEW_PLACEHOLDERS = { mongodbUri: "mongodb://unknown/", name: "pitr" };

const DESIRED = ["enabled", "oplogSpanMin", "compression", "compressionLevel", "oplogOnly", "takeBaseSnapshot", "baseSnapshotSchedule", "name", "pbmPath", "timeoutSec", "baseSnapshotMissing"] as const;

/**
 * What check hands on: the inputs, and `baseSnapshotMissing` when a base snapshot that failed after create left
 * PITR unable to slice (a change, so the up takes a new one; state never holds it).
 */
export type PitrPolicyChecked = PitrPolicyInputs & { baseSnapshotMissing?: boolean };

export interface PitrPolicyOutputs extends Omit<PitrPolicyInputs, "programConflicts" | "programReleases"> {
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

const partyOf = (i: Pick<PitrPolicyInputs, "name" | "declaredBy">): RuleParty => ({ kind: "pitrPolicy", name: i.name, ...i.declaredBy });
const label = (i: Pick<PitrPolicyInputs, "name">) => `PitrPolicy "${i.name}"`;
/** pbm's options for this resource's calls; waits for pbm's lock are told to `notice`. */
const pbmOptions = (i: Pick<PitrPolicyInputs, "mongodbUri" | "pbmPath" | "timeoutSec">, notice: NoticeSink): PbmRunOptions => ({ mongodbUri: i.mongodbUri, pbmPath: i.pbmPath, timeoutSec: i.timeoutSec, onProgress: notice });
const sameDeclarer = (e: RegistryEntry | null, i: Pick<PitrPolicyInputs, "declaredBy">) => !!e && (e.declaredBy.project ?? "") === (i.declaredBy?.project ?? "") && (e.declaredBy.stack ?? "") === (i.declaredBy?.stack ?? "");

/** The inventory's status for this resource's outputs, bounded like the inventory's own (no text grows with history). */
function statusOutputs(inv: Inventory): Pick<PitrPolicyOutputs, "slicing" | "pitrError" | "lastChunkTime" | "latestRestorableWindow"> {
  const o = inventoryOutputs(inv);
  return {
    slicing: o.pitr.running,
    ...(o.pitr.error ? { pitrError: o.pitr.error } : {}),
    ...(o.pitr.lastChunkTime ? { lastChunkTime: o.pitr.lastChunkTime } : {}),
    latestRestorableWindow: o.latestRestorableWindow,
  };
}

/** Whether `i` holds PITR on the cluster: by its claim in the guard, or (no claim) by an entry from before the guard. */
async function holdsPitr(admin: Db, i: Pick<PitrPolicyInputs, "name" | "declaredBy">, entry: RegistryEntry | null): Promise<boolean> {
  const holder = await pitrHolder(admin);
  if (holder) return sameParty(holder, partyOf(i));
  return !!entry && !entry.guardToken && sameDeclarer(entry, i);
}

type PitrSettings = Record<string, string | number | boolean>;

function desiredSettings(i: PitrPolicyInputs): PitrSettings {
  const set: PitrSettings = { "pitr.enabled": i.enabled, "pitr.oplogSpanMin": i.oplogSpanMin, "pitr.oplogOnly": i.oplogOnly };
  if (i.compression) set["pitr.compression"] = i.compression;
  if (i.compressionLevel !== undefined) set["pitr.compressionLevel"] = i.compressionLevel;
  return set;
}

/** The values to put back for the keys `desired` sets, from pbm's pitr section before the change. */
function previousSettings(desired: PitrSettings, before: Record<string, unknown> | undefined): PitrSettings {
  const defaults: PitrSettings = { "pitr.enabled": false, "pitr.oplogSpanMin": 10, "pitr.oplogOnly": false };
  const out: PitrSettings = {};
  for (const k of Object.keys(desired)) {
    const v = before?.[k.slice("pitr.".length)];
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = v;
    else if (k in defaults) out[k] = defaults[k];
  }
  return out;
}

/** `pbm config --set pitr.*`; on failure puts back what was there and says what it left. Returns the undo. */
async function setPitr(admin: Db, i: PitrPolicyInputs, notice: NoticeSink): Promise<Undo> {
  const o = pbmOptions(i, notice);
  const desired = desiredSettings(i);
  const before: Record<string, unknown> | undefined = (await readPbmConfig(admin))?.pitr;
  const undo: Undo = () =>
    pbm.setConfig(previousSettings(desired, before), o).then(
      () => "pbm's pitr settings were put back as they were",
      (e: Error) => `putting pbm's pitr settings back failed too (${e.message.replace(/^\[PBMP-\d+\] /, "")}), so they may be partly changed: run pulumi up again`,
    );
  try {
    await pbm.setConfig(desired, o);
  } catch (err) {
    // pbm refuses a config change while another operation holds its lock, before writing anything.
    const untouched = err instanceof Error && /another operation in progress/.test(err.message);
    tellLeft(err, `${label(i)}: ${untouched ? "pbm's pitr settings were not changed" : await undo()}`);
    throw err;
  }
  return undo;
}

/**
 * Makes sure PITR has a base snapshot: none is started when one is done or under way (a retry after a kill, or a
 * scheduled one running). Storage the agents report unusable fails this create before anything starts; a base
 * it starts is followed until pbm has accepted it (`starting` → `running`, up to 30 s), so one refused at once
 * fails it too. One that fails later is noticed by the next check (`baseSnapshotMissing`), whose up takes another.
 */
async function ensureBase(admin: Db, i: PitrPolicyInputs, cluster: string, notice: NoticeSink): Promise<string | undefined> {
  if (!i.enabled || i.oplogOnly || !i.takeBaseSnapshot || (await hasPitrBase(admin))) return undefined;
  const running = await baseInProgress(admin);
  if (running) return running;
  const storage = await agentStorageProblem(admin);
  if (storage)
    throw errors.storage(`${label(i)}: pbm-agent on cluster "${cluster}" cannot use the backup storage, so PITR can get no base snapshot: ${storage}`, {
      advice: "Fix the storage access the BackupLocation gives pbm (bucket, endpoint, credentials; `pbm status` shows it), then run pulumi up again.",
    });
  const o = pbmOptions(i, notice);
  const started = await pbm.backup(o, { type: i.baseSnapshotSchedule?.type === "physical" ? "physical" : "logical" });
  notice(`${label(i)} started base snapshot "${started.name}" on cluster "${cluster}"; PITR slicing begins when it is done`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const d = await pbm.describeBackup(started.name, o).catch(() => undefined);
    if (d?.status === "error" || d?.status === "canceled")
      throw errors.pbmFailed(`${label(i)}: base snapshot "${started.name}" on cluster "${cluster}" failed: ${d.error ?? d.status}`, {
        advice: "PITR needs a base snapshot: fix the cause (`pbm logs`; storage access and the agents are the usual ones), then run pulumi up again.",
      });
    if ((d && d.status !== "starting") || Date.now() > deadline) return started.name;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Whether PITR still lacks a base: enabled, wants one, none done and none under way. */
async function baseMissing(admin: Db, i: PitrPolicyInputs): Promise<boolean> {
  return i.enabled && !i.oplogOnly && i.takeBaseSnapshot && !(await hasPitrBase(admin)) && !(await baseInProgress(admin));
}

/** The PitrPolicy's base-snapshot cadence, for the runner (not a scheduled backup under the rule). */
async function declareBaseSchedule(admin: Db, i: PitrPolicyInputs): Promise<void> {
  if (!i.baseSnapshotSchedule) {
    await deleteEntry(admin, "pitrBase", i.name);
    return;
  }
  await upsertEntry(admin, {
    kind: "pitrBase",
    name: i.name,
    enabled: i.enabled,
    cron: i.baseSnapshotSchedule.schedule,
    backup: { type: i.baseSnapshotSchedule.type },
    retention: i.baseSnapshotSchedule.retention,
    declaredBy: i.declaredBy ?? {},
  });
}

async function apply(i: PitrPolicyChecked, notice: NoticeSink, previous?: PitrPolicyOutputs): Promise<PitrPolicyOutputs> {
  const { cluster, started } = await withPbmClient(i.mongodbUri, async (admin) => {
    const cluster = await clusterName(admin);
    if (!(await readPbmConfig(admin))?.storage) throw errors.notConfigured(`${label(i)}: cluster "${cluster}" has no pbm storage configured`);
    const before = await getEntry(admin, "pitrPolicy", i.name);
    let mine = true;
    let started: string | undefined;
    // Enabling: the entry pending, the guard claimed, then pbm's pitr settings and the base snapshot PITR needs.
    if (i.enabled)
      started = await enableUnderRule(admin, {
        party: partyOf(i),
        label: label(i),
        inputs: i,
        before,
        declaration: { kind: "pitrPolicy", name: i.name, enabled: true, declaredBy: i.declaredBy ?? {} },
        holdsClaim: () => holdsPitr(admin, i, before),
        change: () => setPitr(admin, i, notice),
        then: () => ensureBase(admin, i, cluster, notice),
        notice,
      });
    else if (await holdsPitr(admin, i, before)) {
      await setPitr(admin, i, notice);
      await upsertEntry(admin, { kind: "pitrPolicy", name: i.name, enabled: false, declaredBy: i.declaredBy ?? {} });
      await releasePitr(admin, partyOf(i));
    } else mine = !before || sameDeclarer(before, i); // PITR there belongs to someone else: leave it alone
    if (mine) await declareBaseSchedule(admin, i);
    return { cluster, started };
  });
  const baseSnapshot = started ?? previous?.baseSnapshot;
  const { programConflicts: _c, programReleases: _r, baseSnapshotMissing: _m, ...inputs } = i;
  return { ...inputs, cluster, slicing: previous?.slicing ?? false, latestRestorableWindow: previous?.latestRestorableWindow ?? null, ...(baseSnapshot ? { baseSnapshot } : {}) };
}

/** The PitrPolicy handlers; notices (a base snapshot started, a wait) go to `notice`. */
export function pitrPolicyHandlers(notice: NoticeSink = stdoutNotice) {
  return {
    async check(olds, news) {
      return checkUnderRule<PitrPolicyChecked>(checkWith(pitrPolicyInputs(), news, PREVIEW_PLACEHOLDERS), partyOf, async (admin, i) =>
        olds.mongodbUri !== undefined && (await baseMissing(admin, i)) ? { baseSnapshotMissing: true } : undefined,
      );
    },

    async diff(_id, olds, news) {
      const changed = changedKeys(olds, news, [...DESIRED, "declaredBy"]);
      const replaces = !sameTarget(olds.mongodbUri, news.mongodbUri) ? ["mongodbUri"] : changed.includes("name") ? ["name"] : [];
      return { changes: changed.length > 0 || replaces.length > 0 || olds.mongodbUri !== news.mongodbUri, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
      const outs = await apply(inputs, notice);
      return { id: `${outs.cluster}/pitr`, outs };
    },

    // State written by 0.1 may still carry `restorableWindow` (min..max over all ranges, gaps included): not carried over.
    async read(id, { restorableWindow: _v01, ...props }: PitrPolicyOutputs & { restorableWindow?: unknown }) {
      const [{ live, registered }, inv] = await together(
        clusterReads(props.mongodbUri).then((reads) => {
          const entry = reads.entry("pitrPolicy", props.name);
          return { live: reads.config?.pitr, registered: !props.enabled || (!!entry?.enabled && sameDeclarer(entry, props)) };
        }),
        // Shared with every other resource on this cluster in this process: one `pbm status` per cluster.
        sharedInventory({ mongodbUri: props.mongodbUri, pbmPath: props.pbmPath, timeoutSec: props.timeoutSec }),
      );
      const inputs: PitrPolicyInputs = {
        ...props,
        enabled: !!live?.enabled,
        oplogSpanMin: live?.oplogSpanMin ?? 10,
        oplogOnly: !!live?.oplogOnly,
        ...(props.compression !== undefined || live?.compression ? { compression: live?.compression ? knownCompression(live.compression) : props.compression } : {}),
        ...(live?.compressionLevel !== undefined ? { compressionLevel: live.compressionLevel } : {}),
        // The cluster no longer records this declaration (its registry entry was removed): show it as drift, so
        // the next up writes it back and other stacks see PITR's owner again.
        ...(registered ? {} : { declaredBy: undefined }),
      };
      const outs = { ...props, ...inputs, ...statusOutputs(inv) };
      return { id, props: outs, inputs: { ...pick(outs, ["mongodbUri", ...DESIRED, "declaredBy"]), programConflicts: [], programReleases: [] } };
    },

    async update(_id, olds, news) {
      return { outs: await apply(news, notice, olds) };
    },

    /**
     * Turns slicing off if this PitrPolicy holds PITR on the cluster, and keeps every chunk and snapshot. PITR
     * that another owner holds is left as it is.
     */
    async delete(_id, props) {
      await withPbmClient(props.mongodbUri, async (admin) => {
        const entry = await getEntry(admin, "pitrPolicy", props.name);
        if (await holdsPitr(admin, props, entry)) await pbm.setConfig({ "pitr.enabled": false }, pbmOptions(props, notice));
        if (!entry || sameDeclarer(entry, props)) {
          await deleteEntry(admin, "pitrPolicy", props.name);
          await deleteEntry(admin, "pitrBase", props.name);
        }
        await releasePitr(admin, partyOf(props));
      });
    },
  } satisfies Handlers<PitrPolicyChecked, PitrPolicyOutputs>;
}

export const pitrPolicy = pitrPolicyHandlers();
