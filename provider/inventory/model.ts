// The inventory model: what pbm can restore to, whichever source it comes from (pure, no I/O). Two adapters feed
// it facts: ./fromCluster.ts (`pbm status` output) and ./fromBucket.ts (pbm's files in the bucket). `buildInventory`
// is the one place that decides what pbm can restore to (`restorableWindows`): the restore check
// (ops/restore.ts), the CLI and the resources' outputs all read it.

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

/** A snapshot as a source reports it: pbm's name (its start time) and restore time in seconds since the epoch. */
export interface SnapshotFact {
  name: string;
  type: string;
  status: string;
  size?: number;
  restoreTo: number;
  /** The storage profile it went to; such a snapshot restores only by name and is no PITR base. */
  profile?: string;
  /** The namespaces of a selective snapshot, which restores only by name and is no PITR base. */
  namespaces?: readonly string[];
  error?: string;
}

/** A PITR range in seconds since the epoch, both ends included; `backed` false for oplog no base snapshot covers. */
export interface RangeFact {
  start: number;
  end: number;
  backed: boolean;
}

/** What an adapter read, for `buildInventory`. */
export interface InventoryFacts {
  cluster: string;
  configured: boolean;
  /** In the order the inventory lists them (pbm's: newest first). */
  snapshots: readonly SnapshotFact[];
  /** Oldest first, as pbm lists them. */
  ranges: readonly RangeFact[];
  pitr: { enabled: boolean; running: boolean; error?: string };
  /** Backup name → the schedule that made it (the runner's record). */
  madeBy?: ReadonlyMap<string, string>;
}

const DAY_STRINGS = new Map<number, string>();
/** `HH:MM:SSZ` for each second of a day, built on first use (86,400 short strings, about 3 MB). */
let timesOfDay: string[] | undefined;

function timeOfDay(t: number): string {
  if (!timesOfDay) {
    const two = (n: number) => String(n).padStart(2, "0");
    timesOfDay = Array.from({ length: 86_400 }, (_, s) => `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}Z`);
  }
  return timesOfDay[t];
}

/**
 * Seconds since the epoch as ISO-8601 UTC to the second (`2025-01-01T00:00:00Z`): the day's date part, cached,
 * joined to the second's time of day from a table. One join, so V8 keeps one 32-byte pair of shared parts per
 * value: 400,000 of these hold about 16 MB and take about 60 ms. Built as date + hours + ":" + ... they held
 * 80 MB (a chain of six joins each), and through `Date` they took about 200 ms.
 */
export function iso(sec: number): string {
  if (!Number.isInteger(sec)) sec = Math.floor(sec);
  const day = Math.floor(sec / 86_400);
  let date = DAY_STRINGS.get(day);
  if (date === undefined) {
    date = new Date(day * 86_400_000).toISOString().slice(0, 11);
    if (DAY_STRINGS.size > 100_000) DAY_STRINGS.clear();
    DAY_STRINGS.set(day, date);
  }
  return date + timeOfDay(sec - day * 86_400);
}

/**
 * Merges restorable spans (seconds, both ends included) into ordered windows and the gaps between them (pure).
 * pbm restores to whole seconds, so spans one second apart touch: a snapshot whose last write is T and the PITR
 * range from T+1 form one window. Linear when the spans come sorted (as pbm lists them), n log n otherwise.
 */
export function windowsFromSpans(spans: [number, number][]): { restorableWindows: TimeSpan[]; gaps: TimeSpan[] } {
  const starts = new Float64Array(spans.length);
  const ends = new Float64Array(spans.length);
  spans.forEach(([a, b], i) => ((starts[i] = a), (ends[i] = b)));
  return mergeSpans(starts, ends);
}

/**
 * Span indices ordered by start then end. Linear for what the inventory passes (pbm's ranges in order, then the
 * snapshots' restore times in order: two sorted runs, merged); any other input is sorted.
 */
