// The handlers the serialised shims require at run time (`require("pulumi-pbm/provider")`).
import { encodable } from "./resources/common";
import { backupLocation as backupLocationHandlers } from "./resources/backupLocation";
import { pitrPolicy as pitrPolicyHandlers } from "./resources/pitrPolicy";
import { scheduledBackup as scheduledBackupHandlers } from "./resources/scheduledBackup";
import { backupInventory as backupInventoryHandlers } from "./resources/backupInventory";

export const backupLocation = encodable(backupLocationHandlers);
export const pitrPolicy = encodable(pitrPolicyHandlers);
export const scheduledBackup = encodable(scheduledBackupHandlers);
export const backupInventory = encodable(backupInventoryHandlers);
export { readInventory, type Inventory } from "./inventory";
export { ERROR_CODES } from "./errors";
export { restoreToPointInTime, restoreBackup, type RestoreResult } from "./ops/restore";
export { checkHealth, type HealthReport } from "./ops/health";
export { runDueJobs, runScheduler } from "./ops/scheduler";
export { readInventoryFromStorage } from "./ops/storageInventory";
