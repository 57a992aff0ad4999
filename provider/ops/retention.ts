// Which of a schedule's backups retention deletes: beyond the newest `count`, or older than `maxAgeDays`;
// never the newest one, never a base snapshot that a restorable PITR range starts from, never part of an
// incremental chain that a kept backup depends on. `applyRetention` carries the decision out for one job.
import type { Db } from "mongodb";
import { readInventory } from "../inventory";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { backupsMadeBy, recordDeleted } from "../registry";

export interface RetainedBackup {
  name: string;
  type: string;
  status: string;
  /** Restore-to time. */
  restoreTo: Date;
  /** Incremental parent, if any. */
  incrementalBase?: string;
}

export interface RetentionRule {
  count?: number;
  maxAgeDays?: number;
}

export function selectForDeletion(backups: RetainedBackup[], rule: RetentionRule, now: Date, protectedNames: ReadonlySet<string>): string[] {
  if (rule.count === undefined && rule.maxAgeDays === undefined) return [];
  const done = backups.filter((b) => b.status === "done").sort((a, b) => b.restoreTo.getTime() - a.restoreTo.getTime());
  const maxAgeMs = rule.maxAgeDays === undefined ? undefined : rule.maxAgeDays * 86_400_000;
  const doomed = new Set<string>();
  done.forEach((b, rank) => {
    if (rank === 0) return; // always keep the newest
    const tooMany = rule.count !== undefined && rank >= rule.count;
    const tooOld = maxAgeMs !== undefined && now.getTime() - b.restoreTo.getTime() > maxAgeMs;
    if ((tooMany || tooOld) && !protectedNames.has(b.name)) doomed.add(b.name);
  });
  // Incremental chains go whole or not at all: keep every ancestor of a kept increment.
  const byName = new Map(backups.map((b) => [b.name, b]));
  for (const b of done)
    if (!doomed.has(b.name))
      for (let p = b.incrementalBase; p; p = byName.get(p)?.incrementalBase) doomed.delete(p);
  // pbm deletes an incremental chain through its base; a non-base increment cannot be deleted alone.
  return [...doomed].filter((n) => !(byName.get(n)?.type === "incremental" && byName.get(n)?.incrementalBase));
}

/** Base snapshots the current restorable window needs: each backed PITR range starts one second after its base. */
export function protectedBases(snapshots: { name: string; status: string; restoreToTime: string }[], ranges: { start: string; backed: boolean }[]): Set<string> {
  const starts = new Set(ranges.filter((r) => r.backed).map((r) => Date.parse(r.start) - 1000));
  return new Set(snapshots.filter((s) => s.status === "done" && starts.has(Date.parse(s.restoreToTime))).map((s) => s.name));
}

export interface RetentionOutcome {
  deleted: string[];
  /** What could not be done, one line each: pbm refusing a deletion (e.g. of the last PITR base), an unreadable inventory. */
  errors: string[];
}

/**
 * Deletes the backups of entry `id` that `rule` no longer keeps. Never throws: the backup it follows succeeded,
 * so a failure here is reported beside that success, not instead of it.
 */
export async function applyRetention(admin: Db, id: string, rule: RetentionRule, o: PbmRunOptions, now: Date): Promise<RetentionOutcome> {
  const out: RetentionOutcome = { deleted: [], errors: [] };
  let doomed: string[];
  try {
    const mine = await backupsMadeBy(admin, id);
    const inv = await readInventory(o);
    const candidates = inv.snapshots.filter((s) => mine.has(s.name)).map((s) => ({ name: s.name, type: s.type, status: s.status, restoreTo: new Date(s.restoreToTime) }));
    doomed = selectForDeletion(candidates, rule, now, protectedBases(inv.snapshots, inv.pitrRanges));
  } catch (err) {
    out.errors.push(`could not choose backups to delete: ${(err as Error).message}`);
    return out;
  }
  for (const name of doomed) {
    try {
      await pbm.deleteBackup(name, o);
      await recordDeleted(admin, name, now);
      out.deleted.push(name);
    } catch (err) {
      out.errors.push(`${name} not deleted: ${(err as Error).message}`);
    }
  }
  return out;
}
