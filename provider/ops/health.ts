// The backup health check for CI and monitoring: PITR lag, snapshot age, pbm's PITR error, missing agents.
import { readInventory, type Inventory } from "../inventory";
import { pbm, type PbmRunOptions } from "../pbm/commands";
import type { Status } from "../pbm/output";

export interface HealthOptions {
  /** Maximum age of the last PITR chunk, in seconds (only checked while PITR is enabled). */
  maxPitrLagSec?: number;
  /** Maximum age of the last successful snapshot, in seconds. */
  maxSnapshotAgeSec?: number;
  now?: Date;
}

export interface HealthReport {
  ok: boolean;
  cluster: string;
  problems: string[];
  lastSnapshot?: string;
  lastChunkTime?: string;
}

/** Judges health from an inventory and pbm's cluster status (pure). */
export function evaluateHealth(inv: Inventory, cluster: Status["cluster"], o: HealthOptions): HealthReport {
  const now = (o.now ?? new Date()).getTime();
  const problems: string[] = [];
  const missing = (cluster ?? []).flatMap((rs) => rs.nodes.filter((n) => !n.ok).map((n) => `${rs.rs}/${n.host}${n.agent ? ` (${(n.errors ?? []).join("; ") || "not ok"})` : " (no pbm-agent)"}`));
  if (missing.length) problems.push(`pbm agents missing or failing: ${missing.join(", ")}`);
  if (inv.pitr.enabled && inv.pitr.error) problems.push(`pbm reports a PITR error: ${inv.pitr.error}`);
  const done = inv.snapshots.filter((s) => s.status === "done");
  const last = done.map((s) => Date.parse(s.restoreToTime)).sort((a, b) => b - a)[0];
  if (o.maxSnapshotAgeSec !== undefined) {
    if (last === undefined) problems.push("no successful snapshot exists");
    else if ((now - last) / 1000 > o.maxSnapshotAgeSec) problems.push(`last successful snapshot is ${formatAge(now - last)} old (allowed ${formatDuration(o.maxSnapshotAgeSec)})`);
  }
  if (o.maxPitrLagSec !== undefined && inv.pitr.enabled) {
    const chunk = inv.pitr.lastChunkTime ? Date.parse(inv.pitr.lastChunkTime) : undefined;
    if (chunk === undefined) problems.push("PITR is enabled but no oplog chunk exists");
    else if ((now - chunk) / 1000 > o.maxPitrLagSec) problems.push(`last PITR chunk is ${formatAge(now - chunk)} old (allowed ${formatDuration(o.maxPitrLagSec)})`);
  }
  return {
    ok: problems.length === 0,
    cluster: inv.cluster,
    problems,
    ...(last !== undefined ? { lastSnapshot: new Date(last).toISOString() } : {}),
    ...(inv.pitr.lastChunkTime ? { lastChunkTime: inv.pitr.lastChunkTime } : {}),
  };
}

export async function checkHealth(o: PbmRunOptions & HealthOptions): Promise<HealthReport> {
  const inv = await readInventory(o);
  const st = await pbm.status(o, ["cluster"]);
  return evaluateHealth(inv, st.cluster, o);
}

/**
 * A duration as a person reads it, exact to the millisecond (pure): 30 s, 1 min 30 s, 15 min, 26 h, 2 d 3 h, 1.5 s.
 * Days only from 48 h up, so a `--max-snapshot-age 26h` reads back as 26 h.
 */
export function formatDuration(sec: number): string {
  const ms = Math.round(sec * 1000);
  let left = Math.floor(ms / 1000);
  const units: [string, number][] = [...(left >= 48 * 3600 ? [["d", 86400] as [string, number]] : []), ["h", 3600], ["min", 60]];
  const parts: string[] = [];
  for (const [name, size] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n) parts.push(`${n} ${name}`);
  }
  const s = left + (ms % 1000) / 1000;
  if (s || !parts.length) parts.push(`${s} s`);
  return parts.join(" ");
}

/** An age past a limit, rounded up to the second so that it never reads the same as the limit it exceeds. */
const formatAge = (ms: number) => formatDuration(Math.ceil(ms / 1000));

/** Parses durations like 15m, 26h, 90s, 2d. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration like 90s, 15m, 26h or 2d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
}
