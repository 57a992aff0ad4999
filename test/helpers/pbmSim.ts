import { execFile } from "node:child_process";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { Cluster, S3Endpoint } from "../../sandbox/testbed";

export interface PbmResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs the sandbox's real `pbm` (first on PATH, see useSandbox) as the provider would: URI in the environment. */
export function runPbm(
  cluster: Cluster | undefined,
  args: string[],
  o: { stdin?: string; env?: Record<string, string> } = {},
): Promise<PbmResult> {
  return new Promise((resolve) => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...o.env };
    if (cluster) env.PBM_MONGODB_URI = cluster.mongodbUri;
    else delete env.PBM_MONGODB_URI;
    const child = execFile("pbm", args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exitCode: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
    if (o.stdin !== undefined) child.stdin!.end(o.stdin);
    else child.stdin!.end();
  });
}

/** Parses pbm's JSON output: the last non-empty stdout line, from its first `{` or `[`. */
export function lastJson(stdout: string): any {
  const line = stdout.trim().split("\n").filter(Boolean).pop() ?? "";
  const at = line.search(/[[{]/);
  return JSON.parse(line.slice(at));
}

export function s3Client(s3: S3Endpoint): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

export async function createBucket(s3: S3Endpoint, bucket: string): Promise<void> {
  await s3Client(s3).send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function listKeys(s3: S3Endpoint, bucket: string, prefix = ""): Promise<string[]> {
  const client = s3Client(s3);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) keys.push(o.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** A pbm config file for the sandbox's MinIO. */
export function s3ConfigYaml(s3: S3Endpoint, bucket: string, prefix: string, extra = ""): string {
  return `storage:
  type: s3
  s3:
    region: ${s3.region}
    endpointUrl: ${s3.endpoint}
    bucket: ${bucket}
    prefix: ${prefix}
    credentials:
      access-key-id: ${s3.accessKeyId}
      secret-access-key: ${s3.secretAccessKey}
${extra}`;
}

/** A BackupLocation's checked inputs for the sandbox's bucket `pbm-backups` under `prefix`, as check would hand them to create. */
export function locationInputs(s3: S3Endpoint, mongodbUri: string, prefix: string) {
  return {
    mongodbUri,
    bucket: "pbm-backups",
    prefix,
    region: "us-east-1",
    endpointUrl: s3.endpoint,
    forcePathStyle: true,
    insecureSkipTLSVerify: false,
    resyncTimeoutSec: 60,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}
