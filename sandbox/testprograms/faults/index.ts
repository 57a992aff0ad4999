// Test program for the fault matrix (test/e2e/faults.test.ts): the quickstart's BackupLocation and PitrPolicy
// with every knob a fault needs from config (pbmPath, timeoutSec, keys, endpoint), and the PitrPolicy optional
// (config `pitr: false` leaves it out, so a case can create it again).
import * as pulumi from "@pulumi/pulumi";
import { BackupLocation, PitrPolicy } from "pulumi-pbm";

const config = new pulumi.Config();
const mongodbUri = config.requireSecret("mongodbUri");
const pbmPath = config.get("pbmPath");
const timeoutSec = config.getNumber("timeoutSec");
const common = { mongodbUri, ...(pbmPath ? { pbmPath } : {}), ...(timeoutSec ? { timeoutSec } : {}) };

const location = new BackupLocation("backups", {
  ...common,
  bucket: config.require("bucket"),
  prefix: config.require("prefix"),
  endpointUrl: config.require("endpointUrl"),
  credentials: { accessKeyId: config.requireSecret("accessKeyId"), secretAccessKey: config.requireSecret("secretAccessKey") },
  resyncTimeoutSec: config.getNumber("resyncTimeoutSec") ?? 30,
});

const baseSchedule = config.get("baseSnapshotSchedule");
const pitr =
  config.getBoolean("pitr") === false
    ? undefined
    : new PitrPolicy(
        "pitr",
        {
          ...common,
          oplogSpanMin: config.getNumber("oplogSpanMin") ?? 1,
          ...(baseSchedule ? { baseSnapshotSchedule: { schedule: baseSchedule, retention: { count: 50 } } } : {}),
        },
        { dependsOn: [location] },
      );

export const storagePath = location.storagePath;
export const pitrEnabled = pitr?.enabled;
export const baseSnapshot = pitr?.baseSnapshot;
