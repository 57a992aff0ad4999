// The cluster adapter: `pbm status` output (and the runner's record of which schedule made what) → the model.
import type { Status } from "../pbm/output";
import { buildInventory, type Inventory } from "./model";

/** The inventory from `pbm status -s backups -s pitr` (pure). pbm lists snapshots newest first and ranges oldest first. */
export function inventoryFromStatus(cluster: string, st: Status, madeBy: Map<string, string>): Inventory {
  const ranges = st.backups?.pitrChunks?.pitrChunks ?? [];
  return buildInventory({
    cluster,
    configured: true,
    snapshots: st.backups?.snapshot ?? [],
    ranges: ranges.map((r) => ({ start: r.range.start, end: r.range.end, backed: !r.noBaseSnapshot })),
    pitr: { enabled: st.pitr?.conf ?? false, running: st.pitr?.run ?? false, error: st.pitr?.error },
    madeBy,
  });
}
