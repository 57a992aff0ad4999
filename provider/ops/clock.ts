// Time as the runner sees it. The default is the system clock; tests and demos may follow another source.
export interface Clock {
  now(): Promise<Date>;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: async () => new Date(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};
