import * as pulumi from "@pulumi/pulumi";
import { BackupInventory, BackupLocation, PitrPolicy } from "pulumi-pbm";

const config = new pulumi.Config();
const mongodbUri = config.requireSecret("mongodbUri");

const location = new BackupLocation("backups", {
  mongodbUri,
  bucket: config.require("bucket"),
  prefix: config.get("prefix") ?? "rs0",
  endpointUrl: config.get("endpointUrl"), // leave unset for AWS S3
  credentials: { accessKeyId: config.requireSecret("accessKeyId"), secretAccessKey: config.requireSecret("secretAccessKey") },
});

const baseSchedule = config.get("baseSnapshotSchedule"); // e.g. "0 3 * * *": fresh PITR bases, run by `pulumi-pbm scheduler`
const pitr = new PitrPolicy(
  "pitr",
  {
    mongodbUri,
    oplogSpanMin: config.getNumber("oplogSpanMin") ?? 10,
    ...(baseSchedule ? { baseSnapshotSchedule: { schedule: baseSchedule, retention: { count: 3 } } } : {}),
  },
  { dependsOn: [location] },
);

const inventory = BackupInventory.get("inventory", { mongodbUri }, { dependsOn: [pitr] });

export const storagePath = location.storagePath;
export const pitrEnabled = pitr.enabled;
export const baseSnapshot = pitr.baseSnapshot;
export const snapshots = inventory.snapshots;
export const pitrRanges = inventory.pitrRanges;
export const restorableWindows = inventory.restorableWindows; // oldest first; a restore to a time in a gap fails
export const gaps = inventory.gaps;
export const latestRestorableWindow = inventory.latestRestorableWindow;
