// Point-in-time and snapshot restores as actions (never resources): validate the target against the inventory,
// run pbm restore with the release's confirmation flag, follow it to the end.
import { errors } from "../errors";
import { readInventory, type Inventory } from "../inventory";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import { systemClock } from "../core/time";
import { follow } from "../pbm/follow";

export interface RestoreResult {
  name: string;
  status: "done" | "error";
  error?: string;
  target: string;
  /** Whether PITR is enabled in pbm's config after the restore (pbm turns it off for a restore). */
  pitrEnabled: boolean;
  /** What the operator has to do next, e.g. bring PITR back; absent when nothing. */
  note?: string;
}

const toSec = (iso: string) => Date.parse(iso) / 1000;
const pbmTime = (d: Date) => d.toISOString().slice(0, 19);

/**
 * Whether `at` can be restored (pure): it lies in one of the inventory's restorable windows (pbm restores to whole
 * seconds, so a fraction of a second counts as its second). If not, `before` is the end of the window before it and
 * `after` the start of the window after it: the nearest restorable times on each side, never a span containing `at`.
 */
export function restorability(inv: Pick<Inventory, "restorableWindows">, at: Date): { ok: boolean; before?: string; after?: string } {
  const t = Math.floor(at.getTime() / 1000);
  const windows = inv.restorableWindows.map((w) => ({ w, a: toSec(w.start), b: toSec(w.end) }));
  if (windows.some(({ a, b }) => t >= a && t <= b)) return { ok: true };
  const before = windows.filter(({ b }) => b < t).pop();
  const after = windows.find(({ a }) => a > t);
  return { ok: false, ...(before ? { before: before.w.end } : {}), ...(after ? { after: after.w.start } : {}) };
}

/** The one-line fix for an unrestorable time (pure): the nearest restorable times on each side of it. */
export function restoreHint(r: { before?: string; after?: string }): string {
  if (r.before && r.after) return `Pick ${r.before} or earlier, or ${r.after} or later (the time between is a gap in the backups).`;
  if (r.before) return `Pick ${r.before} or earlier: nothing after it is restorable yet.`;
  if (r.after) return `Pick ${r.after} or later: nothing before it is restorable.`;
  return "Take a snapshot and enable PITR first.";
}

/**
 * What to do after a restore (pure): pbm's leader turns PITR off for a restore (2.4+) and it stays off, and its
 * slicer resumes only from a backup newer than the last restore (pbm/slicer Catchup: "no backup found after the
 * restored …"). Returns the note when PITR was on before the restore and is off after it.
 */
export function afterRestoreNote(pitrWasEnabled: boolean, pitrEnabledNow: boolean): string | undefined {
  if (!pitrWasEnabled || pitrEnabledNow) return undefined;
  return (
    "pbm turned PITR off for the restore, and it stays off. To bring the declared PitrPolicy back, run " +
    "`pulumi up --refresh`: the refresh sees PITR off as drift, and the up re-applies the PitrPolicy and starts the " +
    "base snapshot pbm needs, since it resumes PITR only from a backup taken after the restore (with " +
    "takeBaseSnapshot: false, run `pbm backup` yourself)."
  );
}

/** Follows a restore to its end; throws when it outlasts `timeoutSec` or describing it keeps failing. */
async function followRestore(name: string, o: PbmRunOptions, onProgress: (line: string) => void, timeoutSec: number): Promise<{ status: "done" | "error"; error?: string }> {
  const end = await follow({
    describe: () => pbm.describeRestore(name, o),
    final: ["done", "error"],
    timeoutSec,
    pollMs: 1000,
    sleep: systemClock.sleep,
    onStatus: (d) => onProgress(`restore ${name}: ${d.status}`),
  });
  if (end.ended === "lost") throw end.error;
  if (end.ended === "timeout")
    throw errors.pbmTimeout(`restore ${name} did not finish within ${timeoutSec}s (last status: ${end.last?.status || "unknown"})`, { advice: "Follow it with `pbm describe-restore " + name + "` and `pbm logs`." });
  return end.last.status === "done" ? { status: "done" } : { status: "error", error: end.last.error };
}

/** Reads pbm's PITR setting after a restore, with the note for the operator when pbm turned it off. */
async function pitrAfter(before: Inventory, o: PbmRunOptions): Promise<{ pitrEnabled: boolean; note?: string }> {
  const st = await pbm.status(o, ["pitr"]);
  const pitrEnabled = st.pitr?.conf ?? false;
  const note = afterRestoreNote(before.pitr.enabled, pitrEnabled);
  return { pitrEnabled, ...(note ? { note } : {}) };
}

/** Restores the cluster to a point in time, after checking that the time is restorable. */
export async function restoreToPointInTime(
  o: PbmRunOptions & { to: Date; namespaces?: string[]; onProgress?: (line: string) => void; timeoutSec?: number },
): Promise<RestoreResult> {
  const progress = o.onProgress ?? (() => undefined);
  const inv = await readInventory(o);
  const r = restorability(inv, o.to);
  if (!r.ok) {
    const near = [r.before ? `latest before: ${r.before}` : "", r.after ? `earliest after: ${r.after}` : ""].filter(Boolean).join(", ");
    throw errors.input(
      `cluster "${inv.cluster}" cannot be restored to ${o.to.toISOString()}: no base snapshot and PITR range covers it${near ? ` (nearest restorable times: ${near})` : " and nothing is restorable yet"}`,
      { advice: restoreHint(r) },
    );
  }
  progress(`restoring cluster "${inv.cluster}" to ${o.to.toISOString()}`);
  const started = await pbm.restore(o, { time: pbmTime(o.to), namespaces: o.namespaces });
  const end = await followRestore(started.name, o, progress, o.timeoutSec ?? 3600);
  return { name: started.name, target: o.to.toISOString(), ...end, ...(await pitrAfter(inv, o)) };
}

/** Restores one snapshot by name. */
export async function restoreBackup(
  o: PbmRunOptions & { backup: string; namespaces?: string[]; onProgress?: (line: string) => void; timeoutSec?: number },
): Promise<RestoreResult> {
  const progress = o.onProgress ?? (() => undefined);
  const inv = await readInventory(o);
  const snap = inv.snapshots.find((s) => s.name === o.backup);
  if (!snap || snap.status !== "done") {
    const done = inv.snapshots.filter((s) => s.status === "done").map((s) => s.name);
    throw errors.input(`cluster "${inv.cluster}" has no finished backup named "${o.backup}"${done.length ? ` (finished: ${done.slice(-5).join(", ")})` : ""}`, { advice: "Pick one from `pulumi-pbm inventory`." });
  }
  progress(`restoring cluster "${inv.cluster}" from snapshot ${o.backup}`);
  const started = await pbm.restore(o, { backup: o.backup, namespaces: o.namespaces });
  const end = await followRestore(started.name, o, progress, o.timeoutSec ?? 3600);
  return { name: started.name, target: snap.restoreToTime, ...end, ...(await pitrAfter(inv, o)) };
}
