// zod schemas of the resources' inputs, each built on first use (builtOnce.ts). Every object is strict (an
// unknown property is a failure, never ignored) and every number has a range: a value pbm would refuse later,
// overflow, or write to the cluster unchecked is refused here, at preview.
import { z } from "zod";
import { builtOnce } from "./builtOnce";
import { cronProblem } from "./core/cron";

export const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "s2", "pgzip", "zstd"] as const;
export type Compression = (typeof COMPRESSIONS)[number];
/** `c` as one of the compressions pulumi-pbm knows; undefined for one a later pbm may add. */
export const knownCompression = (c: string): Compression | undefined => COMPRESSIONS.find((k) => k === c);

/**
 * The compression levels pbm passes through to each library (pbm/compress/compress.go, v2.14.0; the same in
 * 1.8 and 2.8): gzip and pgzip take -2 (Huffman only) to 9 and fail the backup otherwise; s2 maps 1
 * (uncompressed), 2 (default), 3 (better), 4 (best) and ignores the rest; zstd maps zstd's 1-22 onto its four
 * speeds; lz4 (pierrec/lz4 v2) takes 0 (fast) or a high-compression search depth up to its 64 KiB window;
 * snappy and none have no levels.
 */
export const COMPRESSION_LEVELS: Record<Compression, readonly [number, number] | null> = {
  none: null,
  snappy: null,
  gzip: [-2, 9],
  pgzip: [-2, 9],
  s2: [1, 4],
  zstd: [1, 22],
  lz4: [0, 65536],
};

/** Seconds a single pbm call may take (`timeoutSec`, `pulumi-pbm --timeout`): 1 s to 1 day. */
export const TIMEOUT_RANGE = [1, 86_400] as const;

/**
 * Why a MongoDB connection string cannot be used, or undefined when it can. Follows the URI spec (the
 * user name and password must percent-encode `: / ? # [ ] @ %`) strictly enough that a bad URI fails here,
 * naming the fix, instead of in the driver, where parts of the password can end up in the error (an
 * unencoded `@` makes the rest of the password a host name: `getaddrinfo ENOTFOUND <rest of password>`).
 * Never echoes the URI or any part of its credentials.
 */
