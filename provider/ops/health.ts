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
    else if ((now - last) / 1000 > o.maxSnapshotAgeSec) problems.push(`last successful snapshot is ${Math.round((now - last) / 60000)} min old (allowed ${Math.round(o.maxSnapshotAgeSec / 60)} min)`);
  }
  if (o.maxPitrLagSec !== undefined && inv.pitr.enabled) {
    const chunk = inv.pitr.lastChunkTime ? Date.parse(inv.pitr.lastChunkTime) : undefined;
    if (chunk === undefined) problems.push("PITR is enabled but no oplog chunk exists");
    else if ((now - chunk) / 1000 > o.maxPitrLagSec) problems.push(`last PITR chunk is ${Math.round((now - chunk) / 60000)} min old (allowed ${Math.round(o.maxPitrLagSec / 60)} min)`);
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

/** Parses durations like 15m, 26h, 90s, 2d. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration like 90s, 15m, 26h or 2d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
}
