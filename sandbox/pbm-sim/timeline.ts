// PITR timelines as pbm computes them (reference §3.4): contiguous per replica set, intersected across
// replica sets, then split at the first base snapshot inside each range.
import { tsSec } from "./world";

export interface Range {
  start: number;
  end: number;
}
export interface PitrRange {
  range: Range;
  noBaseSnapshot?: true;
}

interface Chunk {
  rs: string;
  start_ts: unknown;
  end_ts: unknown;
}

/** Contiguous timelines of one replica set's chunks. */
export function timelines(chunks: Chunk[]): Range[] {
  const sorted = [...chunks].sort((a, b) => tsSec(a.start_ts as never) - tsSec(b.start_ts as never));
  const out: Range[] = [];
  for (const c of sorted) {
    const s = tsSec(c.start_ts as never);
    const e = tsSec(c.end_ts as never);
    const last = out[out.length - 1];
    if (last && s <= last.end) last.end = Math.max(last.end, e);
    else out.push({ start: s, end: e });
  }
  return out;
}

/** Intersection of several replica sets' timelines (a gap in any one cuts the range). */
export function mergeTimelines(perRs: Range[][]): Range[] {
  if (perRs.length === 0) return [];
  return perRs.reduce((acc, tl) => {
    const out: Range[] = [];
    for (const a of acc)
      for (const b of tl) {
        const s = Math.max(a.start, b.start);
        const e = Math.min(a.end, b.end);
        if (s < e) out.push({ start: s, end: e });
      }
    return out;
  });
}

/** Splits merged timelines at base snapshots: restorable from the base's last write + 1. */
export function splitByBase(tls: Range[], baseLastWrites: number[]): PitrRange[] {
  const bases = [...baseLastWrites].sort((a, b) => a - b);
  const out: PitrRange[] = [];
  for (const tl of tls) {
    const base = bases.find((lw) => lw >= tl.start && lw < tl.end);
    if (base === undefined) {
      out.push({ range: { start: tl.start, end: tl.end }, noBaseSnapshot: true });
      continue;
    }
    if (base > tl.start) out.push({ range: { start: tl.start, end: base }, noBaseSnapshot: true });
    out.push({ range: { start: base + 1, end: tl.end } });
  }
  return out;
}

export function pitrRanges(chunks: Chunk[], rsNames: string[], baseLastWrites: number[]): PitrRange[] {
  const byRs = rsNames.map((rs) => timelines(chunks.filter((c) => c.rs === rs)));
  return splitByBase(mergeTimelines(byRs), baseLastWrites);
}
