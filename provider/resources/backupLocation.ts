// BackupLocation: pbm's S3 storage (main config, or a profile on pbm 2.6+). Owns only `storage.*`.
import { errors, tellLeft } from "../errors";
import { stdoutNotice, type NoticeSink } from "../notice";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { listEntries } from "../registry";
import { backupLocationInputs, type BackupLocationInputs } from "../schemas";
import { clusterName, readPbmConfig, readPbmProfile, withPbmClient } from "../state/mongo";
import type { PbmConfig, PbmStorage } from "../state/pbmConfig";
import { probeBucket } from "../state/s3";
import { clusterReads } from "./clusterReads";
import { canonical, changedKeys, checkWith, pick, sameTarget, type Handlers } from "./common";

/** pbm's config file text. yaml loads only when a config is written, not on every read of one. */
function toYaml(doc: unknown): string {
  return (require("yaml") as typeof import("yaml")).stringify(doc);
}

/** Stand-ins for values unknown during preview, so cross-field rules still run. */
const PREVIEW_PLACEHOLDERS = { mongodbUri: "mongodb://unknown/", bucket: "unknown-bucket" };

const DESIRED = ["bucket", "prefix", "region", "endpointUrl", "forcePathStyle", "credentials", "serverSideEncryption", "storageClass", "uploadPartSizeBytes", "maxUploadParts", "insecureSkipTLSVerify", "retryer", "profile"] as const;
const IDENTITY = ["bucket", "prefix", "region", "endpointUrl"] as const;

export interface BackupLocationOutputs extends BackupLocationInputs {
  cluster: string;
  storagePath: string;
  /** What create changed in a storage config that pbm already had (adoption); no secrets. */
  adoptedChanges: string[];
}

/** pbm releases before 2.2.0 have no `storage.s3.forcePathStyle` (they refuse the key) and always use path style. */
export function knowsForcePathStyle(pbmVersion: string | undefined): boolean {
  if (!pbmVersion) return true;
  const [major, minor] = pbmVersion.split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 2);
}

/** pbm's `storage` section for these inputs (secrets included: it only ever travels on stdin or a pipe). */
export function storageSection(i: BackupLocationInputs, pbmVersion?: string): Record<string, unknown> {
  const s3: Record<string, unknown> = { region: i.region, bucket: i.bucket };
  if (i.endpointUrl) s3.endpointUrl = i.endpointUrl;
  if (knowsForcePathStyle(pbmVersion)) s3.forcePathStyle = i.forcePathStyle;
  if (i.prefix) s3.prefix = i.prefix;
  if (i.credentials)
    s3.credentials = {
      "access-key-id": i.credentials.accessKeyId,
      "secret-access-key": i.credentials.secretAccessKey,
      ...(i.credentials.sessionToken ? { "session-token": i.credentials.sessionToken } : {}),
    };
  if (i.serverSideEncryption) s3.serverSideEncryption = { ...(i.serverSideEncryption.sseAlgorithm ? { sseAlgorithm: i.serverSideEncryption.sseAlgorithm } : {}), ...(i.serverSideEncryption.kmsKeyId ? { kmsKeyID: i.serverSideEncryption.kmsKeyId } : {}) };
  if (i.storageClass) s3.storageClass = i.storageClass;
  if (i.uploadPartSizeBytes) s3.uploadPartSize = i.uploadPartSizeBytes;
  if (i.maxUploadParts) s3.maxUploadParts = i.maxUploadParts;
  if (i.insecureSkipTLSVerify) s3.insecureSkipTLSVerify = true;
  if (i.retryer)
    s3.retryer = {
      ...(i.retryer.numMaxRetries !== undefined ? { numMaxRetries: i.retryer.numMaxRetries } : {}),
      ...(i.retryer.minRetryDelayMs ? { minRetryDelay: `${i.retryer.minRetryDelayMs}ms` } : {}),
      ...(i.retryer.maxRetryDelayMs ? { maxRetryDelay: `${i.retryer.maxRetryDelayMs}ms` } : {}),
    };
  return { type: "s3", s3 };
}

/** Inputs as the live pbm storage config says they are (for refresh). */
function inputsFromStorage(storage: PbmStorage, old: BackupLocationInputs): BackupLocationInputs {
  const s3 = storage.s3 ?? {};
  return {
    ...old,
    bucket: s3.bucket ?? "",
    prefix: s3.prefix || undefined,
    region: s3.region ?? "us-east-1",
    endpointUrl: s3.endpointUrl || undefined,
    forcePathStyle: s3.forcePathStyle ?? true,
    credentials: s3.credentials?.["access-key-id"]
      ? { accessKeyId: s3.credentials["access-key-id"], secretAccessKey: s3.credentials["secret-access-key"] ?? "", ...(s3.credentials["session-token"] ? { sessionToken: s3.credentials["session-token"] } : {}) }
      : undefined,
    storageClass: old.storageClass === undefined && s3.storageClass === "STANDARD" ? undefined : s3.storageClass,
    uploadPartSizeBytes: s3.uploadPartSize || undefined,
    maxUploadParts: old.maxUploadParts === undefined && s3.maxUploadParts === 10000 ? undefined : s3.maxUploadParts,
    insecureSkipTLSVerify: !!s3.insecureSkipTLSVerify,
  };
}

