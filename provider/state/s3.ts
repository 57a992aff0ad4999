// Probes a bucket before pbm is touched, so a wrong key or bucket fails with an S3 message now rather than
// as an agent error later: exists; put, get and delete a marker object.
import { errors, splitAdvice } from "../errors";

export interface S3ProbeTarget {
  bucket: string;
  prefix?: string;
  region?: string;
  endpointUrl?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
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

/** The one place an S3 client is made: the target's region, endpoint, path style and keys (or the default chain). */
export async function s3Client(t: S3ProbeTarget, o: { maxAttempts?: number } = {}) {
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

export async function probeBucket(t: S3ProbeTarget, resource: string): Promise<void> {
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
