// Errors users see. Every message stands alone (Pulumi shows only `error.message` for create/update):
// `[CODE] what failed: why, with the value got. What to do.` Credentials never appear in them.

export interface ErrorCode {
  code: string;
  title: string;
  /** What to do: the end of every message with this code, unless the failure gives its own `advice`. */
  solution: string;
}

/**
 * The catalogue: one entry per code, its solution written once (the README's error table is generated from it).
 * The code's first digit is its category (see `categoryOf`): 1 input, 2 pbm, 3 MongoDB or S3 state, 9 internal.
 */
export const ERROR_CODES = {
  INPUT: { code: "PBMP-1001", title: "invalid input", solution: "Fix the property named in the message." },
  PITR_CONFLICT: {
    code: "PBMP-1002",
    title: "PITR and other scheduled backups on one cluster",
    solution: "Disable the conflicting scheduled backups (enabled: false) or the PitrPolicy on that cluster.",
  },
  LOCATION_IN_USE: { code: "PBMP-1003", title: "backup location still in use", solution: "Delete or disable the PitrPolicy and ScheduledBackups on this cluster first." },
  PBM_FAILED: { code: "PBMP-2001", title: "pbm command failed", solution: "Check that pbm-agent runs on every member (`pbm status`), then rerun." },
  PBM_OUTPUT: { code: "PBMP-2002", title: "unexpected pbm output", solution: "Check the pbm version (`pbm version`); pulumi-pbm supports pbm 1.6 to 2.15." },
  PBM_TOO_OLD: { code: "PBMP-2003", title: "pbm too old", solution: "Install pbm 1.6.0 or newer on the machine that runs pulumi." },
  PBM_MISSING: { code: "PBMP-2004", title: "pbm not found", solution: "Install Percona Backup for MongoDB's `pbm` CLI and put it on PATH (or set pbmPath)." },
  PBM_TIMEOUT: { code: "PBMP-2005", title: "pbm timed out", solution: "Check `pbm status` and `pbm logs`; raise timeoutSec if the cluster is slow." },
  MONGO_UNREACHABLE: { code: "PBMP-3001", title: "cluster unreachable", solution: "Check the connection string, the network path and the credentials." },
  S3_PROBE: { code: "PBMP-3002", title: "bucket not usable", solution: "Check bucket, region and endpointUrl, and give the credentials s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject." },
  NOT_CONFIGURED: { code: "PBMP-3003", title: "pbm not configured", solution: "Create a BackupLocation for this cluster first (dependsOn it)." },
  INTERNAL: { code: "PBMP-9001", title: "internal error", solution: "This is a pulumi-pbm bug; please report it with the message." },
} as const satisfies Record<string, ErrorCode>;

export type ErrorKey = keyof typeof ERROR_CODES;

/** What kind of failure a code stands for, from its first digit. */
export type ErrorCategory = "input" | "pbm" | "state" | "internal";

const CATEGORY_BY_DIGIT: Record<string, ErrorCategory> = { "1": "input", "2": "pbm", "3": "state", "9": "internal" };

export function categoryOf(code: string): ErrorCategory {
  return CATEGORY_BY_DIGIT[/^PBMP-(\d)/.exec(code)?.[1] ?? ""] ?? "internal";
}

/**
 * The `pulumi-pbm` exit code for a failure, by its category: 1 when the request itself was refused (input), 2
 * when it could not be carried out (pbm, MongoDB or S3 state, a bug, or an error that is not ours).
 */
export function exitCodeOf(err: unknown): 1 | 2 {
  return err instanceof PbmProviderError && err.category === "input" ? 1 : 2;
}

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

/** Replaces the catalogue's solution where what to do depends on the cause (e.g. classifyFailure in pbm/run.ts). */
export interface Advice {
  advice?: string;
}

/** What a pbm call left to go on: its exit code (when it exited) and its stderr, redacted. */
export interface PbmDetail {
  exitCode?: number;
  stderr?: string;
}

/**
 * Every error of ours (the class to test with `instanceof`): its message is `[CODE] what. Solution.`. Made by the
 * `errors` factories below; PbmCommandError adds what pbm left.
 */
export class PbmProviderError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  /** What to do, as the message ends with it. */
  readonly solution: string;
  constructor(key: ErrorKey, what: string, o: Advice & { cause?: unknown } = {}) {
    const entry: ErrorCode = ERROR_CODES[key];
    const solution = o.advice || entry.solution;
    super(`[${entry.code}] ${what.replace(/[.\s]+$/, "")}. ${solution}`, { cause: o.cause });
    this.code = entry.code;
    this.category = categoryOf(entry.code);
    this.solution = solution;
    this.name = new.target.name;
  }

  /** Adds what a failed change left behind (or put back) to the message, before what to do. */
  tellLeft(left: string): void {
    const tail = ` ${this.solution}`;
    const head = this.message.endsWith(tail) ? this.message.slice(0, -tail.length) : this.message;
    this.message = `${head.replace(/\.?$/, ".")} ${left.replace(/\.?$/, ".")}${tail}`;
  }
}

