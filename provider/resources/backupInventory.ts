// BackupInventory: a read-only resource used get-style, so its read runs on every preview, up and refresh.
import { readInventoryOrEmpty, type Inventory } from "../inventory";
import { backupInventoryInputs } from "../schemas";
import { PbmInputError } from "../errors";

export interface BackupInventoryProps {
  mongodbUri: string;
  pbmPath?: string;
}

export const backupInventory = {
  async create(): Promise<never> {
    throw new PbmInputError("INPUT", "BackupInventory is read-only: declare it with BackupInventory.get(name, { mongodbUri })", { solution: "" });
  },

  async read(id: string, props: BackupInventoryProps & Record<string, unknown>) {
    const p = backupInventoryInputs().safeParse(props);
    if (!p.success) throw new PbmInputError("INPUT", `BackupInventory "${id}": property "${p.error.issues[0].path.join(".")}" ${p.error.issues[0].message}`);
    // The first preview of a program runs before its BackupLocation configures pbm: `configured: false` then.
    const inv: Inventory = await readInventoryOrEmpty({ mongodbUri: p.data.mongodbUri, pbmPath: p.data.pbmPath });
    const outs = { mongodbUri: p.data.mongodbUri, ...(p.data.pbmPath ? { pbmPath: p.data.pbmPath } : {}), ...inv };
    return { id, props: outs };
  },
};
