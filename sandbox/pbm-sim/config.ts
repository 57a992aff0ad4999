// pbm's config document: strict YAML parsing with yaml.v2-style error texts, the defaults pbm fills in,
// secret masking per release, and single-key get/set (reference §2).
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { Features } from "./version";

type Kind = "string" | "bool" | "int" | "float" | "duration" | "map" | "strings";
interface Struct {
  type: string;
  fields: Record<string, Kind | Struct>;
}

const s3Creds: Struct = {
  type: "s3.Credentials",
  fields: {
    "access-key-id": "string",
    "secret-access-key": "string",
    "session-token": "string",
    vault: { type: "s3.AWSVault", fields: { server: "string", secret: "string", token: "string" } },
  },
};
const s3Conf: Struct = {
  type: "s3.Config",
  fields: {
    region: "string",
    endpointUrl: "string",
    endpointUrlMap: "map",
    forcePathStyle: "bool",
    bucket: "string",
    prefix: "string",
    credentials: s3Creds,
    serverSideEncryption: {
      type: "s3.AWSsse",
      fields: { sseAlgorithm: "string", kmsKeyID: "string", sseCustomerAlgorithm: "string", sseCustomerKey: "string" },
    },
    uploadPartSize: "int",
    maxUploadParts: "int",
    storageClass: "string",
    maxObjSizeGB: "float",
    insecureSkipTLSVerify: "bool",
    debugLogLevels: "string",
    retryer: { type: "s3.Retryer", fields: { numMaxRetries: "int", minRetryDelay: "duration", maxRetryDelay: "duration" } },
  },
};
const timeouts = (t: string): Struct => ({ type: t, fields: { startingStatus: "int", balancerStop: "int" } });
export const CONFIG_SCHEMA: Struct = {
  type: "config.Config",
  fields: {
    name: "string",
    profile: "bool",
    storage: {
      type: "config.StorageConf",
      fields: {
        type: "string",
        s3: s3Conf,
        filesystem: { type: "fs.Config", fields: { path: "string", maxObjSizeGB: "float", backupBuffSize: "int", restoreBuffSize: "int" } },
      },
    },
    pitr: {
      type: "config.PITRConf",
      fields: { enabled: "bool", oplogSpanMin: "float", compression: "string", compressionLevel: "int", oplogOnly: "bool", priority: "map" },
    },
    backup: {
      type: "config.BackupConf",
      fields: {
        priority: "map",
        compression: "string",
        compressionLevel: "int",
        oplogSpanMin: "float",
        timeouts: timeouts("config.BackupTimeouts"),
        numParallelCollections: "int",
        numParallelFiles: "int",
      },
    },
    restore: {
      type: "config.RestoreConf",
      fields: {
        batchSize: "int",
        numInsertionWorkers: "int",
        numParallelCollections: "int",
        numParallelFiles: "int",
        indexCommitQuorum: "string",
        numDownloadWorkers: "int",
        maxDownloadBufferMb: "int",
        downloadChunkMb: "int",
        mongodLocation: "string",
        mongodLocationMap: "map",
        fallbackEnabled: "bool",
        allowPartlyDone: "bool",
        timeouts: timeouts("config.RestoreTimeouts"),
      },
    },
  },
};

export const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "s2", "pgzip", "zstd"];
const SECRET_PATHS = [
  "storage.s3.credentials.access-key-id",
  "storage.s3.credentials.secret-access-key",
  "storage.s3.credentials.session-token",
  "storage.s3.credentials.vault.secret",
  "storage.s3.credentials.vault.token",
  "storage.s3.serverSideEncryption.sseCustomerKey",
];

export class ConfigError extends Error {}

const yamlBools: Record<string, boolean> = {
  true: true, True: true, TRUE: true, yes: true, Yes: true, YES: true, on: true, On: true, ON: true, y: true, Y: true,
  false: false, False: false, FALSE: false, no: false, No: false, NO: false, off: false, Off: false, OFF: false, n: false, N: false,
};

