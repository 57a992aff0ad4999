export { BackupLocation, type BackupLocationArgs } from "./backupLocation";
export { PitrPolicy, type PitrPolicyArgs } from "./pitrPolicy";
export { ScheduledBackup, type ScheduledBackupArgs } from "./scheduledBackup";
export { BackupInventory, type BackupInventoryArgs, type InventorySnapshot } from "./backupInventory";

/**
 * The inventory as a plain async function, for scripts (runs in the calling process). The arguments are checked
 * first, by the rules the resources use: a bad one fails at once with PBMP-1001 naming it, before any
 * connection. Errors of ours (PBMP codes) carry no stack trace: the message says what failed and what to do.
 */
export async function getBackupInventory(args: { mongodbUri: string; pbmPath?: string; timeoutSec?: number }) {
  const provider = require("pulumi-pbm/provider") as typeof import("../provider");
  const fail = (err: unknown): never => {
    if (err instanceof provider.PbmProviderError) {
      if (!/^\[PBMP-\d{4}\] getBackupInventory/.test(err.message)) err.message = err.message.replace(/^(\[PBMP-\d{4}\] )/, "$1getBackupInventory: ");
      Object.defineProperty(err, "stack", { value: `${err.name}: ${err.message}`, configurable: true, writable: true });
    }
    throw err;
  };
  const problem = provider.firstProblem(provider.getBackupInventoryArgs(), args);
  if (problem) fail(provider.errors.input(problem));
  return provider.readInventoryOrEmpty({ mongodbUri: args.mongodbUri, pbmPath: args.pbmPath, timeoutSec: args.timeoutSec }).catch(fail);
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
