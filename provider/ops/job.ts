// One due job of the runner, as steps: claim its fire time → check PMM's rule → start the backup → follow it →
// finish (record the outcome) → retain. runDueJobs (./scheduler.ts) finds the due jobs and runs them one by one.
import type { Db } from "mongodb";
import { nextFireTime } from "../core/cron";
import { ruleText } from "../core/pitrRule";
import type { Clock } from "../core/time";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { claim, partyOf, recordBackupEnd, recordFinish, recordStart, renewLease, type RegistryEntry } from "../registry";
import { clusterBlockers, violationOn } from "../registry/rule";
import { follow } from "../pbm/follow";
import { applyRetention } from "./retention";

export interface JobReport {
  schedule: string;
  result: "success" | "error" | "skipped";
  backup?: string;
  reason?: string;
  deleted?: string[];
  /**
   * Why retention left backups it chose to delete (one line each, e.g. pbm refusing to delete the last PITR
   * base snapshot). Absent when retention did all it chose; never a reason for `result: "error"`.
   */
  retentionErrors?: string[];
}

/** An entry the runner runs: a schedule or PITR base-snapshot job with its cron and backup settings. */
export type JobEntry = RegistryEntry & { kind: "schedule" | "pitrBase"; cron: string; backup: NonNullable<RegistryEntry["backup"]> };

export interface JobContext {
  admin: Db;
  /** pbm options of the pass, and how to follow a backup. */
  o: PbmRunOptions & { backupTimeoutSec?: number; pollMs?: number };
  clock: Clock;
  holder: string;
  leaseSec: number;
  report: (line: string) => void;
}

/** The job's report and the entry's `run.lastError` that goes with it (null clears an earlier one). */
type Outcome = { report: JobReport; lastError: string | null };

/** Runs the job for `fire` if this runner can claim it; undefined if another runner has it or already ran it. */
export async function runJob(ctx: JobContext, e: JobEntry, fire: Date, now: Date): Promise<JobReport | undefined> {
  if (!(await claim(ctx.admin, e._id, ctx.holder, fire, now, ctx.leaseSec))) return undefined;
  const outcome = (await ruleSkip(ctx, e)) ?? (await backUp(ctx, e, fire));
  await finish(ctx, e, outcome);
  return outcome.report;
}

/**
 * PMM's rule, checked before every run against the guard, the registry and pbm's live config: no scheduled
 * snapshots while PITR is enabled on the cluster. The skip is recorded with the rule's words.
 */
async function ruleSkip(ctx: JobContext, e: JobEntry): Promise<Outcome | undefined> {
  if (e.kind !== "schedule") return undefined;
  const blockers = await clusterBlockers(ctx.admin, partyOf(e));
  if (!blockers.length) return undefined;
  const why = ruleText(await violationOn(ctx.admin, ctx.o.mongodbUri, partyOf(e), blockers), `ScheduledBackup "${e.name}"`);
  return { report: { schedule: e.name, result: "skipped", reason: why }, lastError: `skipped: ${why}` };
}

/** Start → follow → retain. */
async function backUp(ctx: JobContext, e: JobEntry, fire: Date): Promise<Outcome> {
  const started = await start(ctx, e);
  if (typeof started !== "string") return started;
  const name = started;
  await recordStart(ctx.admin, e, name, fire, await ctx.clock.now());
  ctx.report(`${jobLabel(e)}: started backup ${name}`);
  const { ok, error } = await followBackup(ctx, e, name);
  await recordBackupEnd(ctx.admin, name, ok ? "done" : "error", await ctx.clock.now(), error);
  const retained = ok && e.retention ? await applyRetention(ctx.admin, e._id, e.retention, ctx.o, await ctx.clock.now()) : { deleted: [], errors: [] };
  const report: JobReport = { schedule: e.name, result: ok ? "success" : "error", backup: name, ...(error ? { reason: error } : {}), deleted: retained.deleted };
  if (retained.errors.length) report.retentionErrors = retained.errors;
  return { report, lastError: error ?? null };
}

/** Starts the backup: its name, or the outcome when pbm refused (a skip when another pbm operation runs). */
async function start(ctx: JobContext, e: JobEntry): Promise<string | Outcome> {
  const { type, compression, compressionLevel, namespaces, profile } = e.backup;
  try {
    return (await pbm.backup({ ...ctx.o, ...(e.timeoutSec ? { timeoutSec: e.timeoutSec } : {}) }, { type, compression, compressionLevel, namespaces, profile })).name;
  } catch (err) {
    const msg = (err as Error).message;
    const busy = /another operation in progress/.test(msg);
    return { report: { schedule: e.name, result: busy ? "skipped" : "error", reason: busy ? "another pbm operation is running" : msg }, lastError: msg };
  }
}

/** Follows the backup to its end, renewing the lease between polls. */
async function followBackup(ctx: JobContext, e: JobEntry, name: string): Promise<{ ok: boolean; error?: string }> {
  const timeoutSec = ctx.o.backupTimeoutSec ?? 6 * 3600;
  const end = await follow({
    describe: () => pbm.describeBackup(name, ctx.o),
    final: ["done", "error", "canceled"],
    timeoutSec,
    pollMs: ctx.o.pollMs ?? 1000,
    sleep: (ms) => ctx.clock.sleep(ms),
    onWait: async () => renewLease(ctx.admin, e._id, ctx.holder, await ctx.clock.now(), ctx.leaseSec),
  });
  if (end.ended === "final") return { ok: end.last.status === "done", ...(end.last.error ? { error: end.last.error } : {}) };
  if (end.ended === "timeout") return { ok: false, error: `still ${end.last?.status ?? "running"} after ${timeoutSec}s` };
  return { ok: false, error: `could not follow it: ${end.error.message}` };
}

/** Records the outcome on the entry (with the next run) and releases the lease, then tells the report sink. */
async function finish(ctx: JobContext, e: JobEntry, { report: r, lastError }: Outcome): Promise<void> {
  const now = await ctx.clock.now();
  await recordFinish(ctx.admin, e._id, { lastResult: r.result, lastFinishedAt: now, nextRunAt: nextFireTime(e.cron, now), lastError });
  ctx.report(eventLine(jobLabel(e), r));
}

const jobLabel = (e: RegistryEntry) => (e.kind === "pitrBase" ? `${e.name} (PITR base snapshots)` : e.name);

/** The job's line in the runner's progress output. */
export function eventLine(label: string, r: JobReport): string {
  return (
    `${label}: ${r.result}${r.backup ? ` ${r.backup}` : ""}${r.reason ? ` (${r.reason})` : ""}` +
    `${r.deleted?.length ? `; retention deleted ${r.deleted.join(", ")}` : ""}` +
    `${r.retentionErrors?.length ? `; retention: ${r.retentionErrors.join("; ")}` : ""}`
  );
}
