// The configured storage as the simulated pbm agents see it: S3 (or S3-compatible, here MinIO) from pbm's own
// config, keys in pbm's layout (reference §5). The AWS SDK is loaded only when a command touches storage.
import type { S3Client } from "@aws-sdk/client-s3";

export interface S3Conf {
  region?: string;
  endpointUrl?: string;
  forcePathStyle?: boolean;
  bucket: string;
  prefix?: string;
  credentials?: { "access-key-id"?: string; "secret-access-key"?: string; "session-token"?: string };
  insecureSkipTLSVerify?: boolean;
}
export interface StorageConf {
  type: string;
  s3?: S3Conf;
  filesystem?: { path: string };
}

export class Storage {
  private client?: S3Client;
  constructor(readonly conf: StorageConf) {}

  get s3(): S3Conf {
    if (this.conf.type !== "s3" || !this.conf.s3) throw new Error(`storage type ${this.conf.type} is not simulated (only s3)`);
    return this.conf.s3;
  }

  key(rel: string): string {
    const prefix = (this.s3.prefix ?? "").replace(/^\/+|\/+$/g, "");
    return prefix ? `${prefix}/${rel}` : rel;
  }

  private async s3client(): Promise<S3Client> {
    if (this.client) return this.client;
    const { S3Client } = await import("@aws-sdk/client-s3");
    const c = this.s3;
    this.client = new S3Client({
      region: c.region || "us-east-1",
      endpoint: c.endpointUrl || undefined,
      forcePathStyle: c.forcePathStyle ?? true,
      credentials:
        c.credentials?.["access-key-id"] && c.credentials?.["secret-access-key"]
          ? {
              accessKeyId: c.credentials["access-key-id"],
              secretAccessKey: c.credentials["secret-access-key"],
              sessionToken: c.credentials["session-token"] || undefined,
            }
          : { accessKeyId: "", secretAccessKey: "" },
      maxAttempts: 2,
    });
    return this.client;
  }

  async put(rel: string, body: string | Uint8Array): Promise<void> {
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    await (await this.s3client()).send(new PutObjectCommand({ Bucket: this.s3.bucket, Key: this.key(rel), Body: body }));
  }

  async get(rel: string): Promise<string | undefined> {
    const { GetObjectCommand } = await import("@aws-sdk/client-s3");
    try {
      const r = await (await this.s3client()).send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: this.key(rel) }));
      return await r.Body!.transformToString();
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  }

  async head(rel: string): Promise<boolean> {
    const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
    try {
      await (await this.s3client()).send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key: this.key(rel) }));
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === "NotFound" || e.$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async list(relPrefix: string): Promise<{ key: string; size: number }[]> {
    const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const client = await this.s3client();
    const base = this.key("");
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const r = await client.send(
        new ListObjectsV2Command({ Bucket: this.s3.bucket, Prefix: this.key(relPrefix), ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) out.push({ key: o.Key!.slice(base.length), size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async remove(rels: string[]): Promise<void> {
    if (rels.length === 0) return;
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    const client = await this.s3client();
    for (let i = 0; i < rels.length; i += 1000) {
      await client.send(
        new DeleteObjectsCommand({
          Bucket: this.s3.bucket,
          Delete: { Objects: rels.slice(i, i + 1000).map((r) => ({ Key: this.key(r) })), Quiet: true },
        }),
      );
    }
  }

  /** Puts many small objects with bounded concurrency. */
  async putMany(items: { rel: string; body: string }[], concurrency = 16): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++];
        await this.put(item.rel, item.body);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  }

  close(): void {
    this.client?.destroy();
  }
}

/** Describes an S3 failure the way pbm's aws-sdk-go v2 errors read. */
export function storageErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const code = e.$metadata?.httpStatusCode;
  if (code) return `https response error StatusCode: ${code}, RequestID: ${e.$metadata?.requestId ?? ""}, api error ${e.name}: ${e.message}`;
  return e.message ?? String(err);
}
