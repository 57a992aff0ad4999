// The backup inventory: snapshots (with the schedule that made each), PITR ranges with their unbacked parts,
// and the restorable windows with the gaps between them. One `pbm status` call plus one registry read; ranges,
// never chunk lists. The model and what pbm can restore to: ./model.ts; fed by ./fromCluster.ts (`pbm status`)
// and ./fromBucket.ts (pbm's files in the bucket, `readInventoryFromStorage`).
//   readInventory        a fresh read (restore checks, health, the CLI);
//   sharedInventory      the same, memoised per cluster in this process and dropped by every pbm write through
//                        the adapter (resources: one `pbm status` per cluster per pulumi operation), ./shared.ts;
//   inventoryOutputs     the bounded summary that goes into stack state, ./bounded.ts.
import { together } from "../core/together";
import { ERROR_CODES, PbmProviderError } from "../errors";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { makersOfBackups } from "../registry";
import { clusterName, withPbmClient } from "../state/mongo";
import { inventoryFromStatus } from "./fromCluster";
import { buildInventory, type Inventory } from "./model";

export { iso, windowsFromSpans, buildInventory, type Inventory, type InventorySnapshot, type InventoryRange, type TimeSpan } from "./model";
export { inventoryFromStatus } from "./fromCluster";
export { inventoryFromBucket } from "./fromBucket";

/** The inventory of a cluster on which pbm has no config yet (`configured: false`). */
export async function emptyInventory(mongodbUri: string): Promise<Inventory> {
  const cluster = await withPbmClient(mongodbUri, clusterName);
  return buildInventory({ cluster, configured: false, snapshots: [], ranges: [], pitr: { enabled: false, running: false } });
}

/** Reads the inventory of the cluster the URI reaches. */
export async function readInventory(o: PbmRunOptions): Promise<Inventory> {
  // The registry read and pbm's status are independent: together, pbm's call is the only wait on the way.
  const [{ cluster, madeBy }, st] = await together(
    withPbmClient(o.mongodbUri, async (admin) => ({ cluster: await clusterName(admin), madeBy: await makersOfBackups(admin) })),
    pbm.status(o, ["backups", "pitr"]),
  );
  return inventoryFromStatus(cluster, st, madeBy);
}

/** Like `readInventory`, but a cluster on which pbm has no config yet (PBMP-3003) reads as `emptyInventory`. */
export async function readInventoryOrEmpty(o: PbmRunOptions): Promise<Inventory> {
  return readInventory(o).catch((err: unknown) => {
    if (err instanceof PbmProviderError && err.code === ERROR_CODES.NOT_CONFIGURED.code) return emptyInventory(o.mongodbUri);
    throw err;
  });
}

export { sharedInventory, sharedInventoryOrEmpty, forgetSharedInventory } from "./shared";
export { inventoryOutputs, OUTPUT_LIMITS, MAX_OUTPUT_CHARS, type InventoryOutputs } from "./bounded";
