export { BackupLocation, type BackupLocationArgs } from "./backupLocation";
export { PitrPolicy, type PitrPolicyArgs } from "./pitrPolicy";
export { ScheduledBackup, type ScheduledBackupArgs } from "./scheduledBackup";
export { BackupInventory, type BackupInventoryArgs, type InventorySnapshot } from "./backupInventory";

/** The inventory as a plain async function, for scripts (runs in the calling process). */
export async function getBackupInventory(args: { mongodbUri: string; pbmPath?: string }) {
  const { readInventory } = require("pulumi-pbm/provider") as typeof import("../provider");
  return readInventory(args);
}
