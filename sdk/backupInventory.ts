import * as pulumi from "@pulumi/pulumi";
import { backupInventoryProvider } from "./shim";

export interface BackupInventoryArgs {
  /** Connection string of the cluster. Kept secret. */
  mongodbUri: pulumi.Input<string>;
  /** @default "pbm" from PATH */
  pbmPath?: pulumi.Input<string>;
}

export type { InventorySnapshot } from "../provider/inventory";
import type { InventorySnapshot } from "../provider/inventory";

/**
 * The backup inventory of a cluster, read on every preview, up and refresh (`pbm status`, one call):
 * snapshots, PITR ranges (with unbacked parts) and the restorable window. Read-only: create it with `get`.
 *
 * @example
 * const inventory = BackupInventory.get("inventory", { mongodbUri });
 * export const restorableWindow = inventory.restorableWindow;
 */
export class BackupInventory extends pulumi.dynamic.Resource {
  declare public readonly cluster: pulumi.Output<string>;
  declare public readonly snapshots: pulumi.Output<InventorySnapshot[]>;
  declare public readonly pitrRanges: pulumi.Output<{ start: string; end: string; backed: boolean }[]>;
  declare public readonly restorableWindow: pulumi.Output<{ earliest: string; latest: string } | null>;
  declare public readonly pitr: pulumi.Output<{ enabled: boolean; running: boolean; error?: string; lastChunkTime?: string }>;

  private constructor(name: string, args: BackupInventoryArgs, opts: pulumi.CustomResourceOptions) {
    super(
      backupInventoryProvider,
      name,
      { ...args, mongodbUri: pulumi.secret(args.mongodbUri), cluster: undefined, snapshots: undefined, pitrRanges: undefined, restorableWindow: undefined, pitr: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["mongodbUri"] }),
      "pbm",
      "BackupInventory",
    );
  }

  /** Reads the inventory of the cluster `args.mongodbUri` reaches. */
  static get(name: string, args: BackupInventoryArgs, opts?: pulumi.CustomResourceOptions): BackupInventory {
    return new BackupInventory(name, args, { ...opts, id: opts?.id ?? "inventory" });
  }
}
