// Time as the runner sees it. The default is the system clock; tests and demos may follow another source.
export interface Clock {
  now(): Promise<Date>;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: async () => new Date(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Sleeps `ms`, or less when `signal` aborts; leaves no listener on the signal either way (a runner sleeps often). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
