// What of the inventory goes into stack state: a summary whose size does not grow with the history (pure).
// The full inventory stays available from `pulumi-pbm inventory --json` and `getBackupInventory()`.
//
// The bound (docs/SCALE.md): at most OUTPUT_LIMITS.list entries per list (the latest ones), every string
// cut to OUTPUT_LIMITS.textChars, counts and totals for what was left out; JSON.stringify of the result is at
// most MAX_OUTPUT_CHARS characters whatever the history (the resource's own inputs, such as the URI, come on top).
import type { Inventory, InventoryRange, InventorySnapshot, TimeSpan } from "./model";

export const OUTPUT_LIMITS = {
  /** Entries kept per list (snapshots, pitrRanges, restorableWindows, gaps): the latest. */
  list: 20,
  /** Characters kept of any free-text value (names, errors), with "…" when cut. */
  textChars: 200,
} as const;

/**
 * Upper bound of `JSON.stringify(inventoryOutputs(inv)).length`, asserted by test/scale with every string at its
 * longest and full of characters JSON escapes (control characters become spaces, so an escape costs 2): 20
 * snapshots × 9 strings × (2 × 200 + 2) + 3 lists × 20 × 2 × 402 + the rest ≈ 122 KiB. A usual history (pbm's
 * own names and times, short errors) takes 5 to 8 KiB.
 */
export const MAX_OUTPUT_CHARS = 128 * 1024;

/**
 * The inventory as state keeps it: the same fields, each list holding only its latest OUTPUT_LIMITS.list
 * entries (snapshots newest first, the rest oldest first), plus figures over the whole history.
 */
export interface InventoryOutputs extends Inventory {
  /** Start of the oldest restorable window (over the whole history); null when nothing is restorable. */
  earliestRestorableTime: string | null;
  /** Counts over the whole history. */
  totals: { snapshots: number; snapshotSizeBytes: number; pitrRanges: number; unbackedPitrRanges: number; restorableWindows: number; gaps: number };
  /** True when a list above holds only the latest entries; the full lists: `pulumi-pbm inventory --json`, `getBackupInventory()`. */
  truncated: boolean;
}

// Control characters would cost 6 characters each as JSON escapes; they become spaces.
const cut = (s: string): string => {
  const t = String(s).replace(/[\u0000-\u001f]/g, " ");
  const c = t.length > OUTPUT_LIMITS.textChars ? `${t.slice(0, OUTPUT_LIMITS.textChars - 1)}…` : t;
  // A cut through a surrogate pair (or a lone one in the input) would be escaped as 6 characters.
  return (c as string & { toWellFormed(): string }).toWellFormed();
};
const lastN = <T>(xs: T[]): T[] => (xs.length > OUTPUT_LIMITS.list ? xs.slice(xs.length - OUTPUT_LIMITS.list) : xs);
const span = (w: TimeSpan): TimeSpan => ({ start: cut(w.start), end: cut(w.end) });

function snapshot(s: InventorySnapshot): InventorySnapshot {
  return {
    name: cut(s.name),
    type: cut(s.type),
    status: cut(s.status),
    sizeBytes: Number.isFinite(s.sizeBytes) ? s.sizeBytes : 0,
    startTime: cut(s.startTime),
    restoreToTime: cut(s.restoreToTime),
    ...(s.profile ? { profile: cut(s.profile) } : {}),
    ...(s.schedule ? { schedule: cut(s.schedule) } : {}),
    ...(s.error ? { error: cut(s.error) } : {}),
  };
}

/** The latest `n` snapshots by start time, in the inventory's order (pbm lists newest first). Linear. */
function latestSnapshots(all: InventorySnapshot[], n: number): InventorySnapshot[] {
  if (all.length <= n) return all;
  // The n-th latest start time, by a threshold over a sorted copy of the keys only (strings, ISO: sortable).
  const keys = all.map((s) => s.startTime).sort();
  const threshold = keys[keys.length - n];
  const out: InventorySnapshot[] = [];
  for (const s of all) if (s.startTime > threshold && out.length < n) out.push(s);
  for (const s of all) if (s.startTime === threshold && out.length < n) out.push(s);
  return all.filter((s) => out.includes(s));
}

/** The summary of `inv` that goes into state; its size is bounded (see the header). */
export function inventoryOutputs(inv: Inventory): InventoryOutputs {
  let snapshotSizeBytes = 0;
  for (const s of inv.snapshots) snapshotSizeBytes += Number.isFinite(s.sizeBytes) ? s.sizeBytes : 0;
  let unbacked = 0;
  for (const r of inv.pitrRanges) if (!r.backed) unbacked++;
  const truncated = [inv.snapshots, inv.pitrRanges, inv.restorableWindows, inv.gaps].some((l) => l.length > OUTPUT_LIMITS.list);
  return {
    cluster: cut(inv.cluster),
    configured: inv.configured,
    snapshots: latestSnapshots(inv.snapshots, OUTPUT_LIMITS.list).map(snapshot),
    pitrRanges: lastN(inv.pitrRanges).map((r) => ({ start: cut(r.start), end: cut(r.end), backed: r.backed })),
    restorableWindows: lastN(inv.restorableWindows).map(span),
    gaps: lastN(inv.gaps).map(span),
    latestRestorableWindow: inv.latestRestorableWindow ? span(inv.latestRestorableWindow) : null,
    earliestRestorableTime: inv.restorableWindows[0] ? cut(inv.restorableWindows[0].start) : null,
    totals: {
      snapshots: inv.snapshots.length,
      snapshotSizeBytes,
      pitrRanges: inv.pitrRanges.length,
      unbackedPitrRanges: unbacked,
      restorableWindows: inv.restorableWindows.length,
      gaps: inv.gaps.length,
    },
    truncated,
    pitr: {
      enabled: inv.pitr.enabled,
      running: inv.pitr.running,
      ...(inv.pitr.error ? { error: cut(inv.pitr.error) } : {}),
      ...(inv.pitr.lastChunkTime ? { lastChunkTime: cut(inv.pitr.lastChunkTime) } : {}),
    },
  };
}
