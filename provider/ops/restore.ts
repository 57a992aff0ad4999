// Point-in-time and snapshot restores as actions (never resources): validate the target against the inventory,
// run pbm restore with the release's confirmation flag, follow it to the end.
import { PbmInputError, PbmStateError } from "../errors";
import { readInventory, type Inventory } from "../inventory";
import { pbm, type PbmRunOptions } from "../pbm/commands";

export interface RestoreResult {
  name: string;
  status: "done" | "error";
  error?: string;
  target: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toSec = (iso: string) => Date.parse(iso) / 1000;
const pbmTime = (d: Date) => d.toISOString().slice(0, 19);

/** Whether `at` can be restored, and if not, the nearest restorable times before and after it. */
export function restorability(inv: Inventory, at: Date): { ok: boolean; before?: string; after?: string } {
  const t = at.getTime() / 1000;
  const spans: [number, number][] = [
    ...inv.pitrRanges.filter((r) => r.backed).map((r) => [toSec(r.start), toSec(r.end)] as [number, number]),
    ...inv.snapshots.filter((s) => s.status === "done" && !s.profile).map((s) => [toSec(s.restoreToTime), toSec(s.restoreToTime)] as [number, number]),
  ];
  if (spans.some(([a, b]) => t >= a && t <= b)) return { ok: true };
  const before = spans.filter(([, b]) => b < t).map(([, b]) => b).sort((a, b) => b - a)[0];
  const after = spans.filter(([a]) => a > t).map(([a]) => a).sort((a, b) => a - b)[0];
  const iso = (s?: number) => (s === undefined ? undefined : new Date(s * 1000).toISOString().replace(".000Z", "Z"));
  return { ok: false, before: iso(before), after: iso(after) };
}

async function follow(name: string, o: PbmRunOptions, onProgress: (line: string) => void, timeoutSec: number): Promise<{ status: "done" | "error"; error?: string }> {
  const deadline = Date.now() + timeoutSec * 1000;
  let last = "";
  for (;;) {
    const d = await pbm.describeRestore(name, o).catch(() => undefined);
    if (d && d.status !== last) {
      onProgress(`restore ${name}: ${d.status}`);
      last = d.status;
    }
    if (d?.status === "done") return { status: "done" };
    if (d?.status === "error") return { status: "error", error: d.error };
    if (Date.now() > deadline) throw new PbmStateError("PBM_TIMEOUT", `restore ${name} did not finish within ${timeoutSec}s (last status: ${last || "unknown"})`, { solution: "Follow it with `pbm describe-restore " + name + "` and `pbm logs`." });
    await sleep(1000);
  }
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
    throw new PbmInputError(
      "INPUT",
      `cluster "${inv.cluster}" cannot be restored to ${o.to.toISOString()}: no base snapshot and PITR range covers it${near ? ` (nearest restorable times: ${near})` : " and nothing is restorable yet"}`,
      { solution: inv.restorableWindow ? `Pick a time in ${inv.restorableWindow.earliest} … ${inv.restorableWindow.latest}.` : "Take a snapshot and enable PITR first." },
    );
  }
  progress(`restoring cluster "${inv.cluster}" to ${o.to.toISOString()}`);
  const started = await pbm.restore(o, { time: pbmTime(o.to), namespaces: o.namespaces });
  const end = await follow(started.name, o, progress, o.timeoutSec ?? 3600);
  return { name: started.name, target: o.to.toISOString(), ...end };
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
    throw new PbmInputError("INPUT", `cluster "${inv.cluster}" has no finished backup named "${o.backup}"${done.length ? ` (finished: ${done.slice(-5).join(", ")})` : ""}`, { solution: "Pick one from `pulumi-pbm inventory`." });
  }
  progress(`restoring cluster "${inv.cluster}" from snapshot ${o.backup}`);
  const started = await pbm.restore(o, { backup: o.backup, namespaces: o.namespaces });
  const end = await follow(started.name, o, progress, o.timeoutSec ?? 3600);
  return { name: started.name, target: snap.restoreToTime, ...end };
}
