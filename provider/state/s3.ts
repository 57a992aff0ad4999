// The bucket, as pulumi-pbm reaches it: the one S3 client factory (every client is made here, from a location's
// settings), the probe a BackupLocation runs before pbm is touched (exists; put, get and delete a marker
// object, so a wrong key or bucket fails with an S3 message now rather than as an agent error later), and the
// read of pbm's own files for the inventory from storage.
import { errors, splitAdvice } from "../errors";

/** Where a bucket is and how to reach it: a BackupLocation's settings, or `inventory --from-storage`'s options. */
export interface S3Location {
  bucket: string;
  prefix?: string;
  region?: string;
  endpointUrl?: string;
  /** Path-style requests; pbm's default, and the BackupLocation's, is true. */
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** With temporary keys (STS): sent with every request, or S3 refuses them. */
  sessionToken?: string;
}

const HINTS: Record<string, string> = {
  NoSuchBucket: "the bucket does not exist. Create it first, or fix bucket/region",
  NotFound: "the bucket does not exist. Create it first, or fix bucket/region",
  AccessDenied: "access denied (HTTP 403). Check credentials.accessKeyId/secretAccessKey, and give them s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on it",
  PermanentRedirect: "the bucket is in another region. Set region to the bucket's region",
  Forbidden: "access denied. Give the credentials s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on it",
  InvalidAccessKeyId: "the access key id is not known to this endpoint. Check credentials.accessKeyId",
  SignatureDoesNotMatch: "the secret access key is wrong. Check credentials.secretAccessKey",
};

/** The one place an S3 client is made: the location's region, endpoint, path style and keys (or the SDK's default chain). */
export async function s3Client(t: S3Location, o: { maxAttempts?: number } = {}) {
  // pulumi-pbm runs on Node 20 (the last @pulumi/pulumi release for it); the SDK's notice that its own releases
  // from 2027 need Node 22 would otherwise print on every pulumi run. A user's own setting wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const s3 = await import("@aws-sdk/client-s3");
  const client = new s3.S3Client({
    region: t.region || "us-east-1",
    endpoint: t.endpointUrl || undefined,
    forcePathStyle: t.forcePathStyle ?? true,
    credentials: t.accessKeyId && t.secretAccessKey ? { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, sessionToken: t.sessionToken } : undefined,
    ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
  });
  return { s3, client };
}

export async function probeBucket(t: S3Location, resource: string): Promise<void> {
  const { s3, client } = await s3Client(t, { maxAttempts: 2 });
  const where = `bucket "${t.bucket}"${t.endpointUrl ? ` at ${t.endpointUrl}` : ""}`;
  const key = `${t.prefix ? t.prefix.replace(/\/+$/, "") + "/" : ""}.pulumi-pbm-probe-${process.pid}-${Date.now()}`;
  let step = "HeadBucket";
  try {
    await client.send(new s3.HeadBucketCommand({ Bucket: t.bucket }));
    step = "PutObject";
    await client.send(new s3.PutObjectCommand({ Bucket: t.bucket, Key: key, Body: "pulumi-pbm probe" }));
    step = "GetObject";
    await (await client.send(new s3.GetObjectCommand({ Bucket: t.bucket, Key: key }))).Body?.transformToString();
    step = "DeleteObject";
    await client.send(new s3.DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
  } catch (cause) {
    const e = cause as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; code?: string; message?: string };
    const status = e.$metadata?.httpStatusCode;
    // HEAD responses have no body, so the SDK names their errors only by status.
    const name = !e.name || /^Unknown/.test(e.name) ? (status === 403 ? "AccessDenied" : status === 404 ? "NoSuchBucket" : status === 301 ? "PermanentRedirect" : e.code ?? "") : e.name;
    const unreachable = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket hang up/.test(String(e.code ?? e.message));
    const why = unreachable ? `the endpoint is unreachable (${e.code ?? e.message}). Check endpointUrl and the network path` : HINTS[name] ?? `${name || "error"}: ${e.message ?? ""}`;
    throw errors.storage(`${resource}: ${where} is not usable (${step} failed): ${splitAdvice(why).reason}`, { cause, advice: splitAdvice(why).advice });
  } finally {
    client.destroy();
  }
}

/** pbm's files under a location's prefix (reference §5), as stored: what the inventory from storage reads. */
export interface PbmFiles {
  /** pbm's `.pbm.init` marker is there: pbm has initialised this storage. */
  initialised: boolean;
  /** Every key under the prefix (relative to it), with its size in bytes. */
  keys: { key: string; size: number }[];
  /** The text of each backup metadata file, `<name>.pbm.json` at the prefix's top. */
  metadata: { key: string; text: string }[];
}

/**
 * Lists the location's prefix and reads pbm's backup metadata files. When pbm has not initialised the prefix,
 * probes the bucket first, so a bucket the keys cannot use fails with the probe's S3 message (`resource` names
 * what is reading) rather than reading as empty.
 */
export async function readPbmFiles(t: S3Location, resource: string): Promise<PbmFiles> {
  const { s3, client } = await s3Client(t);
  const base = t.prefix ? `${t.prefix.replace(/\/+$/, "")}/` : "";
  try {
    const keys: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const r = await client.send(new s3.ListObjectsV2Command({ Bucket: t.bucket, Prefix: base, ContinuationToken: token }));
      for (const o of r.Contents ?? []) keys.push({ key: o.Key!.slice(base.length), size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    const initialised = keys.some((k) => k.key === ".pbm.init");
    if (!initialised) await probeBucket(t, resource);
    const metadata = await Promise.all(
      keys
        .filter((k) => k.key.endsWith(".pbm.json") && !k.key.includes("/"))
        .map(async ({ key }) => ({ key, text: await (await client.send(new s3.GetObjectCommand({ Bucket: t.bucket, Key: base + key }))).Body!.transformToString() })),
    );
    return { initialised, keys, metadata };
  } finally {
    client.destroy();
  }
}
