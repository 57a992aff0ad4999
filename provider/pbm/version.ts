// Detects the pbm release once per URI and process, and the flags that depend on it (reference §7).
import { z } from "zod";
import { PbmCommandError } from "../errors";
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

const cache = new Map<string, Promise<PbmFeatures>>();

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

/** `pbm version --short`, once per URI and process; rejects pbm older than 1.6.0. */
export function pbmFeatures(o: PbmRunOptions): Promise<PbmFeatures> {
  const key = `${o.pbmPath ?? "pbm"}\u0000${o.mongodbUri}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const out = await runPbm(["version", "--short"], z.object({ Version: z.string() }), o);
      const version = out.Version.replace(/^v/, "");
      if (!/^\d+\.\d+\.\d+/.test(version) || cmp(version, "1.6.0") < 0)
        throw new PbmCommandError("PBM_TOO_OLD", `pbm ${version} is older than 1.6.0, the first release with JSON output`, 0, "", false);
      return featuresOf(version);
    })();
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** For tests: forget detected versions. */
export function resetVersionCache(): void {
  cache.clear();
}
