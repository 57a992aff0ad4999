// Handlers of the testbed's smoke resource, `SandboxProbe`: it writes one document to the MongoDB stand-in
// and one object to S3, so the smoke test proves that a dynamic provider run by the real Pulumi engine
// reaches both servers with the real clients. The serialised provider only `require`s this module.
import type * as pulumi from "@pulumi/pulumi";

export interface ProbeInputs {
  mongodbUri: string;
  s3Endpoint: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  bucket: string;
  key: string;
  value: string;
}
export type ProbeOutputs = ProbeInputs;

async function s3Client(i: ProbeInputs) {
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({
    endpoint: i.s3Endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: i.s3AccessKeyId, secretAccessKey: i.s3SecretAccessKey },
  });
}

async function withDb<T>(uri: string, fn: (c: import("mongodb").Collection<{ _id: string; value: string }>) => Promise<T>) {
  const { MongoClient } = await import("mongodb");
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(client.db("sandbox_smoke").collection("probes"));
  } finally {
    await client.close();
  }
}

async function write(i: ProbeInputs): Promise<void> {
  await withDb(i.mongodbUri, (c) => c.updateOne({ _id: i.key }, { $set: { value: i.value } }, { upsert: true }));
  const s3 = await s3Client(i);
  const { PutObjectCommand, CreateBucketCommand, HeadBucketCommand } = await import("@aws-sdk/client-s3");
  await s3.send(new HeadBucketCommand({ Bucket: i.bucket })).catch(() => s3.send(new CreateBucketCommand({ Bucket: i.bucket })));
  await s3.send(new PutObjectCommand({ Bucket: i.bucket, Key: i.key, Body: i.value }));
}

export const sandboxProbe: pulumi.dynamic.ResourceProvider<ProbeInputs, ProbeOutputs> = {
  async diff(_id, olds, news) {
    const replaces = olds.key !== news.key || olds.bucket !== news.bucket ? ["key"] : [];
    return { changes: replaces.length > 0 || olds.value !== news.value, replaces, deleteBeforeReplace: true };
  },
  async create(inputs) {
    await write(inputs);
    return { id: inputs.key, outs: inputs };
  },
  async read(id, props) {
    const doc = await withDb(props!.mongodbUri, (c) => c.findOne({ _id: id }));
    if (!doc) return { id: "" };
    const live = { ...props!, value: doc.value };
    return { id, props: live, inputs: live };
  },
  async update(_id, _olds, news) {
    await write(news);
    return { outs: news };
  },
  async delete(id, props) {
    await withDb(props.mongodbUri, (c) => c.deleteOne({ _id: id }));
    const s3 = await s3Client(props);
    const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
    await s3.send(new DeleteObjectCommand({ Bucket: props.bucket, Key: props.key }));
  },
};
