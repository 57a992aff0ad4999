// The only module that spawns pbm: argument arrays (no shell), the URI in PBM_MONGODB_URI, secrets on stdin,
// always `--out=json`, a timeout on every call, and typed errors that never carry secrets.
import { existsSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import debugFactory from "debug";
import { builtOnce } from "../builtOnce";
import { errors, PbmCommandError, redact, type ErrorKey } from "../errors";
import { stdoutNotice, type NoticeSink } from "../notice";

const debug = debugFactory("pulumi-pbm:pbm");

export interface PbmRunOptions {
  /** Connection string; a secret. Passed only as PBM_MONGODB_URI. */
  mongodbUri: string;
  /** The pbm executable; default `pbm` from PATH. */
  pbmPath?: string;
  /** How long one pbm call may take, in seconds (resources' `timeoutSec`, `pulumi-pbm --timeout`). Default 120. */
  timeoutSec?: number;
  /** Notices (e.g. waiting for pbm's lock); default `pulumi-pbm: …` lines on stdout (provider/notice.ts). */
  onProgress?: NoticeSink;
}

export const DEFAULT_TIMEOUT_SEC = 120;
/** execa's default limit on one call's stdout, in MB; `PULUMI_PBM_MAX_OUTPUT_MB` sets another (a positive number). */
export const DEFAULT_MAX_OUTPUT_MB = 100;

function maxOutputMb(): number {
  const v = Number(process.env.PULUMI_PBM_MAX_OUTPUT_MB);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_MAX_OUTPUT_MB;
}
/** Node's timers hold at most 2^31-1 ms; a longer timeout would fire at once (1 ms), so none may exceed this. */
const MAX_TIMEOUT_SEC = Math.floor((2 ** 31 - 1) / 1000);

/** The call's timeout in seconds, refused (PBMP-1001) when it is not a positive number Node's timers can hold. */
export function timeoutOf(o: Pick<PbmRunOptions, "timeoutSec">): number {
  const t = o.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  if (typeof t !== "number" || !Number.isFinite(t) || t <= 0 || t > MAX_TIMEOUT_SEC)
    throw errors.input(`property "timeoutSec": must be a number of seconds from 1 to ${MAX_TIMEOUT_SEC}, got ${String(t)}`);
  return t;
}

export interface RawResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The single-file CommonJS build of execa the package build writes beside this module (`npm run build:package`). */
const EXECA_BUNDLE = path.join(__dirname, "execa.cjs");

/**
 * execa, loaded once per process. execa is ESM only: importing it reads some 60 modules, about 100 ms before
 * the first pbm call of every provider process, and longer while the other handlers' work holds the thread.
 * Its bundled build loads in about 20 ms, synchronously; without one (the sources run directly) it is imported.
 */
const loadExeca = builtOnce(
  (): Promise<typeof import("execa")> => (existsSync(EXECA_BUNDLE) ? Promise.resolve(require(EXECA_BUNDLE) as typeof import("execa")) : import("execa")),
);

/** Runs pbm and returns its raw streams; throws PbmCommandError on failure. */
export async function runPbmRaw(args: readonly string[], o: PbmRunOptions & { stdin?: string }): Promise<RawResult> {
  const timeoutSec = timeoutOf(o);
  if (o.pbmPath !== undefined && (typeof o.pbmPath !== "string" || !o.pbmPath.trim()))
    throw errors.input(`property "pbmPath": must be the path of the pbm executable, got ${JSON.stringify(o.pbmPath)}`, { advice: "Set it to pbm's path, or leave it unset to use pbm from PATH." });
  const { execa } = await loadExeca();
  const argv = [...args, "--out=json"];
  const shown = `pbm ${args.join(" ")}`;
  const exe = o.pbmPath ?? "pbm";
  const maxMb = maxOutputMb();
  debug("run %s", shown);
  const r = await execa(exe, argv, {
    env: { PBM_MONGODB_URI: o.mongodbUri },
    input: o.stdin ?? "",
    timeout: timeoutSec * 1000,
    maxBuffer: Math.floor(maxMb * 1e6),
    reject: false,
    stripFinalNewline: false,
  });
  const stdout = String(r.stdout ?? "");
  const stderr = String(r.stderr ?? "");
  const secrets = [o.mongodbUri];
  if (r.timedOut)
    throw errors.pbmTimeout(`${shown} did not finish within ${timeoutSec}s`);
  // A history too large to hold (pbm status lists every backup and PITR chunk): execa stopped reading and ended
  // pbm. Say so, rather than fail later on a cut-off JSON or a RangeError from a string too long to build.
  if (r.isMaxBuffer)
    throw errors.pbmOutput(`${shown} printed more than ${maxMb} MB of JSON, more than pulumi-pbm reads from one pbm call`, {
      advice:
        "Prune old backups and PITR chunks with `pbm cleanup --older-than <date>` (a release without `cleanup`: `pbm delete-backup --older-than` and `pbm delete-pitr --older-than`), " +
        "or read the inventory from the bucket with `pulumi-pbm inventory --from-storage`. PULUMI_PBM_MAX_OUTPUT_MB raises the limit if this machine has the memory.",
    });
  const spawnCode = (r as { code?: string }).code;
  if (spawnCode === "ENOENT" || (r.exitCode === undefined && /ENOENT/.test(String((r as { originalMessage?: string }).originalMessage ?? ""))))
    throw errors.pbmMissing(`${exe} was not found`);
  if (r.exitCode === undefined) {
    // pbm never ran: not executable (EACCES), or the OS refused to start it.
    const why = spawnCode === "EACCES" ? "is not an executable file (EACCES)" : `could not be started (${spawnCode ?? (r.signal ? `killed by ${r.signal}` : "no exit code")})`;
    throw errors.pbmMissing(`${exe} ${why}`, { advice: "Point pbmPath at the pbm executable (chmod +x), or leave it unset to use pbm from PATH." });
  }
  if (r.exitCode !== 0) {
    const message = redact(pbmErrorMessage(stdout, stderr) ?? `exit code ${r.exitCode}`, secrets);
    debug("failed %s: %s", shown, message);
    throw errors.pbmExited(`${shown} exited with code ${r.exitCode}: ${message}`, { ...classifyFailure(message), exitCode: r.exitCode, stderr: redact(stderr, secrets) });
  }
  return { stdout, stderr, exitCode: 0 };
}

/**
 * What a pbm failure means for the user: the error code and what to do, chosen by the cause in pbm's message.
 * Only failures that involve the agents get the "check that pbm-agent runs" advice; storage, DNS, credentials
 * and flags pbm does not know each get their own; the rest say what pbm itself refused.
 */
export function classifyFailure(message: string): { key: ErrorKey; advice?: string } {
  if (/another operation in progress/.test(message)) return { key: "PBM_FAILED", advice: "Wait for that operation to finish (`pbm status`), then rerun." };
  // A release without `--out` (1.5 and older) or without a flag we pass for its version.
  if (/unknown (long )?flag:? '?--out/.test(message)) return { key: "PBM_TOO_OLD" };
  if (/unknown (long |short )?flag|unknown command|expected argument for flag|unexpected argument/.test(message))
    return { key: "PBM_OUTPUT", advice: "This pbm release does not take the flags pulumi-pbm passed; check `pbm version` (pulumi-pbm supports pbm 1.6 to 2.15)." };
  if (/unable to add custom RootCAs/.test(message))
    return {
      key: "PBM_FAILED",
      advice: "pbm cannot use the AWS_CA_BUNDLE environment variable; unset it for the process that runs pulumi (pbm then uses the system's CA certificates).",
    };
  if (/no (config|store) set|get config: (.*no documents in result|missed config)|mongo: no documents in result|PBM is not configured/.test(message)) return { key: "NOT_CONFIGURED" };
  // pbm could not read the config it was given (a key this release does not know, a bad value).
  if (/unmarshal|parse config|yaml: |not found in type/.test(message))
    return { key: "PBM_FAILED", advice: "This pbm release does not accept a setting pulumi-pbm sent (named above): check `pbm version` and leave that setting unset, or upgrade pbm." };
  const mongo = /connect to mongodb|server selection|connection\(|Authentication failed|auth error|no reachable servers|mongo:/i.test(message);
  const storage = !mongo && /storage|\bs3\b|S3 object|bucket|StatusCode: \d{3}|api error|endpoint/i.test(message);
  const dns = /no such host|getaddrinfo|ENOTFOUND|lookup [^\s:]+(: | on )/i.test(message);
  if (storage) {
    if (/StatusCode: 403|AccessDenied|Forbidden|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken/i.test(message))
      return {
        key: "S3_PROBE",
        advice: "The storage refused the credentials pbm's agents use (HTTP 403): fix the BackupLocation's credentials, or give them s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket, then rerun.",
      };
    if (/NoSuchBucket|StatusCode: 404/i.test(message)) return { key: "S3_PROBE", advice: "The bucket does not exist at that endpoint and region: create it or fix bucket, region and endpointUrl, then rerun." };
    if (dns) return { key: "S3_PROBE", advice: "pbm's agents cannot resolve the storage endpoint's host name: check endpointUrl (or region) and DNS on every member, then rerun." };
    if (/i\/o timeout|connection refused|connection reset|TLS|x509|certificate/i.test(message))
      return { key: "S3_PROBE", advice: "pbm's agents cannot reach the storage endpoint: check endpointUrl, the network path and TLS from every member, then rerun." };
    return { key: "S3_PROBE" };
  }
  if (dns) return { key: "MONGO_UNREACHABLE", advice: "A host name in mongodbUri does not resolve: check the hosts in the connection string and DNS on this machine." };
  if (mongo || /i\/o timeout|connection refused/i.test(message)) return { key: "MONGO_UNREACHABLE" };
  // `config --file --wait` when no agent takes the resync (agents down or killed): pbm names only the operation.
  if (/waiting for resync.*(Operation is in progress|timeout|deadline)/i.test(message))
    return { key: "PBM_FAILED", advice: "No pbm-agent finished the resync of the storage config in time: check that pbm-agent runs on every member (`pbm status`), or raise resyncTimeoutSec, then rerun." };
  if (/agent|no progress from leader|heartbeat|stale|pre-check/i.test(message)) return { key: "PBM_FAILED" };
  return { key: "PBM_FAILED", advice: "pbm refused the request as given; see its message above." };
}

/** pbm's error text: `Error: …` on stderr (2.9+), or `{"Error": …}` on stdout (≤ 2.8, connection errors). */
export function pbmErrorMessage(stdout: string, stderr: string): string | undefined {
  const line = lastLine(stdout);
  if (line) {
    try {
      const j = JSON.parse(line.slice(line.search(/[[{]/)));
      if (typeof j.Error === "string") return j.Error;
      if (typeof j.error === "string") return j.operation ? `${j.error} (${j.operation.type} ${j.operation.opid ?? ""} on ${j.operation.replset}/${j.operation.node})` : j.error;
    } catch {
      /* not JSON */
    }
  }
  const err = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("WARNING"));
  const first = err.findIndex((l) => l.startsWith("Error:"));
  if (first >= 0) return err.slice(first).join(" ").replace(/^Error:\s*/, "");
  return err[0];
}

function lastLine(stdout: string): string | undefined {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
}

/** Parses the last JSON line (pbm may print progress text before it) with a zod schema. */
export function parsePbmJson<T>(args: readonly string[], stdout: string, schema: z.ZodType<T>): T {
  const line = lastLine(stdout) ?? "";
  const at = line.search(/[[{]|null/);
  let value: unknown;
  try {
    value = JSON.parse(at >= 0 ? line.slice(at) : line);
  } catch (cause) {
    throw errors.pbmOutput(`pbm ${args.join(" ")} printed no JSON (got "${line.slice(0, 120)}")`, { exitCode: 0, cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw errors.pbmOutput(`pbm ${args.join(" ")} printed JSON of an unexpected shape (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message})`, { exitCode: 0 });
  return parsed.data;
}

/** True for pbm's "another operation in progress" (a backup, restore or resync holds pbm's lock). */
export function isBusy(err: unknown): boolean {
  return err instanceof PbmCommandError && /another operation in progress/.test(err.message);
}

/**
 * Retries a pbm call while another pbm operation holds the lock, up to `waitSec`, telling `notice` once that it
 * waits and every 30 s how long it has waited.
 */
export async function whenIdle<T>(what: string, waitSec: number, fn: () => Promise<T>, notice: NoticeSink = stdoutNotice): Promise<T> {
  const started = Date.now();
  const deadline = started + waitSec * 1000;
  let toldAt = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      if (!toldAt) notice(`${what}: waiting up to ${waitSec}s for pbm's running operation to finish`);
      else if (Date.now() - toldAt >= 30_000) notice(`${what}: still waiting for pbm's running operation (${Math.round((Date.now() - started) / 1000)}s of ${waitSec}s)`);
      if (!toldAt || Date.now() - toldAt >= 30_000) toldAt = Date.now();
      await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(0, deadline - Date.now()) + 50)));
    }
  }
}

export async function runPbm<T>(args: readonly string[], schema: z.ZodType<T>, o: PbmRunOptions & { stdin?: string }): Promise<T> {
  const r = await runPbmRaw(args, o);
  return parsePbmJson(args, r.stdout, schema);
}