/** A failure of a pbm call (or of what pbm reported): carries pbm's exit code and stderr. */
export class PbmCommandError extends PbmProviderError {
  /** pbm's exit code; undefined when pbm did not exit by itself (not found, not started, timed out) or was not asked. */
  readonly exitCode: number | undefined;
  /** pbm's stderr, redacted; "" when there is none to show. */
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(key: ErrorKey, what: string, o: PbmDetail & Advice & { cause?: unknown } = {}) {
    super(key, what, o);
    this.exitCode = o.exitCode;
    this.stderr = o.stderr ?? "";
    this.timedOut = key === "PBM_TIMEOUT";
  }
}

/**
 * Adds what a failed change left behind to an error on its way to the user: through `tellLeft` for ours, at the
 * end of the message for any other.
 */
export function tellLeft(err: unknown, left: string): void {
  if (err instanceof PbmProviderError) err.tellLeft(left);
  else if (err instanceof Error) err.message = `${err.message.replace(/\.?$/, ".")} ${left.replace(/\.?$/, ".")}`;
}

/**
 * Text that carries its own advice after its first sentence (`reason. What to do`), split into the two; the
 * advice ends in a period.
 */
export function splitAdvice(text: string): { reason: string; advice?: string } {
  const at = text.indexOf(". ");
  if (at < 0) return { reason: text };
  return { reason: text.slice(0, at), advice: text.slice(at + 2).replace(/\.?$/, ".") };
}

/**
 * One factory per failure kind; `what` says what failed and why, with the value got (it names the resource
 * unless the handler's wrapper does). The code, its category and the class follow from the factory: every pbm
 * failure is a PbmCommandError.
 */
export const errors = {
  /** PBMP-1001: a property, argument or option that cannot be used as given. */
  input: (what: string, o?: Advice) => new PbmProviderError("INPUT", what, o),
  /** PBMP-1002: PMM's rule refuses the enable; `advice` is the rule's own fix for this conflict. */
  pitrConflict: (what: string, o: Required<Advice>) => new PbmProviderError("PITR_CONFLICT", what, o),
  /** PBMP-1003: a BackupLocation that PITR or a schedule still uses. */
  locationInUse: (what: string) => new PbmProviderError("LOCATION_IN_USE", what),
  /** PBMP-2001: pbm ran but the operation failed. */
  pbmFailed: (what: string, o?: PbmDetail & Advice) => new PbmCommandError("PBM_FAILED", what, o),
  /** PBMP-2002: pbm printed what pulumi-pbm cannot read. */
  pbmOutput: (what: string, o?: PbmDetail & Advice & { cause?: unknown }) => new PbmCommandError("PBM_OUTPUT", what, o),
  /** PBMP-2003: a pbm release older than 1.6.0. */
  pbmTooOld: (what: string, o?: PbmDetail) => new PbmCommandError("PBM_TOO_OLD", what, o),
  /** PBMP-2004: no pbm to run at the path given (or on PATH). */
  pbmMissing: (what: string, o?: Advice) => new PbmCommandError("PBM_MISSING", what, o),
  /** PBMP-2005: a pbm call, or an operation pbm runs, that did not finish in time. */
  pbmTimeout: (what: string, o?: Advice) => new PbmCommandError("PBM_TIMEOUT", what, o),
  /**
   * A pbm call that exited non-zero, with the code its cause means (`classifyFailure`: an agent, storage, the
   * cluster, an unknown flag, ...).
   */
  pbmExited: (what: string, o: { key: ErrorKey; exitCode: number; stderr: string } & Advice) => new PbmCommandError(o.key, what, o),
  /** PBMP-3001: the cluster cannot be reached, or the connection was lost. */
  unreachable: (what: string, o?: { cause?: unknown }) => new PbmProviderError("MONGO_UNREACHABLE", what, o),
  /** PBMP-3002: the bucket (or pbm's storage) cannot be used. */
  storage: (what: string, o?: Advice & { cause?: unknown }) => new PbmProviderError("S3_PROBE", what, o),
  /** PBMP-3003: pbm has no storage config on the cluster yet. */
  notConfigured: (what: string) => new PbmProviderError("NOT_CONFIGURED", what),
  /** PBMP-9001: a pulumi-pbm bug, or a machine that cannot do what it must (e.g. make a pipe). */
  internal: (what: string, o?: { cause?: unknown }) => new PbmProviderError("INTERNAL", what, o),
};
