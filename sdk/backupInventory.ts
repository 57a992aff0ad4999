import * as pulumi from "@pulumi/pulumi";
import { PbmResource, type PbmCallArgs } from "./common";

/** `timeoutSec` bounds the one `pbm status` call the inventory reads. */
export interface BackupInventoryArgs extends PbmCallArgs {
  /** Connection string of the cluster. Kept secret. */
  mongodbUri: pulumi.Input<string>;
}

export type { InventorySnapshot, TimeSpan } from "../provider/inventory";
import type { InventorySnapshot, TimeSpan } from "../provider/inventory";

/**
 * The backup inventory of a cluster, read on every preview, up and refresh (`pbm status`, one call per cluster
 * and operation, shared with the cluster's PitrPolicy): snapshots, PITR ranges (with unbacked parts), and the
 * restorable windows with the gaps between them.
 *
 * State holds a bounded summary, whatever the history: the latest 20 entries of each list, counts over the
 * whole history (`totals`), and `truncated` when a list was cut; strings are cut to 200 characters. The full
 * inventory: `pulumi-pbm inventory --json` or `getBackupInventory()`.
 * Read-only: create it with `get`. Before a BackupLocation has configured pbm it reads `configured: false` and
 * an empty inventory, so a first preview works.
 *
 * @example
 * const inventory = BackupInventory.get("inventory", { mongodbUri });
 * export const restorableWindows = inventory.restorableWindows;
 * export const latestRestorableWindow = inventory.latestRestorableWindow;
 */
export class BackupInventory extends PbmResource {
  /** false while pbm has no config on the cluster (no BackupLocation yet); the rest of the inventory is then empty. */
  declare public readonly configured: pulumi.Output<boolean>;
  /** The latest 20 snapshots, newest first (as pbm lists them). */
  declare public readonly snapshots: pulumi.Output<InventorySnapshot[]>;
  /** The latest 20 PITR ranges, oldest first; `backed: false` for oplog no base snapshot covers. */
  declare public readonly pitrRanges: pulumi.Output<{ start: string; end: string; backed: boolean }[]>;
  /**
   * The latest 20 contiguous spans pbm can restore to, oldest first (ends included, UTC to the second): each
   * PITR range with a base snapshot, and each finished full snapshot's restore time (zero-length where no range
   * covers it).
   */
  declare public readonly restorableWindows: pulumi.Output<TimeSpan[]>;
  /** The latest 20 unrestorable spans between consecutive windows: from one window's end to the next one's start, both excluded. */
  declare public readonly gaps: pulumi.Output<TimeSpan[]>;
  /** Start of the oldest restorable window over the whole history; null when nothing is restorable. */
  declare public readonly earliestRestorableTime: pulumi.Output<string | null>;
  /** Counts over the whole history (not only the entries kept in the lists). */
  declare public readonly totals: pulumi.Output<{ snapshots: number; snapshotSizeBytes: number; pitrRanges: number; unbackedPitrRanges: number; restorableWindows: number; gaps: number }>;
  /** True when a list holds only its latest 20 entries; the full lists come from `pulumi-pbm inventory --json` or `getBackupInventory()`. */
  declare public readonly truncated: pulumi.Output<boolean>;
  /** The latest contiguous restorable window (the last of `restorableWindows`); null when nothing is restorable. */
  declare public readonly latestRestorableWindow: pulumi.Output<TimeSpan | null>;
  declare public readonly pitr: pulumi.Output<{ enabled: boolean; running: boolean; error?: string; lastChunkTime?: string }>;

  private constructor(name: string, args: BackupInventoryArgs, opts: pulumi.CustomResourceOptions) {
    const outputs = { cluster: undefined, configured: undefined, snapshots: undefined, pitrRanges: undefined, restorableWindows: undefined, gaps: undefined, latestRestorableWindow: undefined, earliestRestorableTime: undefined, totals: undefined, truncated: undefined, pitr: undefined };
    super("BackupInventory", "backupInventory", name, { ...args, name, ...outputs }, opts);
  }

  /** Reads the inventory of the cluster `args.mongodbUri` reaches. */
  static get(name: string, args: BackupInventoryArgs, opts?: pulumi.CustomResourceOptions): BackupInventory {
    return new BackupInventory(name, args, { ...opts, id: opts?.id ?? "inventory" });
  }
}
