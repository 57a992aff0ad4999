// BackupInventory: a read-only resource used get-style, so its read runs on every preview, up and refresh.
// It reads the inventory shared by every resource on the cluster in this process (one `pbm status` per cluster
// per operation) and stores only its bounded summary: state does not grow with the backup history
// (docs/SCALE.md). The full inventory: `pulumi-pbm inventory --json`, `getBackupInventory()`.
import { inventoryOutputs, sharedInventoryOrEmpty, type InventoryOutputs } from "../inventory";
import { backupInventoryInputs, firstProblem, type BackupInventoryInputs } from "../schemas";
import { errors } from "../errors";
import type { Handlers } from "./common";

type Summary = Omit<BackupInventoryInputs, "name"> & InventoryOutputs;
/**
 * The state: where the inventory was read, and its bounded summary. Mapped into one object type, which read's
 * props (`Record<string, unknown>`: what `get` was given, judged in read) accept.
 */
export type BackupInventoryOutputs = { [K in keyof Summary]: Summary[K] };

export const backupInventory = {
  async create(): Promise<never> {
    throw errors.input("BackupInventory is read-only", { advice: "Declare it with BackupInventory.get(name, { mongodbUri })." });
  },

  /** `props` are the inputs `get` was given (and, on refresh, the last outputs): judged here, as no check runs. */
  async read(id, props: Record<string, unknown>) {
    // The serialised provider (`__provider`) rides along with the inputs; it is no property of ours.
    const { __provider: _provider, ...given } = props;
    const p = backupInventoryInputs().safeParse(given);
    const resource = typeof given.name === "string" ? given.name : id;
    if (!p.success) throw errors.input(`BackupInventory "${resource}": ${firstProblem(backupInventoryInputs(), given)}`);
    // The first preview of a program runs before its BackupLocation configures pbm: `configured: false` then.
    const data: BackupInventoryInputs = p.data;
    const inv = await sharedInventoryOrEmpty({ mongodbUri: data.mongodbUri, pbmPath: data.pbmPath, ...(data.timeoutSec ? { timeoutSec: data.timeoutSec } : {}) });
    const outs = { mongodbUri: data.mongodbUri, ...(data.pbmPath ? { pbmPath: data.pbmPath } : {}), ...(data.timeoutSec ? { timeoutSec: data.timeoutSec } : {}), ...inventoryOutputs(inv) };
    return { id, props: outs };
  },
} satisfies Handlers<BackupInventoryInputs, BackupInventoryOutputs>;
