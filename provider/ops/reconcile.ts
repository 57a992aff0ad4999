// Finishes the records of runs whose runner stopped while following them (killed, crashed, its host gone): once
// the job's lease has expired, pbm's own record of the backup says how it ended.
import type { Db } from "mongodb";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { leaseIsLive, openRuns, recordBackupEnd, recordFinish } from "../registry";

export async function reconcile(admin: Db, o: PbmRunOptions, now: Date, report: (line: string) => void): Promise<void> {
  for (const r of await openRuns(admin)) {
    if (await leaseIsLive(admin, r.scheduleId, now)) continue; // its runner is alive
    // One look per pass: a backup pbm cannot describe now is looked at again on the next pass.
    const d = await pbm.describeBackup(r._id, o).catch(() => undefined);
    if (!d || ["starting", "running", "dumpDone"].includes(d.status)) continue;
    const status = d.status === "done" ? "done" : "error";
    await recordBackupEnd(admin, r._id, status, now, d.error);
    await recordFinish(admin, r.scheduleId, { lastResult: status === "done" ? "success" : "error", lastFinishedAt: now, ...(d.error ? { lastError: d.error } : {}) });
    report(`recovered the record of ${r._id} (${r.scheduleId}) left by a stopped runner: ${d.status}`);
  }
}
