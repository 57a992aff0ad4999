import * as pulumi from "@pulumi/pulumi";
import { PbmResource, type PbmCallArgs } from "./common";

export interface BackupLocationArgs extends PbmCallArgs {
  /** Connection string pbm uses for the cluster. Kept secret; passed to pbm only as PBM_MONGODB_URI. A different host replaces the resource. */
  mongodbUri: pulumi.Input<string>;
  /** S3 bucket (pbm `storage.s3.bucket`). It must exist; it is probed before pbm is touched. */
  bucket: pulumi.Input<string>;
  /** Folder inside the bucket (pbm `storage.s3.prefix`). @default - the bucket root */
  prefix?: pulumi.Input<string>;
  /** @default "us-east-1" (pbm's default) */
  region?: pulumi.Input<string>;
  /** For S3-compatible storage such as MinIO: `http://minio:9000` (pbm `storage.s3.endpointUrl`). @default - AWS */
  endpointUrl?: pulumi.Input<string>;
  /** @default true (pbm's default) */
  forcePathStyle?: pulumi.Input<boolean>;
  /** Static keys (pbm `storage.s3.credentials`). Kept secret; sent to pbm on stdin only. @default - the agents' instance credentials */
  credentials?: pulumi.Input<{ accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string>; sessionToken?: pulumi.Input<string> }>;
  /** pbm `storage.s3.serverSideEncryption`. */
  serverSideEncryption?: pulumi.Input<{ sseAlgorithm?: pulumi.Input<string>; kmsKeyId?: pulumi.Input<string> }>;
  /** @default "STANDARD" */
  storageClass?: pulumi.Input<string>;
  /** Multipart upload part size in bytes, at least 5 MiB (pbm `storage.s3.uploadPartSize`). @default 10 MiB */
  uploadPartSizeBytes?: pulumi.Input<number>;
  /** @default 10000 */
  maxUploadParts?: pulumi.Input<number>;
  /** @default false */
  insecureSkipTLSVerify?: pulumi.Input<boolean>;
  /** pbm `storage.s3.retryer`. */
  retryer?: pulumi.Input<{ numMaxRetries?: pulumi.Input<number>; minRetryDelayMs?: pulumi.Input<number>; maxRetryDelayMs?: pulumi.Input<number> }>;
  /** A pbm storage profile name (pbm 2.6+); changing it replaces the resource. @default - pbm's main storage */
  profile?: pulumi.Input<string>;
  /**
   * How long to wait for pbm's storage resync, in seconds. `pbm config`, which waits for it, gets at least this
   * plus 60 as its timeout, whatever timeoutSec says.
   * @default 300
   */
  resyncTimeoutSec?: pulumi.Input<number>;
}

/**
 * Where a cluster's backups go: pbm's S3 (or S3-compatible) storage. Runs `pbm config --file -` (secrets on
 * stdin), keeping the existing `pitr`, `backup` and `restore` settings; with `profile`, `pbm profile add`.
 * Deleting it keeps pbm's storage config and every backup; it is refused while PITR or schedules use it.
 *
 * @example
 * const location = new BackupLocation("backups", { mongodbUri, bucket: "pbm-backups", prefix: "prod/rs0",
 *   credentials: { accessKeyId, secretAccessKey } });
 */
export class BackupLocation extends PbmResource {
  /** `s3://bucket/prefix`. */
  declare public readonly storagePath: pulumi.Output<string>;
  /** What create or a storage change altered in a pbm config that already existed. */
  declare public readonly adoptedChanges: pulumi.Output<string[]>;
  declare public readonly bucket: pulumi.Output<string>;
  declare public readonly prefix: pulumi.Output<string | undefined>;

  constructor(name: string, args: BackupLocationArgs, opts?: pulumi.CustomResourceOptions) {
    const credentials = args.credentials === undefined ? undefined : pulumi.secret(args.credentials);
    super("BackupLocation", "backupLocation", name, { ...args, credentials, cluster: undefined, storagePath: undefined, adoptedChanges: undefined }, opts, ["credentials"]);
  }
}
