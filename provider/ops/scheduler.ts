// The runner: executes due ScheduledBackups and PitrPolicy base snapshots from the registry, once per fire
// time, under a lease so several runners never run one job twice, and applies retention afterwards. A pass finds
// the due jobs; each job's steps are in ./job.ts.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { dueFireTime, nextFireTime } from "../core/cron";
import { systemClock, type Clock } from "../core/time";
import type { PbmRunOptions } from "../pbm/commands";
import { listEntries, setNextRuns, type RegistryEntry } from "../registry";
import { withPbmClient } from "../state/mongo";
import { runJob, type JobEntry, type JobReport } from "./job";
import { reconcile } from "./reconcile";

export type { JobReport } from "./job";
export { cachedCronCount, CRON_CACHE_MAX, dueFireTime, nextFireTime } from "../core/cron";
export { NEXT_RUN_BATCH } from "../registry";

export interface RunnerOptions extends PbmRunOptions {
  clock?: Clock;
  /** Identifies this runner in leases. */
  holder?: string;
  /** Lease length; renewed while a backup runs. Default 120 s. */
  leaseSec?: number;
  /** How long to follow one backup, in real seconds. Default 6 h. */
  backupTimeoutSec?: number;
  /** Poll interval while following a backup, in real milliseconds. Default 1000. */
  pollMs?: number;
  onEvent?: (line: string) => void;
}

const isJob = (e: RegistryEntry): e is JobEntry => (e.kind === "schedule" || e.kind === "pitrBase") && e.enabled && !e.pending && !!e.cron && !!e.backup;

/** One pass: runs every due job once. */
export async function runDueJobs(o: RunnerOptions): Promise<JobReport[]> {
  const clock = o.clock ?? systemClock;
  const holder = o.holder ?? `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`;
  const report = o.onEvent ?? (() => undefined);
  return withPbmClient(o.mongodbUri, async (admin) => {
    const ctx = { admin, o, clock, holder, leaseSec: o.leaseSec ?? 120, report };
    const reports: JobReport[] = [];
    await reconcile(admin, o, await clock.now(), report);
    // The next run of entries that have none yet (the first pass after declaring them), written in bulk at the
    // end of the pass, or before a due job runs so they do not wait for its backup.
    const nextRuns: { id: string; at: Date }[] = [];
    for (const e of (await listEntries(admin)).filter(isJob)) {
      const now = await clock.now();
      const fire = dueFireTime(e.cron, e.run?.lastFireTime ?? e.createdAt, now);
      if (!fire) {
        if (!e.run?.nextRunAt) nextRuns.push({ id: e._id, at: nextFireTime(e.cron, now) });
        continue;
      }
      await setNextRuns(admin, nextRuns.splice(0));
      const r = await runJob(ctx, e, fire, now);
      if (r) reports.push(r);
    }
    await setNextRuns(admin, nextRuns);
    return reports;
  });
}

/** Long-running mode: a pass every `intervalSec` until `signal` aborts. */
export async function runScheduler(o: RunnerOptions & { intervalSec?: number; signal?: AbortSignal }): Promise<void> {
  const clock = o.clock ?? systemClock;
  while (!o.signal?.aborted) {
    try {
      await runDueJobs(o);
    } catch (err) {
      o.onEvent?.(`pass failed: ${(err as Error).message}`);
    }
    await clock.sleep((o.intervalSec ?? 30) * 1000);
  }
}