function order(starts: Float64Array, ends: Float64Array): ArrayLike<number> {
  const n = starts.length;
  const le = (x: number, y: number) => starts[x] < starts[y] || (starts[x] === starts[y] && ends[x] <= ends[y]);
  let brk = 1;
  while (brk < n && le(brk - 1, brk)) brk++;
  let rest = brk + 1;
  while (rest < n && le(rest - 1, rest)) rest++;
  const idx = new Uint32Array(n);
  if (brk >= n) {
    for (let i = 0; i < n; i++) idx[i] = i;
    return idx;
  }
  if (rest < n) return Array.from({ length: n }, (_, i) => i).sort((x, y) => starts[x] - starts[y] || ends[x] - ends[y]);
  for (let i = 0, a = 0, b = brk; i < n; i++) idx[i] = b >= n || (a < brk && le(a, b)) ? a++ : b++;
  return idx;
}

/** `windowsFromSpans` over parallel arrays (no tuple per span: 200,000 ranges allocate little). */
function mergeSpans(starts: Float64Array, ends: Float64Array): { restorableWindows: TimeSpan[]; gaps: TimeSpan[] } {
  const idx = order(starts, ends);
  const mStart: number[] = [];
  const mEnd: number[] = [];
  for (let k = 0; k < idx.length; k++) {
    const a = starts[idx[k]];
    const b = ends[idx[k]];
    const last = mEnd.length - 1;
    if (last >= 0 && a <= mEnd[last] + 1) mEnd[last] = Math.max(mEnd[last], b);
    else mStart.push(a), mEnd.push(b);
  }
  const restorableWindows = new Array<TimeSpan>(mStart.length);
  const gaps = new Array<TimeSpan>(Math.max(0, mStart.length - 1));
  for (let i = 0; i < mStart.length; i++) {
    restorableWindows[i] = { start: iso(mStart[i]), end: iso(mEnd[i]) };
    if (i > 0) gaps[i - 1] = { start: restorableWindows[i - 1].end, end: restorableWindows[i].start };
  }
  return { restorableWindows, gaps };
}

/**
 * The inventory of what the adapters read (pure). Linear in ranges and snapshots, no spread or recursion over
 * them: 200,000 ranges and 10,000 snapshots take a few hundred milliseconds (docs/SCALE.md).
 */
export function buildInventory(f: InventoryFacts): Inventory {
  const { snapshots: snaps, ranges } = f;
  const snapshots = new Array<InventorySnapshot>(snaps.length);
  // What pbm restores to: any time inside a backed range, and a finished full snapshot's restore time (a
  // selective or profile snapshot restores only by name, and is no PITR base).
  let full = 0;
  for (const s of snaps) if (s.status === "done" && !s.profile && !(s.namespaces?.length)) full++;
  const starts = new Float64Array(ranges.length + full);
  const ends = new Float64Array(ranges.length + full);
  let n = 0;
  for (let i = 0; i < snaps.length; i++) {
    const s = snaps[i];
    const schedule = f.madeBy?.get(s.name);
    snapshots[i] = {
      name: s.name,
      type: s.type,
      status: s.status,
      sizeBytes: s.size ?? 0,
      startTime: s.name,
      restoreToTime: iso(s.restoreTo),
      ...(s.profile ? { profile: s.profile } : {}),
      ...(schedule ? { schedule } : {}),
      ...(s.error ? { error: s.error } : {}),
    };
  }
  const pitrRanges = new Array<InventoryRange>(ranges.length);
  // A loop, not Math.max(...): a spread of 200,000 ranges overflows the call stack.
  let lastChunk = -Infinity;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    pitrRanges[i] = { start: iso(r.start), end: iso(r.end), backed: r.backed };
    if (r.backed) (starts[n] = r.start), (ends[n++] = r.end);
    if (r.end > lastChunk) lastChunk = r.end;
  }
  const points: number[] = [];
  for (const s of snaps) if (s.status === "done" && !s.profile && !(s.namespaces?.length)) points.push(s.restoreTo);
  for (const t of points.sort((a, b) => a - b)) (starts[n] = t), (ends[n++] = t);
  const { restorableWindows, gaps } = mergeSpans(starts.subarray(0, n), ends.subarray(0, n));
  return {
    cluster: f.cluster,
    configured: f.configured,
    snapshots,
    pitrRanges,
    restorableWindows,
    gaps,
    latestRestorableWindow: restorableWindows[restorableWindows.length - 1] ?? null,
    pitr: {
      enabled: f.pitr.enabled,
      running: f.pitr.running,
      ...(f.pitr.error ? { error: f.pitr.error } : {}),
      ...(ranges.length && lastChunk > 0 ? { lastChunkTime: iso(lastChunk) } : {}),
    },
  };
}
