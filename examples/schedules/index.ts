import * as pulumi from "@pulumi/pulumi";
import { ScheduledBackup } from "pulumi-pbm";

const config = new pulumi.Config();
const mongodbUri = config.requireSecret("mongodbUri");

const nightly = new ScheduledBackup("nightly", {
  mongodbUri,
  schedule: config.get("nightlySchedule") ?? "0 2 * * *",
  type: "logical",
  compression: "zstd",
  retention: { count: 7 },
  enabled: config.getBoolean("enabled") ?? true,
});

const weekly = new ScheduledBackup("weekly-physical", {
  mongodbUri,
  schedule: "0 3 * * 0",
  type: "physical",
  retention: { maxAgeDays: 35 },
  enabled: config.getBoolean("enabled") ?? true,
});

export const schedules = [nightly.name, weekly.name];
export const nextNightly = nightly.nextRunTime;
