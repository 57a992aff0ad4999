// The inventory read straight from the bucket in pbm's layout (reference §5), for when the cluster is
// unreachable: `<name>.pbm.json` metadata and `pbmPitr/` chunk keys, merged into timelines like pbm does.
import type { Inventory, InventoryRange } from "../inventory";
import { inventoryFromStatus } from "../inventory";
import { probeBucket, s3Client, type S3ProbeTarget } from "../state/s3";

const CHUNK = /^pbmPitr\/([^/]+)\/\d{8}\/(\d{14})-(\d+)\.(\d{14})-(\d+)\.oplog/;
const parseCompact = (s: string) => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000;

export async function readInventoryFromStorage(t: S3ProbeTarget): Promise<Inventory> {
  const { s3, client } = await s3Client(t);
  const base = t.prefix ? `${t.prefix.replace(/\/+$/, "")}/` : "";
  try {
    const keys: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const r = await client.send(new s3.ListObjectsV2Command({ Bucket: t.bucket, Prefix: base, ContinuationToken: token }));
      for (const o of r.Contents ?? []) keys.push({ key: o.Key!.slice(base.length), size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    if (!keys.some((k) => k.key === ".pbm.init")) await probeBucket(t, "inventory --from-storage");
    const metas = await Promise.all(
      keys
        .filter((k) => k.key.endsWith(".pbm.json") && !k.key.includes("/"))
        .map(async (k) => JSON.parse(await (await client.send(new s3.GetObjectCommand({ Bucket: t.bucket, Key: base + k.key }))).Body!.transformToString())),
    );
    const chunks = keys.flatMap((k) => {
      const m = CHUNK.exec(k.key);
      return m ? [{ rs: m[1], start: parseCompact(m[2]), end: parseCompact(m[4]), size: k.size }] : [];
    });
    const rsNames = [...new Set(chunks.map((c) => c.rs))];
    const perRs = rsNames.map((rs) => {
      const out: { start: number; end: number }[] = [];
      for (const c of chunks.filter((x) => x.rs === rs).sort((a, b) => a.start - b.start)) {
        const last = out[out.length - 1];
        if (last && c.start <= last.end) last.end = Math.max(last.end, c.end);
        else out.push({ start: c.start, end: c.end });
      }
      return out;
    });
    const merged = perRs.length ? perRs.reduce((acc, tl) => acc.flatMap((a) => tl.map((b) => ({ start: Math.max(a.start, b.start), end: Math.min(a.end, b.end) })).filter((r) => r.start < r.end))) : [];
    const bases = metas.filter((m) => m.status === "done" && !(m.nss?.length) && m.type !== "external" && !m.store?.profile).map((m) => Number(m.last_write_ts?.T ?? 0)).sort((a, b) => a - b);
    const ranges: { range: { start: number; end: number }; noBaseSnapshot?: boolean }[] = [];
    for (const tl of merged) {
      const b = bases.find((lw) => lw >= tl.start && lw < tl.end);
      if (b === undefined) ranges.push({ range: tl, noBaseSnapshot: true });
      else {
        if (b > tl.start) ranges.push({ range: { start: tl.start, end: b }, noBaseSnapshot: true });
        ranges.push({ range: { start: b + 1, end: tl.end } });
      }
    }
    // Newest first, as `pbm status` lists them (storage lists keys in name order).
    const byNewest = [...metas].sort((a, b) => Number(b.start_ts ?? 0) - Number(a.start_ts ?? 0) || String(b.name).localeCompare(String(a.name)));
    const snapshots = byNewest.map((m) => ({ name: String(m.name), status: String(m.status), size: Number(m.size ?? 0), restoreTo: Number(m.last_write_ts?.T ?? 0), type: String(m.type ?? "logical"), profile: m.store?.profile ? m.store.name : undefined, namespaces: m.nss ?? undefined, error: undefined, pbmVersion: m.pbm_version, incrementalBase: m.src_backup }));
    const inv = inventoryFromStatus(`${t.bucket}/${t.prefix ?? ""} (from storage)`, { backups: { type: "S3", path: `s3://${t.bucket}/${t.prefix ?? ""}`, snapshot: snapshots as never, pitrChunks: { pitrChunks: ranges, size: chunks.reduce((n, c) => n + c.size, 0) } } }, new Map());
    // From the bucket, "configured" means pbm has initialised this storage (its `.pbm.init` marker).
    const configured = keys.some((k) => k.key === ".pbm.init");
    return { ...inv, configured, pitr: { enabled: false, running: false, ...(inv.pitr.lastChunkTime ? { lastChunkTime: inv.pitr.lastChunkTime } : {}) } };
  } finally {
    client.destroy();
  }
}

export type { InventoryRange };
