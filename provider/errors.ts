// Errors users see. Every message stands alone (Pulumi shows only `error.message` for create/update):
// `[CODE] what failed: why, with the value got. What to do.` Credentials never appear in them.

export interface ErrorCode {
  code: string;
  title: string;
  /** What to do. */
  solution: string;
}

/** The catalogue; the README's error table is generated from it. */
export const ERROR_CODES = {
  /** Solution: fix the property named in the message. */
  INPUT: { code: "PBMP-1001", title: "invalid input", solution: "Fix the property named in the message." },
  /** Solution: disable the other schedules on that cluster, or disable PITR (PMM's rule). */
  PITR_CONFLICT: {
    code: "PBMP-1002",
    title: "PITR and other scheduled backups on one cluster",
    solution: "Disable the conflicting scheduled backups (enabled: false) or the PitrPolicy on that cluster.",
  },
  /** Solution: remove the PitrPolicy and ScheduledBackups that use this location first. */
  LOCATION_IN_USE: { code: "PBMP-1003", title: "backup location still in use", solution: "Delete or disable the PitrPolicy and ScheduledBackups on this cluster first." },
  /** Solution: check pbm-agent on every member (`pbm status`) and rerun. */
  PBM_FAILED: { code: "PBMP-2001", title: "pbm command failed", solution: "Check that pbm-agent runs on every member (`pbm status`), then rerun." },
  /** Solution: upgrade pbm or report the output shape. */
  PBM_OUTPUT: { code: "PBMP-2002", title: "unexpected pbm output", solution: "Check the pbm version (`pbm version`); pulumi-pbm supports pbm 1.6 to 2.15." },
  /** Solution: install pbm 1.6.0 or newer. */
  PBM_TOO_OLD: { code: "PBMP-2003", title: "pbm too old", solution: "Install pbm 1.6.0 or newer on the machine that runs pulumi." },
  /** Solution: install pbm or put it on PATH. */
  PBM_MISSING: { code: "PBMP-2004", title: "pbm not found", solution: "Install Percona Backup for MongoDB's `pbm` CLI and put it on PATH (or set pbmPath)." },
  /** Solution: raise timeoutSec or check the agents. */
  PBM_TIMEOUT: { code: "PBMP-2005", title: "pbm timed out", solution: "Check `pbm status` and `pbm logs`; raise timeoutSec if the cluster is slow." },
  /** Solution: check the URI, network and credentials. */
  MONGO_UNREACHABLE: { code: "PBMP-3001", title: "cluster unreachable", solution: "Check the connection string, the network path and the credentials." },
  /** Solution: check bucket, region, endpoint and credentials. */
  S3_PROBE: { code: "PBMP-3002", title: "bucket not usable", solution: "Check bucket, region and endpointUrl, and give the credentials s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject." },
  /** Solution: configure a BackupLocation first. */
  NOT_CONFIGURED: { code: "PBMP-3003", title: "pbm not configured", solution: "Create a BackupLocation for this cluster first (dependsOn it)." },
  /** Solution: report a bug. */
  INTERNAL: { code: "PBMP-9001", title: "internal error", solution: "This is a pulumi-pbm bug; please report it with the message." },
} as const satisfies Record<string, ErrorCode>;

export type ErrorKey = keyof typeof ERROR_CODES;

/**
 * Removes credentials from text: in every mongodb:// or mongodb+srv:// URI everything up to the authority's last
 * `@` (a password with an unencoded `@` still ends there), and every listed secret as given, percent-decoded
 * and percent-encoded; for a listed URI, also its password and user name, raw and decoded.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  // The authority ends at the first "/" after its last "@" (or at whitespace, a quote or the end); its
  // credentials are everything up to that last "@".
  let out = text.replace(/(mongodb(?:\+srv)?:\/\/)[^\s"'`<>]*@(?=[^\s"'`<>@/]*)/g, (_m, scheme: string) => `${scheme}<credentials>@`);
  const all = new Set<string>();
  for (const s of secrets) for (const v of secretForms(s)) all.add(v);
  // Longest first, so a secret that contains another is removed whole.
  for (const s of [...all].sort((a, b) => b.length - a.length)) out = out.split(s).join("<redacted>");
  return out;
}

/** The forms a secret can take in text: as given, decoded, encoded; a URI's password and user name too. */
function secretForms(s: string | undefined): string[] {
  if (!s || s.length < 4) return [];
  const forms = [s];
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  forms.push(decode(s), encodeURIComponent(s));
  const m = /^mongodb(?:\+srv)?:\/\/(.*)@/.exec(s);
  if (m) {
    const userinfo = m[1];
    const colon = userinfo.indexOf(":");
    const parts = colon >= 0 ? [userinfo.slice(colon + 1), userinfo.slice(0, colon), userinfo] : [userinfo];
    for (const p of parts) if (p.length >= 4) forms.push(p, decode(p));
  }
  return forms.filter((f) => f.length >= 4);
}

export class PbmProviderError extends Error {
  readonly code: string;
  /** What to do, as the message ends with it. */
  readonly solution: string;
  constructor(key: ErrorKey, what: string, options?: { cause?: unknown; solution?: string }) {
    const entry: ErrorCode = ERROR_CODES[key];
    const solution = options?.solution ?? entry.solution;
    super(`[${entry.code}] ${what.replace(/[.\s]+$/, "")}.${solution ? ` ${solution}` : ""}`, { cause: options?.cause });
    this.code = entry.code;
    this.solution = solution;
    this.name = new.target.name;
  }

  /** Adds what a failed change left behind (or put back) to the message, before what to do. */
  tellLeft(left: string): void {
    const tail = this.solution ? ` ${this.solution}` : "";
    const head = tail && this.message.endsWith(tail) ? this.message.slice(0, -tail.length) : this.message;
    this.message = `${head.replace(/\.?$/, ".")} ${left.replace(/\.?$/, ".")}${tail}`;
  }
}

export class PbmInputError extends PbmProviderError {}
export class PbmStateError extends PbmProviderError {}

export class PbmCommandError extends PbmProviderError {
  constructor(
    key: ErrorKey,
    what: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown; solution?: string },
  ) {
    super(key, what, options);
  }
}
