// BackupInventory: a read-only resource used get-style, so its read runs on every preview, up and refresh.
import { emptyInventory, readInventory, type Inventory } from "../inventory";
import { backupInventoryInputs } from "../schemas";
import { ERROR_CODES, PbmInputError, PbmProviderError } from "../errors";

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
    const inv: Inventory = await readInventory({ mongodbUri: p.data.mongodbUri, pbmPath: p.data.pbmPath }).catch((err: unknown) => {
      // The first preview of a program runs before its BackupLocation configures pbm: nothing is backed up yet.
      if (err instanceof PbmProviderError && err.code === ERROR_CODES.NOT_CONFIGURED.code) return emptyInventory(p.data.mongodbUri);
      throw err;
    });
    const outs = { mongodbUri: p.data.mongodbUri, ...(p.data.pbmPath ? { pbmPath: p.data.pbmPath } : {}), ...inv };
    return { id, props: outs };
  },
};
