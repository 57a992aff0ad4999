// Which pbm release the simulator imitates. Behaviour comes in buckets (reference §7): cobra (2.9+),
// kingpin (1.7–2.8) and the 1.x shapes; finer switches are derived from the exact version.
export interface PbmVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

export function parseVersion(raw: string): PbmVersion {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(raw.trim());
  if (!m) throw new Error(`PBM_SIM_VERSION must look like 2.15.0, got "${raw}"`);
  return { raw: `${m[1]}.${m[2]}.${m[3]}`, major: +m[1], minor: +m[2], patch: +m[3] };
}

export const DEFAULT_VERSION = "2.15.0";

/** v >= a.b.c */
export function atLeast(v: PbmVersion, spec: string): boolean {
  const o = parseVersion(spec);
  if (v.major !== o.major) return v.major > o.major;
  if (v.minor !== o.minor) return v.minor > o.minor;
  return v.patch >= o.patch;
}

/** The facts of one version that the simulator's output depends on. */
export function features(v: PbmVersion) {
  const ge = (s: string) => atLeast(v, s);
  return {
    cobra: ge("2.9.0"),
    jsonErrorsBroken: !ge("1.7.0"),
    restoreTo: ge("2.0.0"), // else completeTS
    describeCommands: ge("2.0.0"),
    snapshotType: ge("1.7.0"),
    nss: ge("2.0.0"),
    src: ge("2.1.0"),
    printStatus: ge("2.10.0"),
    profiles: ge("2.6.0"),
    profileField: ge("2.13.0"),
    nodeRole: ge("2.1.0"),
    hostWithoutRs: ge("2.6.0"),
    prio: ge("2.6.0"),
    pitrNodes: ge("2.6.0"),
    backupStoragePath: ge("2.13.0"), // else "storage"
    s3TripleSlash: ge("2.6.0") && !ge("2.10.0"),
    s3EndpointInPath: !ge("2.6.0"),
    maskJson: ge("2.13.0"), // else JSON omits credentials
    restoreYes: ge("2.14.0"),
    deleteNeedsYes: ge("2.4.0"),
    yesFlagOnDeletes: ge("2.1.0"),
    cleanup: ge("2.1.0"),
    deleteType: ge("2.4.0"),
    waitTime: ge("2.6.0"),
    configWait: ge("2.4.0"),
    backupWait: ge("1.8.0"),
    unbacked: ge("1.8.0"),
    noConfigMessage: ge("2.6.0")
      ? "no config set. Set config with <pbm config>"
      : "no store set. Set remote store with <pbm store set>",
    noBaseFoundByCli: ge("2.3.0"),
    restoreWaitFailureExit0: ge("2.9.0") && !ge("2.13.0"),
    sizeUncompressed: ge("2.10.0"),
    describeIntTimes: ge("2.1.0"),
    pitrCatchupMessage: ge("2.0.0")
      ? "init: catchup: get last backup: no backup found. full backup is required to start PITR"
      : "init: catchup: get last backup: no backup found, a new backup is required to start PITR",
    connectPing: ge("2.4.0") ? "ping" : "mongo ping",
    uriMessageLower: !ge("2.9.0"),
    lastBaseGuard: ge("2.4.0"),
    pitrListOptional: ge("2.13.0"),
  };
}
export type Features = ReturnType<typeof features>;
