// The inventory shared by every resource on a cluster within one process: one `pbm status` (and one registry
// read) per cluster per pulumi operation, however many resources read it (BackupInventory.read, PitrPolicy.read).
//
// Rules:
//   - keyed by pbm binary and full URI; concurrent readers join the read in flight;
//   - every pbm write through the adapter (config, backup, delete, restore, profile, resync: `onPbmWrite` in
//     pbm/commands.ts) drops what is held for that URI, before and after the write; a read that started
//     before a write is never stored, so a read after a write in the same process sees the write;
//   - a value older than `maxAgeMs` (default 30 s, PULUMI_PBM_INVENTORY_MAX_AGE_MS) is read again. The provider
//     process lives for one pulumi operation, so within it the value is shared; a longer-lived process (the
//     runner, tests) never sees one older than that;
//   - failures are not stored.
// (The sharing itself: ../core/readShare.ts.)
import { ReadShare, sharedReadMaxAgeMs } from "../core/readShare";
import { ERROR_CODES, errors, PbmProviderError } from "../errors";
import { onPbmWrite, type PbmRunOptions } from "../pbm/commands";
import { readInventoryOrEmpty } from "./index";
import type { Inventory } from "./model";

const share = new ReadShare<Inventory>(sharedReadMaxAgeMs);

const keyOf = (o: PbmRunOptions) => `${o.pbmPath ?? "pbm"}\u0000${o.mongodbUri}`;

/** Drops what is held for `mongodbUri` (every pbm binary), or everything. Called by the adapter on each write. */
export function forgetSharedInventory(mongodbUri?: string): void {
  share.forget(mongodbUri);
}

onPbmWrite(forgetSharedInventory);

/**
 * The inventory of the cluster `o.mongodbUri` reaches, read at most once per cluster while nothing writes to
 * it (see the rules above). `configured: false` (an empty inventory) when pbm has no config there yet.
 */
export function sharedInventoryOrEmpty(o: PbmRunOptions, opts: { maxAgeMs?: number } = {}): Promise<Inventory> {
  return share.get(keyOf(o), o.mongodbUri, () => readInventoryOrEmpty(o), opts.maxAgeMs);
}

/**
 * Like `sharedInventoryOrEmpty`, but a cluster without a pbm config fails with PBMP-3003, as `readInventory` does.
 * What PitrPolicy.read calls: `await sharedInventory({ mongodbUri, pbmPath })`.
 */
export async function sharedInventory(o: PbmRunOptions, opts: { maxAgeMs?: number } = {}): Promise<Inventory> {
  const inv = await sharedInventoryOrEmpty(o, opts);
  if (!inv.configured) throw errors.notConfigured(`cluster "${inv.cluster}" has no pbm config (pbm status: no config set)`);
  return inv;
}
