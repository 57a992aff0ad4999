// The handlers the serialised shims require at run time (`require("pulumi-pbm/provider")`).
export { backupLocation } from "./resources/backupLocation";
export { pitrPolicy } from "./resources/pitrPolicy";
export { scheduledBackup } from "./resources/scheduledBackup";
export { backupInventory } from "./resources/backupInventory";
export { readInventory, type Inventory } from "./inventory";
export { ERROR_CODES } from "./errors";
