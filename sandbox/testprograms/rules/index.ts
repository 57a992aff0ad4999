// Test program for PMM's rule end to end: the resources come from config, so one program serves every case.
// config `resources`: JSON list of { kind: "pitr" | "schedule", name, cluster: "a" | "b", enabled? }.
import * as pulumi from "@pulumi/pulumi";
import { PitrPolicy, ScheduledBackup } from "pulumi-pbm";

interface Declared {
  kind: "pitr" | "schedule";
  name: string;
  cluster: "a" | "b";
  enabled?: boolean;
}

const config = new pulumi.Config();
const uris = { a: config.requireSecret("uriA"), b: config.getSecret("uriB") ?? config.requireSecret("uriA") };
const pbmPath = config.get("pbmPath");
const resources = config.requireObject<Declared[]>("resources");

export const declared = resources.map((r) => {
  const common = { mongodbUri: uris[r.cluster], enabled: r.enabled ?? true, ...(pbmPath ? { pbmPath } : {}) };
  const res = r.kind === "pitr" ? new PitrPolicy(r.name, { ...common, takeBaseSnapshot: false }) : new ScheduledBackup(r.name, { ...common, schedule: "0 2 * * *", retention: { count: 3 } });
  return res.urn;
});
