// Time as the runner sees it. The default is the system clock; tests and demos may follow another source (the
// simulated cluster's clock). Whatever `now` follows, `sleep` waits real milliseconds.

export interface Clock {
  now(): Promise<Date>;
  /** Waits `ms` real milliseconds (intervals between passes and polls are real time under any clock). */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: async () => new Date(),
  sleep: (ms) => abortableSleep(ms),
};

/** Sleeps `ms`, or less when `signal` aborts; leaves no listener on the signal either way (a runner sleeps often). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Whether `ms` of real time have passed since the call. Timeouts bound how long a caller waits, so they are
 * measured on the machine's monotonic clock, never on a Clock: a simulated one may run 60× fast or stand still.
 */
export function realDeadline(ms: number): () => boolean {
  const end = performance.now() + ms;
  return () => performance.now() > end;
}