const storagePathOf = (i: BackupLocationInputs) => `s3://${[i.bucket, i.prefix].filter(Boolean).join("/")}`;

/**
 * Credentials by what they mean: real pbm stores `session-token: ""` and an empty `vault` block beside the
 * keys (2.9+), which say nothing; only non-empty values count.
 */
function credentialsMeaning(c: unknown): Record<string, unknown> | null {
  if (!c || typeof c !== "object") return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (v && typeof v === "object") {
      const inner = credentialsMeaning(v);
      if (inner && Object.keys(inner).length) out[k] = inner;
    } else if (v !== "" && v !== undefined && v !== null) out[k] = v;
  }
  return Object.keys(out).length ? out : null;
}

function describeChanges(old: PbmStorage | undefined, next: PbmStorage): string[] {
  if (!old) return [];
  const a: Record<string, unknown> = old.s3 ?? {};
  const b: Record<string, unknown> = next.s3 ?? {};
  const out: string[] = [];
  // pbm fills these when absent, so absent and default are the same setting.
  const defaults: Record<string, unknown> = { region: "us-east-1", forcePathStyle: true, storageClass: "STANDARD", prefix: "", endpointUrl: "" };
  for (const k of ["bucket", "prefix", "region", "endpointUrl", "forcePathStyle", "storageClass"]) {
    const before = a[k] ?? defaults[k] ?? "";
    const after = b[k] ?? defaults[k] ?? "";
    if (before !== after) out.push(`storage.s3.${k}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  }
  if (canonical(credentialsMeaning(a.credentials)) !== canonical(credentialsMeaning(b.credentials))) out.push("storage.s3.credentials: changed");
  return out;
}

/** pbm's options for this resource's calls; waits for pbm's lock are told to `notice`. */
const pbmOptions = (i: Pick<BackupLocationInputs, "mongodbUri" | "pbmPath" | "timeoutSec">, notice: NoticeSink): PbmRunOptions => ({ mongodbUri: i.mongodbUri, pbmPath: i.pbmPath, timeoutSec: i.timeoutSec, onProgress: notice });

async function apply(i: BackupLocationInputs, notice: NoticeSink): Promise<BackupLocationOutputs> {
  // The provider never sees the Pulumi resource name; the storage path names the location in messages.
  const name = storagePathOf(i);
  // pbm config waits for the resync (resyncTimeoutSec); every other call gets timeoutSec.
  const o = pbmOptions(i, notice);
  const { cluster, current } = await withPbmClient(i.mongodbUri, async (admin) => ({ cluster: await clusterName(admin), current: await readPbmConfig(admin) }));
  await probeBucket(
    { bucket: i.bucket, prefix: i.prefix, region: i.region, endpointUrl: i.endpointUrl, forcePathStyle: i.forcePathStyle, accessKeyId: i.credentials?.accessKeyId, secretAccessKey: i.credentials?.secretAccessKey, sessionToken: i.credentials?.sessionToken },
    `BackupLocation ${name} for cluster "${cluster}"`,
  );
  const f = await pbm.version(o);
  if (!i.forcePathStyle && !knowsForcePathStyle(f.version))
    throw errors.input(`BackupLocation ${name} on cluster "${cluster}": property "forcePathStyle": false needs pbm 2.2 or newer, found ${f.version} (which always uses path-style requests)`, { advice: "Upgrade pbm, or leave forcePathStyle unset." });
  const storage = storageSection(i, f.version);
  let adoptedChanges: string[] = [];
  if (i.profile) {
    if (!f.profiles) throw errors.input(`BackupLocation ${name} on cluster "${cluster}": profile "${i.profile}" needs pbm 2.6 or newer, found ${f.version}`, { advice: "Upgrade pbm, or leave profile unset to use the main storage." });
    if (!current) throw errors.notConfigured(`BackupLocation ${name}: cluster "${cluster}" has no main pbm storage yet, which a profile needs`);
    await pbm.addProfile(i.profile, toYaml({ storage }), o);
  } else {
    adoptedChanges = describeChanges(current?.storage, storage);
    // Keep everything this resource does not own: pitr, backup and restore settings.
    const doc: Record<string, unknown> = { storage };
    for (const k of ["pitr", "backup", "restore"]) if (current?.[k] && Object.keys(current[k]).length) doc[k] = current[k];
    try {
      await pbm.applyConfig(toYaml(doc), { ...o, timeoutSec: Math.max(i.timeoutSec ?? 120, i.resyncTimeoutSec + 60), waitSec: i.resyncTimeoutSec });
    } catch (err) {
      // pbm writes the new config before it waits for the agents' resync, so a failed resync (agents down, or
      // the agents refused by the storage) leaves the new storage in place: put back what was there.
      const left = await putBack(i.mongodbUri, current, o);
      if (left) tellLeft(err, `BackupLocation ${name}: ${left}`);
      throw err;
    }
    if (adoptedChanges.length) notice(`BackupLocation ${name} adopted cluster "${cluster}"'s existing pbm storage and changed: ${adoptedChanges.join("; ")}`);
  }
  return { ...i, cluster, storagePath: storagePathOf(i), adoptedChanges };
}

/**
 * After a failed `pbm config --file`: writes `before` back when pbm's storage is no longer what it was, and says
 * what it left (undefined when pbm's storage never changed). The put-back's own resync may fail the same way
 * (agents down), so what counts is the config document afterwards, not pbm's exit code.
 */
async function putBack(mongodbUri: string, before: PbmConfig | null, o: PbmRunOptions): Promise<string | undefined> {
  const storageNow = async () => withPbmClient(mongodbUri, async (admin) => (await readPbmConfig(admin))?.storage).catch(() => undefined);
  const now = await storageNow();
  if (canonical(now ?? null) === canonical(before?.storage ?? null)) return undefined;
  if (!before?.storage) return "pbm keeps the new storage config (pbm cannot unset it); the next pulumi up applies it again";
  const doc: Record<string, unknown> = {};
  for (const k of ["storage", "pitr", "backup", "restore"] as const) {
    const section = before[k];
    if (section && Object.keys(section).length) doc[k] = section;
  }
  await pbm.applyConfig(toYaml(doc), { ...o, waitSec: 5, timeoutSec: Math.max(o.timeoutSec ?? 120, 65) }).catch(() => undefined);
  return canonical((await storageNow()) ?? null) === canonical(before.storage)
    ? "pbm's storage config was put back as it was"
    : "putting pbm's storage config back failed too, so pbm may use the new storage: run pulumi up again";
}

/** The BackupLocation handlers; notices (what adoption changed, a wait for pbm's lock) go to `notice`. */
export function backupLocationHandlers(notice: NoticeSink = stdoutNotice) {
  return {
    async check(_olds, news) {
      return checkWith(backupLocationInputs(), news, PREVIEW_PLACEHOLDERS);
    },

    async diff(_id, olds, news) {
      const changed = changedKeys(olds, news, [...DESIRED, "resyncTimeoutSec", "timeoutSec", "pbmPath"]);
      const replaces = [
        ...(!sameTarget(olds.mongodbUri, news.mongodbUri) ? ["mongodbUri"] : []),
        ...(changed.includes("profile") ? ["profile"] : []),
      ];
      const uriChanged = olds.mongodbUri !== news.mongodbUri;
      return { changes: changed.length > 0 || replaces.length > 0 || uriChanged, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
      const outs = await apply(inputs, notice);
      return { id: `${outs.cluster}/${inputs.profile ?? "main"}`, outs };
    },

    async read(id, props) {
      const live = props.profile
        ? await withPbmClient(props.mongodbUri, async (admin) => (await readPbmProfile(admin, props.profile!))?.storage)
        : (await clusterReads(props.mongodbUri)).config?.storage;
      if (!live) return { id: "" };
      const inputs = inputsFromStorage(live, props);
      const outs = { ...props, ...inputs, storagePath: storagePathOf(inputs) };
      return { id, props: outs, inputs: pick(outs, ["mongodbUri", ...DESIRED, "resyncTimeoutSec", "timeoutSec", "pbmPath"]) };
    },

    async update(_id, olds, news) {
      const identityChanged = changedKeys(olds, news, IDENTITY).length > 0;
      const outs = await apply(news, notice);
      return { outs: { ...outs, adoptedChanges: identityChanged ? outs.adoptedChanges : [] } };
    },

    async delete(_id, props) {
      const o = pbmOptions(props, notice);
      const { cluster, entries, pitrOn } = await withPbmClient(o.mongodbUri, async (admin) => ({
        cluster: await clusterName(admin),
        entries: await listEntries(admin),
        pitrOn: !!(await readPbmConfig(admin))?.pitr?.enabled,
      }));
      const users = entries.filter((e) => e.enabled && (props.profile ? e.backup?.profile === props.profile : e.kind !== "schedule" || !e.backup?.profile));
      if (!props.profile && (pitrOn || users.length))
        throw errors.locationInUse(
          `BackupLocation for cluster "${cluster}" (${props.storagePath}) is still used by ${[pitrOn ? "PITR (pitr.enabled=true)" : "", ...users.map((u) => `${u.kind === "schedule" ? "ScheduledBackup" : "PitrPolicy"} "${u.name}"`)].filter(Boolean).join(", ")}`,
        );
      if (props.profile) {
        if (users.length) throw errors.locationInUse(`BackupLocation profile "${props.profile}" on cluster "${cluster}" is still used by ${users.map((u) => `"${u.name}"`).join(", ")}`);
        await pbm.removeProfile(props.profile, o);
      }
      // The main storage stays configured in pbm (pbm cannot unset it), and no backup data is touched.
    },
  } satisfies Handlers<BackupLocationInputs, BackupLocationOutputs>;
}

export const backupLocation = backupLocationHandlers();
