import * as pulumi from "@pulumi/pulumi";
import { PbmResource, type PbmCallArgs } from "./common";
import { declareForPitrRule } from "./rule";

export interface PitrPolicyArgs extends PbmCallArgs {
  /** Connection string pbm uses for the cluster. Kept secret; passed to pbm only as PBM_MONGODB_URI. */
  mongodbUri: pulumi.Input<string>;
  /** Whether pbm slices the oplog (pbm `pitr.enabled`). Rejected while other enabled ScheduledBackups exist on the cluster (PMM's rule). @default true */
  enabled?: pulumi.Input<boolean>;
  /** Length of each oplog slice, in minutes; may be fractional (pbm `pitr.oplogSpanMin`). @default 10 (pbm's default) */
  oplogSpanMin?: pulumi.Input<number>;
  /** pbm `pitr.compression`. @default - pbm's backup.compression (s2) */
  compression?: pulumi.Input<"none" | "gzip" | "snappy" | "lz4" | "s2" | "pgzip" | "zstd">;
  /** pbm `pitr.compressionLevel`. */
  compressionLevel?: pulumi.Input<number>;
  /** Slice without a base snapshot (pbm `pitr.oplogOnly`); such ranges are not restorable alone. @default false */
  oplogOnly?: pulumi.Input<boolean>;
  /** Start a base snapshot when none exists, since PITR needs one. @default true */
  takeBaseSnapshot?: pulumi.Input<boolean>;
  /** A base-snapshot cadence the runner (`pulumi-pbm scheduler`) executes; it does not count against PMM's rule. */
  baseSnapshotSchedule?: pulumi.Input<{
    /** Cron, 5 fields (or 6 with seconds), UTC. */
    schedule: pulumi.Input<string>;
    type?: pulumi.Input<"logical" | "physical" | "incremental">;
    retention?: pulumi.Input<{ count?: pulumi.Input<number>; maxAgeDays?: pulumi.Input<number> }>;
  }>;
}

/**
 * Point-in-time recovery for a cluster that has a {@link BackupLocation}. Runs `pbm config --set pitr.*` in one
 * call and, if no base snapshot exists, `pbm backup`. Deleting it sets `pitr.enabled=false` and keeps every chunk.
 *
 * @example
 * new PitrPolicy("pitr", { mongodbUri, oplogSpanMin: 10 }, { dependsOn: [location] });
 */
export class PitrPolicy extends PbmResource {
  declare public readonly enabled: pulumi.Output<boolean>;
  /** Effective `pitr.oplogSpanMin`. */
  declare public readonly oplogSpanMin: pulumi.Output<number>;
  /** Whether pbm is slicing the oplog now (as of the last create, update or refresh). */
  declare public readonly slicing: pulumi.Output<boolean>;
  /** pbm's PITR error, e.g. that a base snapshot is required. */
  declare public readonly pitrError: pulumi.Output<string | undefined>;
  declare public readonly lastChunkTime: pulumi.Output<string | undefined>;
  /**
   * The latest contiguous restorable window, as of the last create, update or refresh; null when nothing is
   * restorable. Earlier windows and the gaps between them are on {@link BackupInventory}.
   */
  declare public readonly latestRestorableWindow: pulumi.Output<{ start: string; end: string } | null>;
  /** The base snapshot this resource started, if it had to. */
  declare public readonly baseSnapshot: pulumi.Output<string | undefined>;

  constructor(name: string, args: PitrPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    const rule = declareForPitrRule("pitrPolicy", name, args.mongodbUri, args.enabled);
    super("PitrPolicy", "pitrPolicy", name, {
      ...args,
      // Listed even when unset, so the provider's effective values come back as outputs.
      enabled: args.enabled,
      oplogSpanMin: args.oplogSpanMin,
      name,
      ...rule.inputs,
      cluster: undefined,
      slicing: undefined,
      pitrError: undefined,
      lastChunkTime: undefined,
      latestRestorableWindow: undefined,
      baseSnapshot: undefined,
    }, opts);
    rule.report(this);
  }
}
