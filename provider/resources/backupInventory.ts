// BackupInventory: a read-only resource used get-style, so its read runs on every preview, up and refresh.
// It reads the inventory shared by every resource on the cluster in this process (one `pbm status` per cluster
// per operation) and stores only its bounded summary: state does not grow with the backup history
// (docs/SCALE.md). The full inventory: `pulumi-pbm inventory --json`, `getBackupInventory()`.
import { inventoryOutputs, sharedInventoryOrEmpty } from "../inventory";
import { backupInventoryInputs, firstProblem } from "../schemas";
import { errors } from "../errors";

export interface BackupInventoryProps {
  mongodbUri: string;
  pbmPath?: string;
}

export const backupInventory = {
  async create(): Promise<never> {
    throw errors.input("BackupInventory is read-only", { advice: "Declare it with BackupInventory.get(name, { mongodbUri })." });
  },

  async read(id: string, props: BackupInventoryProps & Record<string, unknown>) {
    // The serialised provider (`__provider`) rides along with the inputs; it is no property of ours.
    const { __provider: _provider, ...given } = props;
    const p = backupInventoryInputs().safeParse(given);
    const resource = typeof given.name === "string" ? given.name : id;
    if (!p.success) throw errors.input(`BackupInventory "${resource}": ${firstProblem(backupInventoryInputs(), given)}`);
    // The first preview of a program runs before its BackupLocation configures pbm: `configured: false` then.
    const data = p.data as { mongodbUri: string; pbmPath?: string; timeoutSec?: number };
    const inv = await sharedInventoryOrEmpty({ mongodbUri: data.mongodbUri, pbmPath: data.pbmPath, ...(data.timeoutSec ? { timeoutSec: data.timeoutSec } : {}) });
    const outs = { mongodbUri: data.mongodbUri, ...(data.pbmPath ? { pbmPath: data.pbmPath } : {}), ...(data.timeoutSec ? { timeoutSec: data.timeoutSec } : {}), ...inventoryOutputs(inv) };
    return { id, props: outs };
  },
};