export function mongodbUriProblem(uri: unknown): string | undefined {
  if (typeof uri !== "string") return "must be a MongoDB connection string (a string)";
  if (/^mongodb\+srv:\/\//i.test(uri)) return "must start with mongodb:// (pbm does not accept mongodb+srv:// URIs): list the hosts of the replica set instead";
  if (!uri.startsWith("mongodb://")) return "must start with mongodb://";
  if (/\s/.test(uri)) return "must not contain spaces or line breaks (percent-encode them in the password as %20)";
  const rest = uri.slice("mongodb://".length);
  const ats = rest.split("@").length - 1;
  if (ats > 1) return 'has more than one "@": percent-encode "@" in the user name, password and options as %40 (encodeURIComponent), so only the "@" before the hosts remains';
  let hostsAndMore = rest;
  if (ats === 1) {
    const userinfo = rest.slice(0, rest.indexOf("@"));
    hostsAndMore = rest.slice(rest.indexOf("@") + 1);
    const colon = userinfo.indexOf(":");
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    const password = colon >= 0 ? userinfo.slice(colon + 1) : undefined;
    for (const [what, v] of [["user name", user], ["password", password]] as const) {
      if (v === undefined) continue;
      if (/[:/?#[\]@]/.test(v)) return `has an unencoded ":", "/", "?", "#", "[" or "]" in the ${what}: percent-encode the ${what} (encodeURIComponent)`;
      if (/%(?![0-9A-Fa-f]{2})/.test(v)) return `has a "%" in the ${what} that is not a percent-encoding: percent-encode the ${what} (encodeURIComponent; "%" becomes %25)`;
      try {
        decodeURIComponent(v);
      } catch {
        return `has a ${what} that is not valid percent-encoded UTF-8: percent-encode the ${what} with encodeURIComponent`;
      }
    }
    if (!user) return "has credentials without a user name (mongodb://user:password@host:port/)";
  }
  const hosts = hostsAndMore.split(/[/?]/)[0];
  if (!hosts) return "has no host: give the replica set's members, e.g. mongodb://user:password@mongo1:27017,mongo2:27017/?replicaSet=rs0";
  // Hosts are not echoed: with an unencoded "/" in it, a password can end up in this part.
  for (const [n, h] of hosts.split(",").entries()) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)(?::(\d{1,5}))?$/.exec(h);
    const which = hosts.includes(",") ? `host ${n + 1} ` : "host ";
    if (!m) return `has a ${which}that is not host or host:port (if the password has a "/", ":" or "@", percent-encode it with encodeURIComponent)`;
    if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return `has a ${which}port outside 1-65535`;
  }
  const after = hostsAndMore.slice(hosts.length);
  if (after && !after.startsWith("/")) return 'must have a "/" between the hosts and the options (mongodb://host:27017/?replicaSet=rs0)';
  return undefined;
}

function mongodbUri() {
  return z.string({ error: "must be a MongoDB connection string" }).superRefine((u, ctx) => {
    const problem = mongodbUriProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** A number within [min, max] (or (min, max] with `above`), whole when `int`; the message names the unit and the value got. */
function ranged(min: number, max: number, unit: string, o: { int?: boolean; above?: boolean; hint?: string } = {}) {
  const what = `${o.int ? "a whole number" : "a number"} ${o.above ? `greater than ${min} and at most ${max}` : `from ${min} to ${max}`}${unit ? ` ${unit}` : ""}`;
  return z.number({ error: `must be ${what}` }).superRefine((n, ctx) => {
    const ok = Number.isFinite(n) && (!o.int || Number.isInteger(n)) && (o.above ? n > min : n >= min) && n <= max;
    if (!ok) ctx.addIssue({ code: "custom", message: `must be ${what}, got ${n}${o.hint ? `. ${o.hint}` : ""}` });
  });
}

const timeoutSec = () => ranged(TIMEOUT_RANGE[0], TIMEOUT_RANGE[1], "seconds (how long one pbm call may take)", { int: true });

const pbmPath = () => z.string({ error: "must be the path of the pbm executable" }).min(1, "must be the path of the pbm executable; leave it unset to use pbm from PATH");

/** Conflicts under PMM's rule the sdk found among the program's own declarations (set by the sdk, not by users). */
const programConflicts = () =>
  z.array(z.object({ kind: z.enum(["schedule", "pitrPolicy"]), name: z.string() }).strict(), { error: "is set by pulumi-pbm's sdk: do not set it" }).max(10_000).optional();

const declaredBy = () => z.object({ project: z.string().optional(), stack: z.string().optional() }).strict().optional();

function cron() {
  return z.string({ error: "must be a cron expression (a string)" }).superRefine((expr, ctx) => {
    const problem = cronProblem(expr);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Why `b` is not an S3 bucket name, or undefined when it is one. */
export function bucketNameProblem(b: string): string | undefined {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && !/\.\./.test(b) && !/^\d+\.\d+\.\d+\.\d+$/.test(b)
    ? undefined
    : "must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit";
}

const bucketName = () =>
  z
    .string({ error: "must be an S3 bucket name" })
    .refine((b) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) && !/\.\./.test(b) && !/^\d+\.\d+\.\d+\.\d+$/.test(b), {
      message: "must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
    });

/** An http(s) URL with a host (S3 endpoints), or undefined when it is one. */
export function httpUrlProblem(u: string): string | undefined {
  try {
    const url = new URL(u);
    if ((url.protocol === "http:" || url.protocol === "https:") && !!url.hostname && !url.username && !url.password) return undefined;
    if (url.username || url.password) return "must not carry credentials (give them in credentials)";
  } catch {
    /* reported below */
  }
  return "must be an http(s) URL such as https://s3.eu-west-1.amazonaws.com or http://minio:9000";
}

const endpoint = () =>
  z.string({ error: "must be an http(s) URL" }).superRefine((u, ctx) => {
    const problem = httpUrlProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const profileName = () =>
  z
    .string({ error: "must be a pbm profile name" })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, "must be a pbm profile name (1-100 letters, digits, _ . -, starting with a letter or digit)")
    .refine((p) => p !== "main", { message: `must not be "main" (leave it unset for pbm's main storage)` });

/** What a PitrPolicy and a ScheduledBackup both carry: who declared it, what the sdk found in its program, pbm's call limits. */
const ruledResourceCommon = () => ({
  declaredBy: declaredBy(),
  programConflicts: programConflicts(),
  programReleases: programConflicts(),
  timeoutSec: timeoutSec().optional(),
  pbmPath: pbmPath().optional(),
});

const compression = () => z.enum(COMPRESSIONS, { error: `must be one of ${COMPRESSIONS.join(", ")}` });

const compressionLevel = () => ranged(-2, 65536, "", { int: true });

/** The level must fit the algorithm (COMPRESSION_LEVELS); a level needs an algorithm to be judged by. */
function checkCompressionLevel(v: { compression?: Compression; compressionLevel?: number }, ctx: z.RefinementCtx, prefix: PropertyKey[] = []): void {
  if (v.compressionLevel === undefined) return;
  const path = [...prefix, "compressionLevel"];
  if (!v.compression) {
    ctx.addIssue({ code: "custom", path, message: "needs compression as well: the levels differ per algorithm (gzip and pgzip -2 to 9, s2 1 to 4, zstd 1 to 22, lz4 0 to 65536)" });
    return;
  }
  const range = COMPRESSION_LEVELS[v.compression];
  if (!range) ctx.addIssue({ code: "custom", path, message: `must be unset for ${v.compression} compression, which has no levels; got ${v.compressionLevel}` });
  else if (v.compressionLevel < range[0] || v.compressionLevel > range[1])
    ctx.addIssue({ code: "custom", path, message: `must be from ${range[0]} to ${range[1]} for ${v.compression} compression, got ${v.compressionLevel}` });
}

const retention = () =>
  z
    .object({
      count: ranged(1, 10_000, "backups", { int: true, hint: "It must keep at least 1 backup" }).optional(),
      maxAgeDays: ranged(0, 36_500, "days", { above: true }).optional(),
    })
    .strict()
    .optional();

const backupType = () => z.enum(["logical", "physical", "incremental"], { error: "must be logical, physical or incremental" });

export const backupLocationInputs = builtOnce(() =>
  z
    .object({
      mongodbUri: mongodbUri(),
      bucket: bucketName(),
      prefix: z
        .string({ error: "must be a folder path in the bucket" })
        .max(1000, "must be at most 1000 characters")
        .refine((p) => !/^\/|\/\/|[\u0000-\u001f]/.test(p), { message: 'must be a folder path without a leading "/", "//" or control characters' })
        .optional(),
      region: z
        .string({ error: "must be an S3 region" })
        .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be an S3 region such as "us-east-1" (lowercase letters, digits and hyphens)')
        .default("us-east-1"),
      endpointUrl: endpoint().optional(),
      forcePathStyle: z.boolean({ error: "must be true or false" }).default(true),
      credentials: z
        .object({
          accessKeyId: z.string({ error: "must be a string" }).min(1, "must not be empty"),
          secretAccessKey: z.string({ error: "must be a string" }).min(1, "must not be empty"),
          sessionToken: z.string({ error: "must be a string" }).optional(),
        })
        .strict()
        .optional(),
      serverSideEncryption: z.object({ sseAlgorithm: z.enum(["AES256", "aws:kms"], { error: 'must be "AES256" or "aws:kms"' }).optional(), kmsKeyId: z.string().min(1).optional() }).strict().optional(),
      storageClass: z.string({ error: "must be an S3 storage class" }).regex(/^[A-Z][A-Z_]{1,40}$/, 'must be an S3 storage class such as "STANDARD" or "STANDARD_IA"').optional(),
      uploadPartSizeBytes: ranged(5 * 1024 * 1024, 5 * 1024 * 1024 * 1024, "bytes (S3's part size limits, 5 MiB to 5 GiB)", { int: true }).optional(),
      maxUploadParts: ranged(1, 10_000, "parts (S3's limit)", { int: true }).optional(),
      insecureSkipTLSVerify: z.boolean({ error: "must be true or false" }).default(false),
      retryer: z
        .object({
          numMaxRetries: ranged(0, 100, "retries", { int: true }).optional(),
          minRetryDelayMs: ranged(1, 3_600_000, "milliseconds", { int: true }).optional(),
          maxRetryDelayMs: ranged(1, 3_600_000, "milliseconds", { int: true }).optional(),
        })
        .strict()
        .superRefine((r, ctx) => {
          if (r.minRetryDelayMs !== undefined && r.maxRetryDelayMs !== undefined && r.minRetryDelayMs > r.maxRetryDelayMs)
            ctx.addIssue({ code: "custom", path: ["maxRetryDelayMs"], message: `must not be less than minRetryDelayMs (${r.minRetryDelayMs}), got ${r.maxRetryDelayMs}` });
        })
        .optional(),
      profile: profileName().optional(),
      resyncTimeoutSec: ranged(1, 86_400, "seconds", { int: true }).default(300),
      timeoutSec: timeoutSec().optional(),
      pbmPath: pbmPath().optional(),
    })
    .strict(),
);
export type BackupLocationInputs = z.output<ReturnType<typeof backupLocationInputs>>;

export const pitrPolicyInputs = builtOnce(() =>
  z
    .object({
      mongodbUri: mongodbUri(),
      enabled: z.boolean({ error: "must be true or false" }).default(true),
      oplogSpanMin: ranged(0, 1440, "minutes", { above: true, hint: "Leave it unset to use PBM's default of 10" }).default(10),
      compression: compression().optional(),
      compressionLevel: compressionLevel().optional(),
      oplogOnly: z.boolean({ error: "must be true or false" }).default(false),
      takeBaseSnapshot: z.boolean({ error: "must be true or false" }).default(true),
      baseSnapshotSchedule: z
        .object({
          schedule: cron(),
          type: backupType().default("logical"),
          retention: retention(),
        })
        .strict()
        .optional(),
      name: z.string({ error: "must be a string" }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, "must be 1-100 letters, digits, _ . - starting with a letter or digit").default("pitr"),
      ...ruledResourceCommon(),
    })
    .strict()
    .superRefine((v, ctx) => checkCompressionLevel(v, ctx)),
);
export type PitrPolicyInputs = z.output<ReturnType<typeof pitrPolicyInputs>>;

export const scheduledBackupInputs = builtOnce(() =>
  z
    .object({
      mongodbUri: mongodbUri(),
      name: z
        .string({ error: "must be a string" })
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, "must be 1-100 letters, digits, _ . - starting with a letter or digit"),
      schedule: cron(),
      type: backupType().default("logical"),
      compression: compression().optional(),
      compressionLevel: compressionLevel().optional(),
      namespaces: z
        .array(z.string({ error: 'must be "db.collection" or "db.*"' }).regex(/^[^.$\s/\\"]+\.[^$\s]+$/, 'must be "db.collection" or "db.*"'), { error: 'must be a list of "db.collection" or "db.*"' })
        .max(1000, "must name at most 1000 namespaces")
        .optional(),
      profile: profileName().optional(),
      retention: retention(),
      enabled: z.boolean({ error: "must be true or false" }).default(true),
      ...ruledResourceCommon(),
    })
    .strict()
    .superRefine((v, ctx) => {
      checkCompressionLevel(v, ctx);
      if (v.namespaces?.length && v.type !== "logical") ctx.addIssue({ code: "custom", path: ["namespaces"], message: "is only allowed for logical backups (pbm --ns)" });
      for (const ns of v.namespaces ?? []) {
        const db = ns.split(".")[0];
        if (["admin", "config", "local"].includes(db)) ctx.addIssue({ code: "custom", path: ["namespaces"], message: `"${ns}": the admin, config and local databases cannot be backed up selectively` });
      }
    }),
);
export type ScheduledBackupInputs = z.output<ReturnType<typeof scheduledBackupInputs>>;

/** The outputs a BackupInventory's state carries back into read on refresh: accepted, never required. */
const INVENTORY_OUTPUTS = ["cluster", "configured", "snapshots", "pitrRanges", "restorableWindows", "gaps", "latestRestorableWindow", "earliestRestorableTime", "totals", "truncated", "pitr"] as const;

/**
 * BackupInventory and getBackupInventory: the URI, pbm and the call's timeout. `name` is the resource's name
 * (for messages). Strict: anything else is a failure; the inventory's own outputs, which refresh hands back,
 * are accepted and ignored.
 */
export const backupInventoryInputs = builtOnce(() =>
  z
    .object({
      mongodbUri: mongodbUri(),
      pbmPath: pbmPath().optional(),
      timeoutSec: timeoutSec().optional(),
      name: z.string().optional(),
      ...Object.fromEntries(INVENTORY_OUTPUTS.map((k) => [k, z.unknown().optional()])),
    })
    .strict(),
);
export type BackupInventoryInputs = { mongodbUri: string; pbmPath?: string; timeoutSec?: number; name?: string };

/** `getBackupInventory(args)`: only what it uses. */
export const getBackupInventoryArgs = builtOnce(() =>
  z.object({ mongodbUri: mongodbUri(), pbmPath: pbmPath().optional(), timeoutSec: timeoutSec().optional() }).strict(),
);

/** The first problem with a schema's input as `property "path": reason`, for callers outside check (plain functions). */
export function firstProblem(schema: z.ZodType, value: unknown): string | undefined {
  const r = schema.safeParse(value);
  if (r.success) return undefined;
  const i = r.error.issues[0];
  return `${describeIssuePath(i)}: ${issueMessage(i)}`;
}

/** `property "a.b"`, or the unknown keys for an unrecognized-keys issue. */
export function describeIssuePath(i: z.core.$ZodIssue): string {
  if (i.code === "unrecognized_keys") {
    const keys = (i as { keys: string[] }).keys;
    const at = i.path.length ? ` in "${i.path.join(".")}"` : "";
    return `${keys.length > 1 ? "properties" : "property"} ${keys.map((k) => `"${k}"`).join(", ")}${at}`;
  }
  return `property "${i.path.join(".") || "(inputs)"}"`;
}

/** zod's message, with its wording for unknown keys replaced by ours. */
export function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === "unrecognized_keys") return "not a known property of this resource: remove it or check its spelling";
  if (i.code === "invalid_type" && (i as { input?: unknown }).input === undefined) return "is required";
  return i.message;
}
