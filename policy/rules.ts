// What the policy pack decides, as plain functions over the properties a policy sees. PMM's rule is not written
// here: it comes from pulumi-pbm/core (programViolations, ruleViolation, ruleText), the same definition and
// wording the provider, the runner and the sdk use. Messages never hold a property value that may be secret
// (the MongoDB URI, S3 keys): they name resources, clusters (replica set or hosts) and property names only.
import { clusterLabel, programViolations, ruleText, ruleViolation, sameCluster, tryClusterFromUri, type Declared } from "pulumi-pbm/core";

/** The type tokens of pulumi-pbm's resources (`super(provider, name, props, opts, "pbm", "<Type>")`). */
export const TYPES = {
  backupLocation: "pulumi-nodejs:dynamic/pbm:BackupLocation",
  pitrPolicy: "pulumi-nodejs:dynamic/pbm:PitrPolicy",
  scheduledBackup: "pulumi-nodejs:dynamic/pbm:ScheduledBackup",
} as const;

/** What a property read returns when the value is not known yet (preview). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Read<T> = T | typeof UNKNOWN;

// pulumi.runtime.unknownValue: how a dynamic provider's check() hands an unknown input back.
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Reads one property of the policy's view of a resource. @pulumi/policy hands secrets over unwrapped and throws
 * on reading an unknown value (its UnknownValueError, which would otherwise stop the whole policy); a Pulumi
 * secret envelope or the unknown sentinel is handled too, whichever form arrives.
 */
export function read<T = unknown>(get: () => unknown): Read<T> {
  try {
    return unwrap(get()) as Read<T>;
  } catch (e) {
    if (e && typeof e === "object" && "unknownTypeSentinel" in e) return UNKNOWN;
    throw e;
  }
}

function unwrap(v: unknown): unknown {
  if (v === UNKNOWN_SENTINEL) return UNKNOWN;
  // A secret that reached the policy still wrapped: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value }.
  if (v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270")
    return unwrap((v as { value?: unknown }).value);
  return v;
}

/** One resource as the policies see it: its type, its Pulumi name and a property reader. */
export interface Seen {
  type: string;
  /** The Pulumi resource name. */
  name: string;
  urn: string;
  prop<T = unknown>(path: string[]): Read<T>;
}

/** A reader over the props object @pulumi/policy passes (a proxy that unwraps secrets and throws on unknowns). */
export function propReader(props: Record<string, unknown>): Seen["prop"] {
  return <T>(path: string[]) =>
    read<T>(() => {
      let v: unknown = props;
      for (const k of path) {
        if (v === null || typeof v !== "object") return undefined;
        v = unwrap((v as Record<string, unknown>)[k]);
        if (v === UNKNOWN) return UNKNOWN_SENTINEL;
      }
      return v;
    });
}

const known = <T>(v: Read<T>): v is T => v !== UNKNOWN;

// --- Mandatory: PMM's rule across the stack ---------------------------------------------------------------------

export interface StackViolation {
  urn: string;
  message: string;
}

/** How a resource is named in messages: `ScheduledBackup "nightly"`. */
function label(r: Seen): string {
  return `${r.type.slice(r.type.lastIndexOf(":") + 1)} "${r.name}"`;
}

/**
 * The violations of PMM's rule among the stack's PitrPolicies and ScheduledBackups: enabled ones whose cluster
 * is known are judged with pulumi-pbm/core's programViolations; disabled ones never conflict; one whose URI or
 * `enabled` is unknown (preview) is skipped. Declarations are taken in URN order, so the same stack always
 * yields the same message (the engine hands resources over in no fixed order).
 */
export function stackRuleViolations(resources: Seen[]): StackViolation[] {
  const declared: (Declared & { urn: string })[] = [];
  for (const r of [...resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0))) {
    const kind = r.type === TYPES.pitrPolicy ? "pitrPolicy" : r.type === TYPES.scheduledBackup ? "schedule" : undefined;
    if (!kind) continue;
    const enabled = r.prop<boolean>(["enabled"]);
    const uri = r.prop<string>(["mongodbUri"]);
    const pbmName = r.prop<string>(["name"]);
    if (!known(enabled) || !known(uri)) continue;
    if (enabled === false) continue; // unset means enabled: both resources default to true
    const cluster = tryClusterFromUri(uri);
    if (!cluster) continue; // a malformed URI: the provider's check reports it
    const name = known(pbmName) && typeof pbmName === "string" && pbmName ? pbmName : r.name;
    declared.push({ kind, name, inThisProgram: true, cluster, enabled: true, urn: r.urn });
  }
  return programViolations(declared, sameCluster).map(({ who, blockers }) => {
    const urn = (who as Declared & { urn: string }).urn;
    const resource = resources.find((r) => r.urn === urn)!;
    return { urn, message: ruleText(ruleViolation(who.cluster, who, blockers), label(resource)) };
  });
}

