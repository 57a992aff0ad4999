import * as pulumi from "@pulumi/pulumi";
import { PbmResource, type PbmCallArgs } from "./common";
import { declareForPitrRule } from "./rule";

/** `timeoutSec` bounds each pbm call the runner makes for this schedule; the resource itself runs no pbm. */
export interface ScheduledBackupArgs extends PbmCallArgs {
  /** Connection string of the cluster whose registry holds the schedule. Kept secret. */
  mongodbUri: pulumi.Input<string>;
  /** Unique name on the cluster; changing it replaces the schedule. @default - the resource name */
  name?: pulumi.Input<string>;
  /** Cron expression, 5 fields (or 6 with seconds), evaluated in UTC. */
  schedule: pulumi.Input<string>;
  /** pbm `backup --type`. @default "logical" */
  type?: pulumi.Input<"logical" | "physical" | "incremental">;
  /** pbm `backup --compression`. @default - pbm's backup.compression (s2) */
  compression?: pulumi.Input<"none" | "gzip" | "snappy" | "lz4" | "s2" | "pgzip" | "zstd">;
  compressionLevel?: pulumi.Input<number>;
  /** Selective backup (`--ns`): "db.collection" or "db.*"; logical only. */
  namespaces?: pulumi.Input<pulumi.Input<string>[]>;
  /** pbm storage profile (pbm 2.6+). @default - main storage */
  profile?: pulumi.Input<string>;
  /** What the runner keeps after each successful run: newest `count`, and/or not older than `maxAgeDays`. @default - keep all */
  retention?: pulumi.Input<{ count?: pulumi.Input<number>; maxAgeDays?: pulumi.Input<number> }>;
  /** Disabled schedules do not run and do not count against PMM's PITR rule. @default true */
  enabled?: pulumi.Input<boolean>;
}

/**
 * A cron-scheduled pbm backup. pbm has no scheduler: the schedule is stored in the cluster
 * (`admin.pulumiPbmSchedules`) and `pulumi-pbm scheduler` runs it. Deleting it removes the schedule and keeps its backups.
 *
 * @example
 * new ScheduledBackup("nightly", { mongodbUri, schedule: "0 2 * * *", retention: { count: 7 } });
 */
export class ScheduledBackup extends PbmResource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly schedule: pulumi.Output<string>;
  declare public readonly enabled: pulumi.Output<boolean>;
  /** Next run by the schedule (UTC), as of the last create, update or refresh. */
  declare public readonly nextRunTime: pulumi.Output<string | undefined>;

  constructor(name: string, args: ScheduledBackupArgs, opts?: pulumi.CustomResourceOptions) {
    const rule = declareForPitrRule("schedule", args.name ?? name, args.mongodbUri, args.enabled);
    super("ScheduledBackup", "scheduledBackup", name, { ...args, name: args.name ?? name, ...rule.inputs, cluster: undefined, nextRunTime: undefined }, opts);
    rule.report(this);
  }
}
