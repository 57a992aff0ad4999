// Which pbm release the simulated agents are: the real CLI's release (agentProcess.ts gets it from the
// testbed). Only what the agents write differs per release; the CLI's own behaviour is the real binary's.
export interface PbmVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

export function parseVersion(raw: string): PbmVersion {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(raw.trim());
  if (!m) throw new Error(`a pbm release looks like 2.14.0, got "${raw}"`);
  return { raw: `${m[1]}.${m[2]}.${m[3]}`, major: +m[1], minor: +m[2], patch: +m[3] };
}

/** The release the sandbox runs unless told otherwise (sandbox/testbed DEFAULT_PBM_RELEASE). */
export const DEFAULT_VERSION = "2.14.0";

/** v >= a.b.c */
export function atLeast(v: PbmVersion, spec: string): boolean {
  const o = parseVersion(spec);
  if (v.major !== o.major) return v.major > o.major;
  if (v.minor !== o.minor) return v.minor > o.minor;
  return v.patch >= o.patch;
}

/** What the agents of one release write differently (reference §3, §5, §7). */
export function features(v: PbmVersion) {
  const ge = (s: string) => atLeast(v, s);
  return {
    /**
     * 2.0+: a logical backup is a directory per replica
     * set (per-collection objects); 1.x writes one `<name>_<rs>.dump<ext>` and one `.oplog<ext>` file (§5).
     */
    backupDirPerReplset: ge("2.0.0"),
    /** PITR bases: any non-external backup from 2.3.0 (`GetLastBackup`), logical ones only before. */
    physicalPitrBase: ge("2.3.0"),
    /** The catch-up error logged while there is no base backup (`status` pitr.error). */
    pitrCatchupMessage: ge("2.0.0")
      ? "init: catchup: get last backup: no backup found. full backup is required to start PITR"
      : "init: catchup: get last backup: no backup found, a new backup is required to start PITR",
    /** `<name>.pbm.json` masks storage credentials as "***" (2.13+); older releases omit them. */
    maskJson: ge("2.13.0"),
  };
}
export type Features = ReturnType<typeof features>;
