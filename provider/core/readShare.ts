// One read shared by every caller in a process while nothing writes what it read: the inventory (one `pbm
// status` per cluster per operation, ../inventory/shared.ts) and the read handlers' config and registry reads
// (../resources/clusterReads.ts).
//   - held per key; dropped per URI (`forget(uri)`), or all at once (`forget()`), by the writes that could change it;
//   - concurrent readers join the read in flight;
//   - a read during which its URI was written is returned to its callers but not kept, so a read after a write
//     in the same process sees the write;
//   - a value older than `maxAgeMs` is read again; failures are not kept.

interface Held<T> {
  uri: string;
  value: Promise<T>;
  at: number;
  settled: boolean;
}

export class ReadShare<T> {
  private readonly held = new Map<string, Held<T>>();
  /** Writes seen per URI, and `forget()`s of everything: a read keeps its value only if neither moved meanwhile. */
  private readonly writes = new Map<string, number>();
  private forgotAll = 0;

  constructor(private readonly maxAgeMs: () => number) {}

  forget(uri?: string): void {
    if (uri === undefined) {
      this.forgotAll++;
      this.held.clear();
      return;
    }
    this.writes.set(uri, (this.writes.get(uri) ?? 0) + 1);
    for (const [k, h] of this.held) if (h.uri === uri) this.held.delete(k);
  }

  /** The value held under `key` (a read of the cluster `uri` reaches), or a new `read()`. */
  get(key: string, uri: string, read: () => Promise<T>, maxAgeMs?: number): Promise<T> {
    const h = this.held.get(key);
    // The age limit (an environment read by default) is asked only of a settled value: every shared read passes here.
    if (h && (!h.settled || Date.now() - h.at <= (maxAgeMs ?? this.maxAgeMs()))) return h.value;
    const seen = this.version(uri);
    const entry: Held<T> = { uri, value: read(), at: Date.now(), settled: false };
    this.held.set(key, entry);
    entry.value.then(
      () => {
        entry.settled = true;
        entry.at = Date.now();
        if (this.version(uri) !== seen && this.held.get(key) === entry) this.held.delete(key);
      },
      () => this.held.get(key) === entry && this.held.delete(key),
    );
    return entry.value;
  }

  private version(uri: string): string {
    return `${this.forgotAll}/${this.writes.get(uri) ?? 0}`;
  }
}

/** How long a shared read is kept: 30 s, or PULUMI_PBM_INVENTORY_MAX_AGE_MS (the name it had when only the inventory was shared). */
export function sharedReadMaxAgeMs(): number {
  const v = Number(process.env.PULUMI_PBM_INVENTORY_MAX_AGE_MS);
  return Number.isFinite(v) && v >= 0 ? v : 30_000;
}
