// The bucket adapter: pbm's files in storage (reference §5) → the model, for when the cluster is unreachable.
// It does what pbm's resync does (`pbm/resync/rsync.go`): backups from the `<name>.pbm.json` metadata, PITR
// from the `pbmPitr/` chunk keys, merged into timelines as pbm merges them for `pbm status`.
import { z } from "zod";
import { builtOnce } from "../builtOnce";
import type { PbmFiles } from "../state/s3";
import { buildInventory, type Inventory, type RangeFact, type SnapshotFact } from "./model";

const CHUNK = /^pbmPitr\/([^/]+)\/\d{8}\/(\d{14})-(\d+)\.(\d{14})-(\d+)\.oplog/;
const parseCompact = (s: string) => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000;

/** The parts of pbm's backup metadata (`BackupMeta` as JSON) the inventory reads. Built once (builtOnce.ts). */
const backupMetaSchema = builtOnce(() =>
  z.looseObject({
    name: z.string(),
    status: z.string(),
    type: z.string().optional(),
    size: z.number().optional(),
    start_ts: z.number().optional(),
    last_write_ts: z.looseObject({ T: z.number() }).optional(),
    nss: z.array(z.string()).nullish(),
    store: z.looseObject({ name: z.string().optional(), profile: z.boolean().optional() }).optional(),
  }),
);
type BackupMeta = z.output<ReturnType<typeof backupMetaSchema>>;

/** The inventory of what `readPbmFiles` found (pure). `configured` means pbm has initialised the storage. */
export function inventoryFromBucket(label: string, files: PbmFiles): Inventory {
  const metas = backupMetas(files);
  const chunks = files.keys.flatMap((k) => {
    const m = CHUNK.exec(k.key);
    return m ? [{ rs: m[1], start: parseCompact(m[2]), end: parseCompact(m[4]) }] : [];
  });
  return buildInventory({
    cluster: label,
    configured: files.initialised,
    // Newest first, as `pbm status` lists them (storage lists keys in name order).
    snapshots: [...metas].sort((a, b) => (b.start_ts ?? 0) - (a.start_ts ?? 0) || b.name.localeCompare(a.name)).map(snapshotFact),
    ranges: splitAtBases(clusterTimelines(chunks), baseRestoreTimes(metas)),
    // Whether PITR is on and slicing is the cluster's to say; storage holds only the chunks.
    pitr: { enabled: false, running: false },
  });
}

/** The metadata files that decode; pbm's resync logs and skips one it cannot decode, and so does this. */
function backupMetas(files: PbmFiles): BackupMeta[] {
  const schema = backupMetaSchema();
  return files.metadata.flatMap(({ text }) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return [];
    }
    const r = schema.safeParse(json);
    return r.success ? [r.data] : [];
  });
}

function snapshotFact(m: BackupMeta): SnapshotFact {
  return {
    name: m.name,
    status: m.status,
    size: m.size ?? 0,
    restoreTo: m.last_write_ts?.T ?? 0,
    type: m.type ?? "logical",
    profile: m.store?.profile ? m.store.name : undefined,
    namespaces: m.nss ?? undefined,
  };
}

/** Restore times of the snapshots a PITR range can start from: done, full, main storage, not external. Ascending. */
function baseRestoreTimes(metas: BackupMeta[]): number[] {
  return metas
    .filter((m) => m.status === "done" && !m.nss?.length && m.type !== "external" && !m.store?.profile)
    .map((m) => m.last_write_ts?.T ?? 0)
    .sort((a, b) => a - b);
}

/**
 * The cluster's oplog timelines: each replica set's chunks merged where they touch or overlap, then the spans
 * every replica set covers (a cluster-wide point needs the oplog of all of them).
 */
function clusterTimelines(chunks: { rs: string; start: number; end: number }[]): { start: number; end: number }[] {
  const perRs = [...new Set(chunks.map((c) => c.rs))].map((rs) => {
    const out: { start: number; end: number }[] = [];
    for (const c of chunks.filter((x) => x.rs === rs).sort((a, b) => a.start - b.start)) {
      const last = out[out.length - 1];
      if (last && c.start <= last.end) last.end = Math.max(last.end, c.end);
      else out.push({ start: c.start, end: c.end });
    }
    return out;
  });
  if (!perRs.length) return [];
  return perRs.reduce((acc, tl) => acc.flatMap((a) => tl.map((b) => ({ start: Math.max(a.start, b.start), end: Math.min(a.end, b.end) })).filter((r) => r.start < r.end)));
}

/**
 * Each timeline as pbm reports it: oplog before the first base snapshot inside it is unbacked, and the rest
 * starts one second after that base's last write (pbm restores from base + oplog after it).
 */
function splitAtBases(timelines: { start: number; end: number }[], bases: number[]): RangeFact[] {
  const ranges: RangeFact[] = [];
  for (const tl of timelines) {
    const b = bases.find((lw) => lw >= tl.start && lw < tl.end);
    if (b === undefined) ranges.push({ ...tl, backed: false });
    else {
      if (b > tl.start) ranges.push({ start: tl.start, end: b, backed: false });
      ranges.push({ start: b + 1, end: tl.end, backed: true });
    }
  }
  return ranges;
}
