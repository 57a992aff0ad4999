import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BackupInventory, BackupLocation, PitrPolicy } from "pulumi-pbm";

const config = new pulumi.Config();
const mongodbUri = config.requireSecret("mongodbUri");
// Keys for pbm-agent's S3 access (an IAM user or role outside this program).
const accessKeyId = config.requireSecret("pbmAccessKeyId");
const secretAccessKey = config.requireSecret("pbmSecretAccessKey");

// The bucket: private, encrypted, versioned, and never destroyed with the stack while it holds backups.
const bucket = new aws.s3.Bucket("pbm-backups", { forceDestroy: false }, { protect: config.getBoolean("protectBucket") ?? true });
new aws.s3.BucketPublicAccessBlock("pbm-backups", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
new aws.s3.BucketServerSideEncryptionConfiguration("pbm-backups", {
  bucket: bucket.id,
  rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
});

const location = new BackupLocation("backups", {
  mongodbUri,
  bucket: bucket.bucket,
  region: bucket.region,
  prefix: "prod/rs0",
  credentials: { accessKeyId, secretAccessKey },
  serverSideEncryption: { sseAlgorithm: "aws:kms" },
});
const pitr = new PitrPolicy("pitr", { mongodbUri, oplogSpanMin: 10, baseSnapshotSchedule: { schedule: "0 3 * * *", retention: { count: 7 } } }, { dependsOn: [location] });

export const bucketName = bucket.bucket;
export const latestRestorableWindow = BackupInventory.get("inventory", { mongodbUri }, { dependsOn: [pitr] }).latestRestorableWindow;