function shorten(v: string): string {
  return v.length > 10 ? v.slice(0, 7) + "..." : v;
}

function durationNs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(v);
  if (!m) return /^\d+$/.test(v) ? Number(v) : undefined;
  const mult: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return Math.round(Number(m[1]) * mult[m[2]]);
}

/** Parses a config file the way pbm's strict yaml.v2 decoder does. Throws ConfigError with pbm's text. */
export function parseConfigYaml(text: string): Record<string, unknown> {
  if (text.trim() === "") throw new ConfigError("unable to get new config: decode: EOF");
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ConfigError(`unable to get new config: decode: yaml: line ${e.linePos?.[0].line ?? 1}: ${e.message.split("\n")[0]}`);
  }
  const problems: string[] = [];
  const line = (n: Node | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 1);
  const walk = (node: Node | null | undefined, s: Struct): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (!node) return out;
    if (!isMap(node)) {
      problems.push(`line ${line(node)}: cannot unmarshal !!${isSeq(node) ? "seq" : "str"} into ${s.type}`);
      return out;
    }
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const kind = s.fields[key];
      if (!kind) {
        problems.push(`line ${line(keyNode)}: field ${key} not found in type ${s.type}`);
        continue;
      }
      const v = pair.value as Node | null;
      if (typeof kind === "object") {
        out[key] = walk(v, kind);
        continue;
      }
      if (kind === "map") {
        out[key] = v && isMap(v) ? (v.toJSON() as unknown) : null;
        continue;
      }
      if (v === null || (isScalar(v) && v.value === null)) continue;
      if (!isScalar(v)) {
        problems.push(`line ${line(v)}: cannot unmarshal !!${isSeq(v) ? "seq" : "map"} into ${goType(kind)}`);
        continue;
      }
      const src = (v as { source?: string }).source ?? String(v.value);
      const quoted = v.type === "QUOTE_DOUBLE" || v.type === "QUOTE_SINGLE";
      const tag = quoted ? "str" : typeof v.value === "number" ? (Number.isInteger(v.value) && !/[.eE]/.test(src) ? "int" : "float") : typeof v.value === "boolean" ? "bool" : "str";
      const bad = () => problems.push(`line ${line(v)}: cannot unmarshal !!${tag} \`${shorten(src)}\` into ${goType(kind)}`);
      switch (kind) {
        case "string":
          out[key] = String(v.value);
          break;
        case "bool":
          if (!quoted && src in yamlBools) out[key] = yamlBools[src];
          else bad();
          break;
        case "int":
          if (tag === "int") out[key] = Number(v.value);
          else bad();
          break;
        case "float":
          if (tag === "int" || tag === "float") out[key] = Number(v.value);
          else bad();
          break;
        case "duration": {
          const ns = typeof v.value === "number" ? v.value : durationNs(String(v.value));
          if (ns === undefined) problems.push(`line ${line(v)}: time: invalid duration "${src}"`);
          else out[key] = ns;
          break;
        }
      }
    }
    return out;
  };
  const parsed = walk(doc.contents as Node, CONFIG_SCHEMA);
  if (problems.length) throw new ConfigError(`unable to get new config: decode: yaml: unmarshal errors:\n  ${problems.join("\n  ")}`);
  return parsed;
}

function goType(k: Kind): string {
  return { string: "string", bool: "bool", int: "int", float: "float64", duration: "time.Duration", map: "map[string]string", strings: "[]string" }[k];
}

