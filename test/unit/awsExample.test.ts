// examples/aws-bucket under Pulumi's mocks: the AWS plugin is a download, so the program cannot run offline.
// Checks the wiring users rely on: pbm is pointed at the bucket @pulumi/aws creates, secrets stay secret,
// and the serialised provider holds no credentials.
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SANDBOX_DIST } from "../../sandbox/testbed";
import { madeUpSecret, withMadeUpCredentials } from "../helpers/secrets";

const nativeRequire = createRequire(__filename);

describe("examples/aws-bucket with mocks", () => {
  it("points the BackupLocation at the created bucket, keeps credentials secret and out of __provider", async () => {
    const pulumi: typeof import("@pulumi/pulumi") = nativeRequire("@pulumi/pulumi");
    const registered: { type: string; name: string; inputs: Record<string, any> }[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          const state = args.type === "aws:s3/bucket:Bucket" ? { ...args.inputs, bucket: "pbm-backups-4f2a1c", region: "eu-west-1" } : args.inputs;
          return { id: `${args.name}-id`, state };
        },
        call: (args) => args.inputs,
      },
      "pbm-aws-bucket",
      "test",
      false,
    );
    const secrets = { mongodbUri: withMadeUpCredentials("mongodb://mongo1:27017/?replicaSet=rs0").uri, pbmAccessKeyId: "AKIAEXAMPLEKEY123", pbmSecretAccessKey: madeUpSecret(16) };
    pulumi.runtime.setAllConfig(
      Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`pbm-aws-bucket:${k}`, v])),
      Object.keys(secrets).map((k) => `pbm-aws-bucket:${k}`),
    );
    const program = nativeRequire(path.join(SANDBOX_DIST, "programs", "examples", "aws-bucket", "index.js"));
    const bucketName = await new Promise((resolve) => program.bucketName.apply(resolve));
    await new Promise((r) => setTimeout(r, 200));

    const location = registered.find((r) => r.type === "pulumi-nodejs:dynamic/pbm:BackupLocation");
    expect(bucketName).toBe("pbm-backups-4f2a1c");
    expect(location?.inputs).toMatchObject({ bucket: "pbm-backups-4f2a1c", region: "eu-west-1", prefix: "prod/rs0" });
    expect(location?.inputs.__provider).toContain('require("pulumi-pbm/provider")');
    for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/pbm:"))) {
      const provider = String(r.inputs.__provider);
      for (const s of Object.values(secrets)) expect(provider).not.toContain(s);
    }
    expect(registered.map((r) => r.type)).toEqual(
      expect.arrayContaining(["aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pulumi-nodejs:dynamic/pbm:PitrPolicy", "pulumi-nodejs:dynamic/pbm:BackupInventory"]),
    );
    const pitr = registered.find((r) => r.type === "pulumi-nodejs:dynamic/pbm:PitrPolicy");
    expect(pitr?.inputs.baseSnapshotSchedule).toMatchObject({ schedule: "0 3 * * *", retention: { count: 7 } });
  });
});
