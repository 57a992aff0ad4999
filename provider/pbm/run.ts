// The only module that spawns pbm: argument arrays (no shell), the URI in PBM_MONGODB_URI, secrets on stdin,
// always `--out=json`, a timeout on every call, and typed errors that never carry secrets.
import type { z } from "zod";
import debugFactory from "debug";
import { PbmCommandError, redact, type ErrorKey } from "../errors";

const debug = debugFactory("pulumi-pbm:pbm");

export interface PbmRunOptions {
  /** Connection string; a secret. Passed only as PBM_MONGODB_URI. */
  mongodbUri: string;
  /** The pbm executable; default `pbm` from PATH. */
  pbmPath?: string;
  /** Default 120 s. */
  timeoutSec?: number;
}

export interface RawResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs pbm and returns its raw streams; throws PbmCommandError on failure. */
export async function runPbmRaw(args: readonly string[], o: PbmRunOptions & { stdin?: string }): Promise<RawResult> {
  const { execa } = await import("execa");
  const argv = [...args, "--out=json"];
  const shown = `pbm ${args.join(" ")}`;
  debug("run %s", shown);
  const r = await execa(o.pbmPath ?? "pbm", argv, {
    env: { PBM_MONGODB_URI: o.mongodbUri },
    input: o.stdin ?? "",
    timeout: (o.timeoutSec ?? 120) * 1000,
    reject: false,
    stripFinalNewline: false,
  });
  const stdout = String(r.stdout ?? "");
  const stderr = String(r.stderr ?? "");
  const secrets = [o.mongodbUri];
  if (r.timedOut)
    throw new PbmCommandError("PBM_TIMEOUT", `${shown} did not finish within ${o.timeoutSec ?? 120}s`, undefined, "", true);
  if ((r as { code?: string }).code === "ENOENT" || /ENOENT/.test(String((r as { originalMessage?: string }).originalMessage ?? "")))
    throw new PbmCommandError("PBM_MISSING", `${o.pbmPath ?? "pbm"} was not found`, undefined, "", false);
  if (r.exitCode !== 0) {
    const message = redact(pbmErrorMessage(stdout, stderr) ?? `exit code ${r.exitCode}`, secrets);
    debug("failed %s: %s", shown, message);
    const { key, solution } = classifyFailure(message);
    throw new PbmCommandError(key, `${shown} exited with code ${r.exitCode}: ${message}`, r.exitCode, redact(stderr, secrets), false, solution ? { solution } : undefined);
  }
  return { stdout, stderr, exitCode: 0 };
}

/**
 * What a pbm failure means for the user: the error code and what to do. Only failures that involve the
 * agents get the "check that pbm-agent runs" advice; the rest say what pbm itself refused.
 */
export function classifyFailure(message: string): { key: ErrorKey; solution?: string } {
  if (/another operation in progress/.test(message)) return { key: "PBM_FAILED", solution: "Wait for that operation to finish (`pbm status`), then rerun." };
  if (/unable to add custom RootCAs/.test(message))
    return {
      key: "PBM_FAILED",
      solution: "pbm cannot use the AWS_CA_BUNDLE environment variable; unset it for the process that runs pulumi (pbm then uses the system's CA certificates).",
    };
  if (/no (config|store) set|get config: (.*no documents in result|missed config)|mongo: no documents in result/.test(message)) return { key: "NOT_CONFIGURED" };
  if (/connect to mongodb|server selection|connection\(|Authentication failed|auth error|no reachable servers|i\/o timeout|connection refused/i.test(message)) return { key: "MONGO_UNREACHABLE" };
  if (/agent|no progress from leader|heartbeat|stale|pre-check/i.test(message)) return { key: "PBM_FAILED" };
  return { key: "PBM_FAILED", solution: "pbm refused the request as given; see its message above." };
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
    throw new PbmCommandError("PBM_OUTPUT", `pbm ${args.join(" ")} printed no JSON (got "${line.slice(0, 120)}")`, 0, "", false, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new PbmCommandError("PBM_OUTPUT", `pbm ${args.join(" ")} printed JSON of an unexpected shape (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message})`, 0, "", false);
  return parsed.data;
}

/** True for pbm's "another operation in progress" (a backup, restore or resync holds pbm's lock). */
export function isBusy(err: unknown): boolean {
  return err instanceof PbmCommandError && /another operation in progress/.test(err.message);
}

/** Retries a pbm call while another pbm operation holds the lock, up to `waitSec`. */
export async function whenIdle<T>(what: string, waitSec: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitSec * 1000;
  let told = false;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      if (!told) console.log(`pulumi-pbm: ${what}: waiting up to ${waitSec}s for pbm's running operation to finish`);
      told = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export async function runPbm<T>(args: readonly string[], schema: z.ZodType<T>, o: PbmRunOptions & { stdin?: string }): Promise<T> {
  const r = await runPbmRaw(args, o);
  return parsePbmJson(args, r.stdout, schema);
}
