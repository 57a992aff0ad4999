import * as pulumi from "@pulumi/pulumi";
import { BackupInventory, BackupLocation, PitrPolicy, ScheduledBackup } from "../../../sdk";

const config = new pulumi.Config();
const clusters = config.requireSecretObject<{ name: string; uri: string }[]>("clusters");
const s3 = config.requireSecretObject<{ endpoint: string; accessKeyId: string; secretAccessKey: string }>("s3");
const count = config.requireNumber("count");

export const windows: pulumi.Output<unknown>[] = [];
for (let i = 0; i < count; i++) {
  const uri = clusters.apply((c) => c[i].uri);
  const location = new BackupLocation(`loc-${i}`, {
    mongodbUri: uri,
    bucket: "pbm-bench",
    prefix: clusters.apply((c) => c[i].name),
    endpointUrl: s3.apply((x) => x.endpoint),
    credentials: s3.apply((x) => ({ accessKeyId: x.accessKeyId, secretAccessKey: x.secretAccessKey })),
  });
  const pitr = new PitrPolicy(`pitr-${i}`, { mongodbUri: uri, oplogSpanMin: 10 }, { dependsOn: [location] });
  new ScheduledBackup(`nightly-${i}`, { mongodbUri: uri, name: "nightly", schedule: "0 2 * * *", enabled: false }, { dependsOn: [location] });
  windows.push(BackupInventory.get(`inventory-${i}`, { mongodbUri: uri }, { dependsOn: [pitr] }).latestRestorableWindow);
}
