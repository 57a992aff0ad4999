// The backup inventory: snapshots (with the schedule that made each), PITR ranges with their unbacked parts,
// and the restorable windows with the gaps between them. One `pbm status` call plus one registry read; ranges,
// never chunk lists. `restorableWindows` is the one place that decides what pbm can restore to: the restore
// check (ops/restore.ts), the CLI and the resources' outputs all read it.
import { ERROR_CODES, PbmProviderError } from "../errors";
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
/** A span of time, both ends included, in UTC ISO-8601 to the second. */
export interface TimeSpan {
  start: string;
  end: string;
}
export interface Inventory {
  cluster: string;
  /** false while pbm has no config on the cluster (no BackupLocation yet): nothing can be backed up. */
  configured: boolean;
  snapshots: InventorySnapshot[];
  pitrRanges: InventoryRange[];
  /**
   * Every contiguous span pbm can restore to, oldest first: each backed PITR range, and each finished full
   * snapshot's restore time (a zero-length window where no range covers it); touching or overlapping spans merged.
   */
  restorableWindows: TimeSpan[];
  /** The unrestorable time between consecutive windows: from the end of one window to the start of the next, both ends excluded. */
  gaps: TimeSpan[];
  /** The last of `restorableWindows` (the latest contiguous window); null when nothing is restorable. */
  latestRestorableWindow: TimeSpan | null;
  pitr: { enabled: boolean; running: boolean; error?: string; lastChunkTime?: string };
}

const iso = (sec: number) => new Date(sec * 1000).toISOString().replace(/\.000Z$/, "Z");

/**
 * Merges restorable spans (seconds, both ends included) into ordered windows and the gaps between them (pure).
 * pbm restores to whole seconds, so spans one second apart touch: a snapshot whose last write is T and the PITR
 * range from T+1 form one window.
 */
export function windowsFromSpans(spans: [number, number][]): { restorableWindows: TimeSpan[]; gaps: TimeSpan[] } {
  const merged: [number, number][] = [];
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0] || x[1] - y[1])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return {
    restorableWindows: merged.map(([a, b]) => ({ start: iso(a), end: iso(b) })),
    gaps: merged.slice(1).map(([a], i) => ({ start: iso(merged[i][1]), end: iso(a) })),
  };
}

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
  // What pbm restores to: any time inside a backed range, and a finished full snapshot's restore time (a
  // selective or profile snapshot restores only by name, and is no PITR base).
  const restorable: [number, number][] = ranges.filter((r) => !r.noBaseSnapshot).map((r) => [r.range.start, r.range.end]);
  for (const s of snaps) if (s.status === "done" && !s.profile && !(s.namespaces?.length)) restorable.push([s.restoreTo, s.restoreTo]);
  const { restorableWindows, gaps } = windowsFromSpans(restorable);
  // A loop, not Math.max(...): a spread of 200,000 ranges overflows the call stack.
  const lastChunk = ranges.length ? ranges.reduce((m, r) => Math.max(m, r.range.end), -Infinity) : undefined;
  return {
    cluster,
    configured: true,
    snapshots,
    pitrRanges,
    restorableWindows,
    gaps,
    latestRestorableWindow: restorableWindows[restorableWindows.length - 1] ?? null,
    pitr: {
      enabled: st.pitr?.conf ?? false,
      running: st.pitr?.run ?? false,
      ...(st.pitr?.error ? { error: st.pitr.error } : {}),
      ...(lastChunk ? { lastChunkTime: iso(lastChunk) } : {}),
    },
  };
}

/** The inventory of a cluster on which pbm has no config yet (`configured: false`). */
export async function emptyInventory(mongodbUri: string): Promise<Inventory> {
  const cluster = await withPbmClient(mongodbUri, clusterName);
  return { cluster, configured: false, snapshots: [], pitrRanges: [], restorableWindows: [], gaps: [], latestRestorableWindow: null, pitr: { enabled: false, running: false } };
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

/** Like `readInventory`, but a cluster on which pbm has no config yet (PBMP-3003) reads as `emptyInventory`. */
export async function readInventoryOrEmpty(o: PbmRunOptions): Promise<Inventory> {
  return readInventory(o).catch((err: unknown) => {
    if (err instanceof PbmProviderError && err.code === ERROR_CODES.NOT_CONFIGURED.code) return emptyInventory(o.mongodbUri);
    throw err;
  });
}
