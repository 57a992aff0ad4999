// The inventory read straight from the bucket, for when the cluster is unreachable (`pulumi-pbm inventory
// --from-storage`): pbm's files (state/s3) through the bucket adapter (inventory/fromBucket).
import { inventoryFromBucket, type Inventory } from "../inventory";
import { readPbmFiles, type S3Location } from "../state/s3";

export async function readInventoryFromStorage(t: S3Location): Promise<Inventory> {
  return inventoryFromBucket(`${t.bucket}/${t.prefix ?? ""} (from storage)`, await readPbmFiles(t, "inventory --from-storage"));
}