// --- Advisory ------------------------------------------------------------------------------------------------

/** A ScheduledBackup (or a PitrPolicy's base-snapshot cadence) that never deletes what it makes. */
export function retentionAdvice(r: Seen): string | undefined {
  if (r.type === TYPES.scheduledBackup) {
    if (r.prop(["enabled"]) === false) return undefined;
    const retention = r.prop<Record<string, unknown> | undefined>(["retention"]);
    if (!known(retention) || hasRetention(retention)) return undefined;
    return `${label(r)} keeps every backup it makes: it has no retention. Set retention: { count: N } or { maxAgeDays: N } so the scheduler deletes this schedule's old backups (never the base of a restorable PITR range).`;
  }
  if (r.type === TYPES.pitrPolicy) {
    const base = r.prop<Record<string, unknown> | undefined>(["baseSnapshotSchedule"]);
    if (!known(base) || !base || typeof base !== "object") return undefined;
    const retention = r.prop<Record<string, unknown> | undefined>(["baseSnapshotSchedule", "retention"]);
    if (!known(retention) || hasRetention(retention)) return undefined;
    return `${label(r)}: its baseSnapshotSchedule keeps every base snapshot it makes: it has no retention. Set baseSnapshotSchedule.retention: { count: N } or { maxAgeDays: N }.`;
  }
  return undefined;
}

function hasRetention(v: unknown): boolean {
  if (!v || typeof v !== "object") return false;
  const { count, maxAgeDays } = v as { count?: unknown; maxAgeDays?: unknown };
  return count !== undefined || maxAgeDays !== undefined;
}

/** Whether an endpoint is AWS S3 itself (unset, or an amazonaws.com host), where instance credentials exist. */
function isAwsS3(endpointUrl: unknown): boolean {
  if (endpointUrl === undefined || endpointUrl === null || endpointUrl === "") return true;
  if (typeof endpointUrl !== "string") return false;
  try {
    return /(^|\.)amazonaws\.com(\.cn)?$/i.test(new URL(endpointUrl).hostname);
  } catch {
    return false;
  }
}

/** A BackupLocation on AWS S3 with a long-lived access key where the instance's role would do. */
export function staticKeysAdvice(r: Seen): string | undefined {
  if (r.type !== TYPES.backupLocation) return undefined;
  const endpoint = r.prop(["endpointUrl"]);
  const keyId = r.prop(["credentials", "accessKeyId"]);
  const sessionToken = r.prop(["credentials", "sessionToken"]);
  if (!known(endpoint) || !isAwsS3(endpoint)) return undefined; // S3-compatible stores (MinIO, …) need keys
  if (keyId === undefined || keyId === null || keyId === "") return undefined;
  if (known(sessionToken) && sessionToken) return undefined; // temporary credentials
  return `${label(r)} gives pbm a static S3 access key (credentials) for AWS S3. Leave credentials unset and pbm and the provider use the AWS default credential chain: the instance profile (EC2), IRSA or Pod Identity (EKS), or the environment; no long-lived key to store, rotate or leak.`;
}

/** A BackupLocation that does not ask S3 for server-side encryption. */
export function encryptionAdvice(r: Seen): string | undefined {
  if (r.type !== TYPES.backupLocation) return undefined;
  const sse = r.prop(["serverSideEncryption", "sseAlgorithm"]);
  if (!known(sse) || (typeof sse === "string" && sse)) return undefined;
  return `${label(r)} does not set serverSideEncryption: pbm asks for no encryption at rest, so the backups rely on the bucket's default (AWS S3 applies SSE-S3; S3-compatible stores may store them in the clear). Set serverSideEncryption: { sseAlgorithm: "aws:kms", kmsKeyId } (or "AES256") to choose it.`;
}

/** An enabled PitrPolicy without a base-snapshot cadence. */
export function baseSnapshotAdvice(r: Seen): string | undefined {
  if (r.type !== TYPES.pitrPolicy) return undefined;
  const enabled = r.prop(["enabled"]);
  const base = r.prop(["baseSnapshotSchedule"]);
  if (!known(enabled) || enabled === false || !known(base) || (base && typeof base === "object")) return undefined;
  const uri = r.prop<string>(["mongodbUri"]);
  const cluster = known(uri) ? tryClusterFromUri(uri) : undefined;
  const where = cluster ? ` on cluster '${clusterLabel(cluster)}'` : "";
  return `${label(r)} enables PITR${where} without a baseSnapshotSchedule. PMM's rule keeps other scheduled backups off while PITR is on, so no new base snapshot is taken: every restore replays the oplog from the last one, longer each day, and every oplog chunk since that snapshot stays needed. Set baseSnapshotSchedule: { schedule: "0 3 * * *", retention: { count: 7 } }.`;
}