/** `Cast()`: storage defaults filled on `config --file` (reference §2.5). Throws pbm's storage cast errors. */
export function castStorage(cfg: Record<string, unknown>): void {
  const storage = (cfg.storage ?? {}) as Record<string, unknown>;
  const type = String(storage.type ?? "");
  const known = ["s3", "azure", "filesystem", "gcs", "minio", "oss", "oci", "blackhole"];
  if (!known.includes(type)) throw new ConfigError(`unable to get new config: storage cast: ${type}: unknown storage type`);
  if (type === "s3") {
    const s3 = storage.s3 as Record<string, unknown> | undefined;
    if (!s3) throw new ConfigError("unable to get new config: storage cast: missing S3 configuration with S3 storage type");
    if (!s3.region) s3.region = "us-east-1";
    if (s3.forcePathStyle === undefined) s3.forcePathStyle = true;
    if (!s3.maxUploadParts || Number(s3.maxUploadParts) <= 0) s3.maxUploadParts = 10000;
    if (!s3.storageClass) s3.storageClass = "STANDARD";
    if (s3.insecureSkipTLSVerify === undefined) s3.insecureSkipTLSVerify = false;
    if (typeof s3.bucket === "string") s3.bucket = s3.bucket.replace(/^\/+|\/+$/g, "");
    if (typeof s3.prefix === "string") s3.prefix = s3.prefix.replace(/^\/+|\/+$/g, "");
    const r = s3.retryer as Record<string, unknown> | undefined;
    if (r) {
      if (!r.minRetryDelay) r.minRetryDelay = 30_000_000;
      if (!r.maxRetryDelay) r.maxRetryDelay = 300_000_000_000;
    }
  }
  if (type === "filesystem") {
    const fs = storage.filesystem as Record<string, unknown> | undefined;
    if (!fs) throw new ConfigError("unable to get new config: storage cast: missing filesystem configuration with filesystem storage type");
    if (!fs.path) throw new ConfigError("unable to get new config: storage cast: path can't be empty");
  }
  const pitr = cfg.pitr as Record<string, unknown> | undefined;
  if (pitr?.compression !== undefined && !COMPRESSIONS.includes(String(pitr.compression)))
    throw new ConfigError(`unable to set config: write to db: unsupported compression type: "${pitr.compression}"`);
}

/** `GetConfig()`: the defaults every read fills in (reference §2.5). */
export function withReadDefaults(cfg: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(cfg);
  delete out._id;
  delete out.epoch;
  const backup = (out.backup ?? {}) as Record<string, unknown>;
  const pitr = (out.pitr ?? {}) as Record<string, unknown>;
  if (backup.oplogSpanMin === undefined) backup.oplogSpanMin = 0;
  if (!backup.compression) backup.compression = "s2";
  if (pitr.enabled === undefined) pitr.enabled = false;
  if (!pitr.compression) pitr.compression = backup.compression;
  if (pitr.compressionLevel === undefined && backup.compressionLevel !== undefined) pitr.compressionLevel = backup.compressionLevel;
  out.pitr = orderKeys(pitr, ["enabled", "oplogSpanMin", "oplogOnly", "priority", "compression", "compressionLevel"]);
  out.backup = orderKeys(backup, ["oplogSpanMin", "priority", "timeouts", "compression", "compressionLevel", "numParallelCollections", "numParallelFiles"]);
  out.restore = out.restore ?? {};
  const s3 = (out.storage as Record<string, any> | undefined)?.s3;
  if (s3) {
    if (s3.endpointUrl === undefined) s3.endpointUrl = "";
    if (s3.insecureSkipTLSVerify === undefined) s3.insecureSkipTLSVerify = false;
    if (s3.credentials) s3.credentials.vault = s3.credentials.vault ?? {};
  }
  return orderConfig(out);
}

/** Key order of pbm's Go structs, which its JSON output follows. */
export function orderConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  const storage = cfg.storage as Record<string, any> | undefined;
  if (storage?.s3) {
    storage.s3 = orderKeys(storage.s3, [
      "region", "endpointUrl", "endpointUrlMap", "forcePathStyle", "bucket", "prefix", "credentials", "serverSideEncryption",
      "uploadPartSize", "maxUploadParts", "storageClass", "maxObjSizeGB", "insecureSkipTLSVerify", "debugLogLevels", "retryer",
    ]);
    if (storage.s3.credentials) storage.s3.credentials = orderKeys(storage.s3.credentials, ["access-key-id", "secret-access-key", "session-token", "vault"]);
  }
  if (storage) cfg.storage = orderKeys(storage, ["type", "s3", "filesystem"]);
  return orderKeys(cfg, ["name", "profile", "storage", "pitr", "backup", "restore"]);
}

