// zod schemas of the resources' inputs. Built inside functions: module-level schemas must not be captured by
// Pulumi's closure serialiser.
import { z } from "zod";

export const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "s2", "pgzip", "zstd"] as const;

function mongodbUri() {
  return z
    .string({ error: "must be a MongoDB connection string" })
    .refine((u) => /^mongodb:\/\//.test(u), { message: "must start with mongodb:// (pbm does not accept mongodb+srv:// URIs)" });
}

function cron() {
  return z.string().superRefine((expr, ctx) => {
    const fields = expr.trim().split(/\s+/);
    if (fields.length < 5 || fields.length > 6) {
      ctx.addIssue({ code: "custom", message: `must be a cron expression with 5 fields (or 6 with seconds), evaluated in UTC; got "${expr}"` });
      return;
    }
    try {
      const { CronExpressionParser } = require("cron-parser") as typeof import("cron-parser");
      CronExpressionParser.parse(expr, { tz: "UTC" });
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `is not a valid cron expression ("${expr}"): ${(e as Error).message}` });
    }
  });
}

const bucketName = () =>
  z
    .string()
    .refine((b) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && !/\.\./.test(b) && !/^\d+\.\d+\.\d+\.\d+$/.test(b), {
      message: "must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
    });

const endpoint = () =>
  z.string().refine(
    (u) => {
      try {
        const url = new URL(u);
        return (url.protocol === "http:" || url.protocol === "https:") && !!url.hostname;
      } catch {
        return false;
      }
    },
    { message: "must be an http(s) URL such as https://s3.eu-west-1.amazonaws.com or http://minio:9000" },
  );

const profileName = () =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a pbm profile name (letters, digits, _ . -)").refine((p) => p !== "main", { message: `must not be "main" (leave it unset for pbm's main storage)` });

const compression = () => z.enum(COMPRESSIONS, { error: `must be one of ${COMPRESSIONS.join(", ")}` });

export function backupLocationInputs() {
  return z
    .object({
      mongodbUri: mongodbUri(),
      bucket: bucketName(),
      prefix: z.string().optional(),
      region: z.string().min(1).default("us-east-1"),
      endpointUrl: endpoint().optional(),
      forcePathStyle: z.boolean().default(true),
      credentials: z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() }).optional(),
      serverSideEncryption: z.object({ sseAlgorithm: z.string().optional(), kmsKeyId: z.string().optional() }).optional(),
      storageClass: z.string().optional(),
      uploadPartSizeBytes: z.number().int().min(5 * 1024 * 1024, "must be at least 5 MiB (5242880 bytes), S3's minimum part size").optional(),
      maxUploadParts: z.number().int().positive().max(10000).optional(),
      insecureSkipTLSVerify: z.boolean().default(false),
      retryer: z.object({ numMaxRetries: z.number().int().min(0).optional(), minRetryDelayMs: z.number().positive().optional(), maxRetryDelayMs: z.number().positive().optional() }).optional(),
      profile: profileName().optional(),
      resyncTimeoutSec: z.number().int().positive().default(300),
      pbmPath: z.string().optional(),
    })
    .strict();
}
export type BackupLocationInputs = z.output<ReturnType<typeof backupLocationInputs>>;

export function pitrPolicyInputs() {
  return z
    .object({
      mongodbUri: mongodbUri(),
      enabled: z.boolean().default(true),
      oplogSpanMin: z.number().positive("must be greater than 0 minutes. Leave it unset to use PBM's default of 10").default(10),
      compression: compression().optional(),
      compressionLevel: z.number().int().optional(),
      oplogOnly: z.boolean().default(false),
      takeBaseSnapshot: z.boolean().default(true),
      baseSnapshotSchedule: z
        .object({
          schedule: cron(),
          type: z.enum(["logical", "physical", "incremental"]).default("logical"),
          retention: z.object({ count: z.number().int().positive().optional(), maxAgeDays: z.number().positive().optional() }).optional(),
        })
        .optional(),
      name: z.string().min(1).default("pitr"),
      declaredBy: z.object({ project: z.string().optional(), stack: z.string().optional() }).optional(),
      pbmPath: z.string().optional(),
    })
    .strict();
}
export type PitrPolicyInputs = z.output<ReturnType<typeof pitrPolicyInputs>>;

export function scheduledBackupInputs() {
  return z
    .object({
      mongodbUri: mongodbUri(),
      name: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, "must be 1-100 letters, digits, _ . - starting with a letter or digit"),
      schedule: cron(),
      type: z.enum(["logical", "physical", "incremental"], { error: "must be logical, physical or incremental" }).default("logical"),
      compression: compression().optional(),
      compressionLevel: z.number().int().optional(),
      namespaces: z.array(z.string().regex(/^[^.$\s]+\.[^$\s]+$/, 'must be "db.collection" or "db.*"')).optional(),
      profile: profileName().optional(),
      retention: z
        .object({ count: z.number().int().positive("must keep at least 1 backup").optional(), maxAgeDays: z.number().positive("must be more than 0 days").optional() })
        .optional(),
      enabled: z.boolean().default(true),
      declaredBy: z.object({ project: z.string().optional(), stack: z.string().optional() }).optional(),
      pbmPath: z.string().optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
      if (v.namespaces?.length && v.type !== "logical") ctx.addIssue({ code: "custom", path: ["namespaces"], message: "is only allowed for logical backups (pbm --ns)" });
      for (const ns of v.namespaces ?? []) {
        const db = ns.split(".")[0];
        if (["admin", "config", "local"].includes(db)) ctx.addIssue({ code: "custom", path: ["namespaces"], message: `"${ns}": the admin, config and local databases cannot be backed up selectively` });
      }
    });
}
export type ScheduledBackupInputs = z.output<ReturnType<typeof scheduledBackupInputs>>;

export function backupInventoryInputs() {
  return z.object({ mongodbUri: mongodbUri(), pbmPath: z.string().optional() }).passthrough();
}
