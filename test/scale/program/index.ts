// N clusters x 4 resources, the shape the scale test and `npm run bench` drive through the pulumi command.
// Config: `clusters` (secret JSON [{ name, uri }]), `s3` (secret JSON { endpoint, accessKeyId, secretAccessKey }),
// `bucket`; `pbmPath` (the PitrPolicy's and the inventory's pbm); `schedules: false` leaves the ScheduledBackups out; `noop: true` declares the same number of no-op dynamic resources instead (the bench's engine floor).
import * as pulumi from "@pulumi/pulumi";
import { BackupInventory, BackupLocation, PitrPolicy, ScheduledBackup } from "pulumi-pbm";

const config = new pulumi.Config();
const clusters = config.requireSecretObject<{ name: string; uri: string }[]>("clusters");
const s3 = config.requireSecretObject<{ endpoint: string; accessKeyId: string; secretAccessKey: string }>("s3");
const count = config.requireNumber("count");
const bucket = config.require("bucket");
const pbmPath = config.get("pbmPath");

// A dynamic resource whose provider does nothing: the same engine path (serialised provider, provider host,
// secret inputs) without pbm or MongoDB.
const noopProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: String(inputs.name), outs: inputs };
  },
  async read(id, props) {
    return { id, props };
  },
  async diff() {
    return { changes: false };
  },
};
class Noop extends pulumi.dynamic.Resource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>, opts?: pulumi.CustomResourceOptions) {
    super(noopProvider, name, { ...args, name }, opts);
  }
}

export const windows: pulumi.Output<unknown>[] = [];
for (let i = 0; i < count; i++) {
  const uri = clusters.apply((c) => c[i].uri);
  if (config.getBoolean("noop")) {
    const a = new Noop(`loc-${i}`, { mongodbUri: pulumi.secret(uri) });
    const b = new Noop(`pitr-${i}`, { mongodbUri: pulumi.secret(uri) }, { dependsOn: [a] });
    new Noop(`nightly-${i}`, { mongodbUri: pulumi.secret(uri) }, { dependsOn: [a] });
    windows.push(new Noop(`inventory-${i}`, { mongodbUri: pulumi.secret(uri) }, { dependsOn: [b] }).id);
    continue;
  }
  const location = new BackupLocation(`loc-${i}`, {
    mongodbUri: uri,
    bucket,
    prefix: clusters.apply((c) => c[i].name),
    endpointUrl: s3.apply((x) => x.endpoint),
    credentials: s3.apply((x) => ({ accessKeyId: x.accessKeyId, secretAccessKey: x.secretAccessKey })),
  });
  const pitr = new PitrPolicy(`pitr-${i}`, { mongodbUri: uri, oplogSpanMin: 10, takeBaseSnapshot: false, ...(pbmPath ? { pbmPath } : {}) }, { dependsOn: [location] });
  if (config.getBoolean("schedules") !== false)
    new ScheduledBackup(`nightly-${i}`, { mongodbUri: uri, name: "nightly", schedule: "0 2 * * *", enabled: false }, { dependsOn: [location] });
  windows.push(BackupInventory.get(`inventory-${i}`, { mongodbUri: uri, ...(pbmPath ? { pbmPath } : {}) }, { dependsOn: [pitr] }).latestRestorableWindow);
}