function orderKeys(o: Record<string, unknown>, order: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (o[k] !== undefined) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out) && o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Masks secrets for `config --list`: "***" (2.13+), or JSON omits credentials (≤ 2.12). */
export function maskConfig(cfg: Record<string, unknown>, f: Features, forJson: boolean): Record<string, unknown> {
  const out = structuredClone(cfg);
  const s3 = (out.storage as Record<string, any> | undefined)?.s3;
  if (s3?.credentials) {
    if (forJson && !f.maskJson) delete s3.credentials;
    else for (const k of ["access-key-id", "secret-access-key", "session-token"]) if (s3.credentials[k]) s3.credentials[k] = "***";
    if (s3.credentials?.vault) for (const k of ["secret", "token"]) if (s3.credentials.vault[k]) s3.credentials.vault[k] = "***";
  }
  if (s3?.serverSideEncryption?.sseCustomerKey && (f.maskJson || !forJson)) s3.serverSideEncryption.sseCustomerKey = "***";
  return out;
}

/** Every settable leaf key (`pbm config --set`). */
export function leafKind(key: string): Kind | undefined {
  let s: Struct | Kind = CONFIG_SCHEMA;
  for (const part of key.split(".")) {
    if (typeof s !== "object") return undefined;
    s = s.fields[part];
    if (!s) return undefined;
  }
  return typeof s === "object" ? undefined : s;
}

export function castSetValue(key: string, kind: Kind, value: string): unknown {
  const fail = (fn: string) => new ConfigError(`set ${key}: casting value of ${key}: ${fn}: parsing "${value}": invalid syntax`);
  switch (kind) {
    case "bool": {
      const m: Record<string, boolean> = { "1": true, t: true, T: true, TRUE: true, true: true, True: true, "0": false, f: false, F: false, FALSE: false, false: false, False: false };
      if (!(value in m)) throw fail("strconv.ParseBool");
      return m[value];
    }
    case "int":
      if (!/^[+-]?\d+$/.test(value)) throw fail("strconv.ParseInt");
      return Number(value);
    case "float":
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) throw fail("strconv.ParseFloat");
      return Number(value);
    case "duration": {
      const ns = durationNs(value);
      if (ns === undefined) throw new ConfigError(`set ${key}: casting value of ${key}: time: invalid duration "${value}"`);
      return ns;
    }
    case "map":
      return null;
    default:
      return value;
  }
}

/** fmt-style rendering of a stored value for `pbm config <key>`. */
export function renderValue(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function getPath(o: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((acc, k) => (acc && typeof acc === "object" ? (acc as Record<string, unknown>)[k] : undefined), o);
}

export function isSecretKey(key: string): boolean {
  return SECRET_PATHS.includes(key);
}

/** Storage identity: a change triggers a resync (reference §1.3, `IsSameStorage`). */
export function sameStorage(a: unknown, b: unknown): boolean {
  const x = a as Record<string, any> | undefined;
  const y = b as Record<string, any> | undefined;
  if (!x || !y || x.type !== y.type) return false;
  if (x.type === "s3")
    return (
      (x.s3?.region ?? "") === (y.s3?.region ?? "") &&
      x.s3?.bucket === y.s3?.bucket &&
      (x.s3?.prefix ?? "") === (y.s3?.prefix ?? "") &&
      (x.s3?.endpointUrl ?? "") === (y.s3?.endpointUrl ?? "") &&
      JSON.stringify(x.s3?.endpointUrlMap ?? null) === JSON.stringify(y.s3?.endpointUrlMap ?? null)
    );
  if (x.type === "filesystem") return x.filesystem?.path === y.filesystem?.path;
  return JSON.stringify(x) === JSON.stringify(y);
}

/** YAML text the way pbm prints a config (masked). */
export async function toYaml(o: unknown): Promise<string> {
  const { stringify } = await import("yaml");
  return stringify(o, { defaultStringType: "PLAIN", defaultKeyType: "PLAIN" });
}
