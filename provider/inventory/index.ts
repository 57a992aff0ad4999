// The backup inventory: snapshots (with the schedule that made each), PITR ranges with their unbacked parts,
// and the restorable window. One `pbm status` call plus one registry read; ranges, never chunk lists.
import { pbm, type PbmRunOptions } from "../pbm/commands";
import type { Status } from "../pbm/output";
import { RUNS } from "../registry";
import { clusterName, withPbmClient } from "../state/mongo";

export interface InventorySnapshot {
  name: string;
  type: string;
  status: string;
  sizeBytes: number;
  startTime: string;
  restoreToTime: string;
  profile?: string;
  schedule?: string;
  error?: string;
}
export interface InventoryRange {
  start: string;
  end: string;
  /** false for oplog that no base snapshot covers (not restorable). */
  backed: boolean;
}
export interface Inventory {
  cluster: string;
  snapshots: InventorySnapshot[];
  pitrRanges: InventoryRange[];
  /** Earliest and latest restorable times; null when nothing is restorable. */
  restorableWindow: { earliest: string; latest: string } | null;
  pitr: { enabled: boolean; running: boolean; error?: string; lastChunkTime?: string };
}

const iso = (sec: number) => new Date(sec * 1000).toISOString().replace(/\.000Z$/, "Z");

/** Builds the inventory from `pbm status` output and the runner's record of which schedule made what. */
export function inventoryFromStatus(cluster: string, st: Status, madeBy: Map<string, string>): Inventory {
  const snaps = st.backups?.snapshot ?? [];
  const ranges = st.backups?.pitrChunks?.pitrChunks ?? [];
  const snapshots: InventorySnapshot[] = snaps.map((s) => ({
    name: s.name,
    type: s.type,
    status: s.status,
    sizeBytes: s.size ?? 0,
    startTime: s.name,
    restoreToTime: iso(s.restoreTo),
    ...(s.profile ? { profile: s.profile } : {}),
    ...(madeBy.get(s.name) ? { schedule: madeBy.get(s.name) } : {}),
    ...(s.error ? { error: s.error } : {}),
  }));
  const pitrRanges = ranges.map((r) => ({ start: iso(r.range.start), end: iso(r.range.end), backed: !r.noBaseSnapshot }));
  const restorable: number[][] = ranges.filter((r) => !r.noBaseSnapshot).map((r) => [r.range.start, r.range.end]);
  for (const s of snaps) if (s.status === "done" && !s.profile && !(s.namespaces?.length)) restorable.push([s.restoreTo, s.restoreTo]);
  const window = restorable.length
    ? { earliest: iso(Math.min(...restorable.map((r) => r[0]))), latest: iso(Math.max(...restorable.map((r) => r[1]))) }
    : null;
  const lastChunk = ranges.length ? Math.max(...ranges.map((r) => r.range.end)) : undefined;
  return {
    cluster,
    snapshots,
    pitrRanges,
    restorableWindow: window,
    pitr: {
      enabled: st.pitr?.conf ?? false,
      running: st.pitr?.run ?? false,
      ...(st.pitr?.error ? { error: st.pitr.error } : {}),
      ...(lastChunk ? { lastChunkTime: iso(lastChunk) } : {}),
    },
  };
}

/** The inventory of a cluster on which pbm has no config yet. */
export async function emptyInventory(mongodbUri: string): Promise<Inventory> {
  const cluster = await withPbmClient(mongodbUri, clusterName);
  return { cluster, snapshots: [], pitrRanges: [], restorableWindow: null, pitr: { enabled: false, running: false } };
}

/** Reads the inventory of the cluster the URI reaches. */
export async function readInventory(o: PbmRunOptions): Promise<Inventory> {
  const { cluster, madeBy } = await withPbmClient(o.mongodbUri, async (admin) => {
    const runs = await admin.collection<{ _id: string; scheduleId: string }>(RUNS).find({}, { projection: { scheduleId: 1 } }).toArray();
    return { cluster: await clusterName(admin), madeBy: new Map(runs.map((r) => [String(r._id), String(r.scheduleId).replace(/^[^/]+\//, "")])) };
  });
  const st = await pbm.status(o, ["backups", "pitr"]);
  return inventoryFromStatus(cluster, st, madeBy);
}
