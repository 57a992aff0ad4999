// Detects the pbm release once per binary (remembered on disk across processes), and the flags that depend on it
// (reference §7).
import { z } from "zod";
import { errors } from "../errors";
import { runPbm, type PbmRunOptions } from "./run";

export interface PbmFeatures {
  version: string;
  /** restore needs `--yes` without a TTY (2.14+). */
  restoreYes: boolean;
  /** delete-backup/delete-pitr need confirmation without a TTY (2.4+); `--force` works in every release. */
  deleteNeedsConfirmation: boolean;
  /** `--wait-time` exists (2.6+). */
  waitTime: boolean;
  /** `config --wait` exists (2.4+). */
  configWait: boolean;
  /** storage profiles (2.6+). */
  profiles: boolean;
  /** `backup --wait` (1.8+). */
  backupWait: boolean;
  /** `config --file -` reads stdin (2.4+); older releases read the path. */
  configFromStdin: boolean;
  /** `describe-backup` and `describe-restore` (2.0+). */
  describeCommands: boolean;
}

function cmp(v: string, spec: string): number {
  const a = v.split(".").map(Number);
  const b = spec.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export function featuresOf(version: string): PbmFeatures {
  const ge = (s: string) => cmp(version, s) >= 0;
  return { version, restoreYes: ge("2.14.0"), deleteNeedsConfirmation: ge("2.4.0"), waitTime: ge("2.6.0"), configWait: ge("2.4.0"), profiles: ge("2.6.0"), backupWait: ge("1.8.0"), configFromStdin: ge("2.4.0"), describeCommands: ge("2.0.0") };
}

const cache = new Map<string, Promise<PbmFeatures>>();

/**
 * The pbm release, once per binary: `pbm version --short` the first time a binary is seen, then from memory
 * and from a small file keyed by the binary's real path, size and mtime (`$XDG_CACHE_HOME/pulumi-pbm/pbm-versions.json`,
 * default `~/.cache/pulumi-pbm`, `PULUMI_PBM_CACHE` overrides the directory), so a pulumi operation pays no
 * version call for a pbm it has met before. Replacing the binary changes its size or mtime, so it is asked
 * again. Rejects pbm older than 1.6.0.
 */
export function pbmFeatures(o: PbmRunOptions): Promise<PbmFeatures> {
  const id = binaryIdentity(o.pbmPath ?? "pbm");
  // A binary that cannot be located is asked each time (with the URI in the key, as before): its failure
  // (PBMP-2004) must come from the call itself.
  const key = id ? id.key : `${o.pbmPath ?? "pbm"}\u0000${o.mongodbUri}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const known = id && readDiskCache()[id.key];
      const version = known ?? (await askVersion(o));
      if (!/^\d+\.\d+\.\d+/.test(version) || cmp(version, "1.6.0") < 0)
        throw errors.pbmTooOld(`pbm ${version} is older than 1.6.0, the first release with JSON output`, { exitCode: 0 });
      if (id && !known) writeDiskCache(id.key, version);
      return featuresOf(version);
    })();
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function askVersion(o: PbmRunOptions): Promise<string> {
  const out = await runPbm(["version", "--short"], z.object({ Version: z.string() }), o);
  return out.Version.replace(/^v/, "");
}

/** The binary pbm would run (`pbmPath`, or the first `pbm` on PATH), as `realpath|size|mtimeMs`; undefined if not found. */
export function binaryIdentity(pbmPath: string): { key: string; file: string } | undefined {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const candidates = pbmPath.includes(path.sep) ? [path.resolve(pbmPath)] : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, pbmPath));
  for (const c of candidates) {
    try {
      const real = fs.realpathSync(c);
      const st = fs.statSync(real);
      if (!st.isFile() || (st.mode & 0o111) === 0) continue;
      return { key: `${real}|${st.size}|${Math.trunc(st.mtimeMs)}`, file: real };
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The directory of the on-disk version cache. */
export function versionCacheFile(): string {
  const path = require("node:path") as typeof import("node:path");
  const os = require("node:os") as typeof import("node:os");
  const dir = process.env.PULUMI_PBM_CACHE ?? path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "pulumi-pbm");
  return path.join(dir, "pbm-versions.json");
}

function readDiskCache(): Record<string, string> {
  const fs = require("node:fs") as typeof import("node:fs");
  try {
    const v = JSON.parse(fs.readFileSync(versionCacheFile(), "utf8"));
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Adds one entry; written to a temp file and renamed, so readers never see half a file. Best effort. */
function writeDiskCache(key: string, version: string): void {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const file = versionCacheFile();
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Entries for binaries that no longer exist (or changed) are dropped; the file stays small.
    const kept = Object.entries(readDiskCache()).filter(([k]) => {
      const [real, size, mtime] = k.split("|");
      try {
        const st = fs.statSync(real);
        return String(st.size) === size && String(Math.trunc(st.mtimeMs)) === mtime;
      } catch {
        return false;
      }
    });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries([...kept, [key, version]])), { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch {
    /* a read-only home is fine: the version is asked again next time */
  }
}

/** For tests: forget detected versions (in memory; `disk: true` also removes the file). */
export function resetVersionCache(o: { disk?: boolean } = {}): void {
  cache.clear();
  if (o.disk) (require("node:fs") as typeof import("node:fs")).rmSync(versionCacheFile(), { force: true });
}
