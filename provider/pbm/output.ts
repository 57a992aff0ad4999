// zod schemas for pbm's JSON, normalised across releases 1.6–2.15 (reference §1.3, §1.4, §7).
import { z } from "zod";

export const versionOut = z.object({ Version: z.string() });

const range = z.object({ start: z.number(), end: z.number() });
export const pitrRange = z.object({ range, noBaseSnapshot: z.boolean().optional(), error: z.unknown().optional() });

/** A snapshot in `list`/`status`, with `completeTS` (< 2.0) mapped to `restoreTo`. */
export const snapshot = z
  .object({
    name: z.string(),
    profile: z.string().optional(),
    nss: z.array(z.string()).nullish(),
    size: z.number().optional(),
    status: z.string(),
    error: z.unknown().optional(),
    restoreTo: z.number().optional(),
    completeTS: z.number().optional(),
    pbmVersion: z.string().optional(),
    type: z.string().optional(),
    src: z.string().optional(),
  })
  .transform((s) => ({
    name: s.name,
    profile: s.profile,
    namespaces: s.nss ?? undefined,
    size: s.size,
    status: s.status,
    error: typeof s.error === "string" ? s.error : undefined,
    restoreTo: s.restoreTo ?? s.completeTS ?? 0,
    pbmVersion: s.pbmVersion,
    type: s.type ?? "logical",
    incrementalBase: s.src,
  }));
export type Snapshot = z.output<typeof snapshot>;

export const listOut = z.object({
  snapshots: z.array(snapshot).nullable(),
  // 1.8 prints `"ranges": null` when there are none.
  pitr: z.object({ on: z.boolean(), ranges: z.array(pitrRange).nullable().transform((r) => r ?? []), rsRanges: z.record(z.string(), z.array(pitrRange)).optional() }).optional(),
});

const node = z
  .object({ host: z.string(), agent: z.string(), role: z.string().optional(), ok: z.boolean(), errors: z.array(z.string()).optional() })
  .transform((n) => ({ ...n, host: n.host.includes("/") ? n.host.slice(n.host.indexOf("/") + 1) : n.host }));

export const statusOut = z.object({
  backups: z
    .object({
      type: z.string(),
      path: z.string(),
      region: z.string().optional(),
      snapshot: z.array(snapshot).nullable(),
      pitrChunks: z.object({ pitrChunks: z.array(pitrRange).optional(), size: z.number() }).optional(),
    })
    .optional(),
  cluster: z.array(z.object({ rs: z.string(), nodes: z.array(node) })).optional(),
  pitr: z.object({ conf: z.boolean(), run: z.boolean(), nodes: z.array(z.string()).nullish(), error: z.string().optional() }).optional(),
  running: z.object({ type: z.string().optional(), opID: z.string().optional(), name: z.string().optional(), status: z.string().optional() }).optional(),
});
export type Status = z.output<typeof statusOut>;

/** `backup`: `storagePath` (2.13+) or `storage` (older). */
export const backupOut = z
  .object({ name: z.string(), profile: z.string().optional(), storagePath: z.string().optional(), storage: z.unknown().optional() })
  .transform((b) => ({ name: b.name, storagePath: b.storagePath ?? (typeof b.storage === "string" ? b.storage : "") }));

export const describeBackupOut = z.object({
  name: z.string(),
  type: z.string(),
  status: z.string(),
  error: z.string().optional(),
  size: z.number().optional(),
  last_write_ts: z.union([z.number(), z.string()]),
});

export const restoreOut = z.object({ name: z.string(), snapshot: z.string().optional() }).or(z.object({}).transform(() => ({ name: "" })));

export type DescribeBackup = z.output<typeof describeBackupOut>;

export const describeRestoreOut = z.object({ name: z.string(), status: z.string(), error: z.string().optional(), backup: z.string().optional() });
export type DescribeRestore = z.output<typeof describeRestoreOut>;

/** `list --restore` (what 1.x has instead of describe-restore). */
export const restoreListOut = z
  .array(z.object({ name: z.string().optional(), status: z.string(), error: z.string().optional(), snapshot: z.string().optional() }))
  .nullable()
  .transform((l) => (l ?? []).map((r) => ({ ...r, name: r.name ?? "" })));

export const msgOut = z.object({ msg: z.string() });
export const setOut = z.array(z.object({ key: z.string(), value: z.string() }));
export const anyOut = z.unknown();
