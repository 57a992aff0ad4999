// A kind of write that shared reads (./readShare.ts) must hear of: each write tells every listener before it
// starts and after it ends, so a read that overlapped it is not kept. pbm's writes through the adapter
// (pbm/commands.ts) and the registry's declarations (registry/index.ts) each have one.

export class WriteSignal<A extends unknown[]> {
  private readonly listeners = new Set<(...args: A) => void>();

  /** Calls `listener` around every write; returns the unsubscribe. */
  listen(listener: (...args: A) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Runs `write`, telling every listener `args` before it starts and after it ends, failed or not. */
  async around<T>(args: A, write: () => Promise<T>): Promise<T> {
    const tell = () => this.listeners.forEach((l) => l(...args));
    tell();
    try {
      return await write();
    } finally {
      tell();
    }
  }
}
