export { BackupLocation, type BackupLocationArgs } from "./backupLocation";
export { PitrPolicy, type PitrPolicyArgs } from "./pitrPolicy";
export { ScheduledBackup, type ScheduledBackupArgs } from "./scheduledBackup";
export { BackupInventory, type BackupInventoryArgs, type InventorySnapshot } from "./backupInventory";

/** The inventory as a plain async function, for scripts (runs in the calling process). */
export async function getBackupInventory(args: { mongodbUri: string; pbmPath?: string }) {
  const { readInventoryOrEmpty } = require("pulumi-pbm/provider") as typeof import("../provider");
  return readInventoryOrEmpty(args);
}

/** Restores the cluster to a point in time after checking it is restorable (an action, not a resource). */
export async function restoreToPointInTime(args: { mongodbUri: string; to: Date; namespaces?: string[]; onProgress?: (line: string) => void; pbmPath?: string }) {
  const { restoreToPointInTime: restore } = require("pulumi-pbm/provider") as typeof import("../provider");
  return restore(args);
}

/** Restores one snapshot by name (an action, not a resource). */
export async function restoreBackup(args: { mongodbUri: string; backup: string; namespaces?: string[]; onProgress?: (line: string) => void; pbmPath?: string }) {
  const { restoreBackup: restore } = require("pulumi-pbm/provider") as typeof import("../provider");
  return restore(args);
}
