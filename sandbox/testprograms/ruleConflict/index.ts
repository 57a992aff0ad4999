// Test program for PMM's rule inside one program: both resources are new, so the registry knows neither.
import * as pulumi from "@pulumi/pulumi";
import { PitrPolicy, ScheduledBackup } from "pulumi-pbm";

const config = new pulumi.Config();
const mongodbUri = config.requireSecret("mongodbUri");
new PitrPolicy("pitr", { mongodbUri, takeBaseSnapshot: false });
new ScheduledBackup("nightly", { mongodbUri, schedule: "0 2 * * *" });
