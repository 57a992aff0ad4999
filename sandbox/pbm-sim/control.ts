// Control API of the simulated pbm agents, for tests and the demo: the simulated clock, topology, agents and
// faults. Everything lives in the target MongoDB (admin.simulator_settings); each call returns once the
// cluster's agent process (agentProcess.ts) runs on the new settings.
import { readFileSync } from "node:fs";
import { MongoClient } from "mongodb";
import { features, parseVersion, DEFAULT_VERSION } from "./version";
import { AGENTS_ACK, DEFAULT_TIMINGS, SETTINGS, TICK_LOCK, World, type Faults, type ReplSet, type Settings } from "./world";

async function withClient<T>(uri: string, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export interface SimulatorOptions {
  /** pbm release the agents report and behave as (reference §7), e.g. "2.14.0"; the testbed sets the real CLI's. */
  version?: string;
  topology?: { sharded: boolean; replsets: ReplSet[] };
  /** Hosts whose agent is down; ["*"] for all. */
  agentsDown?: string[];
  faults?: Faults;
  timings?: Partial<Settings["timings"]>;
  oplogWindowMin?: number;
  mongodbVersion?: string;
}

/** Merges settings into the simulated world (creating it with defaults first). */
export async function configureSimulator(uri: string, o: SimulatorOptions): Promise<void> {
  await withClient(uri, async (c) => {
    const world = new World(c, parseVersion(o.version ?? DEFAULT_VERSION), features(parseVersion(o.version ?? DEFAULT_VERSION)));
    await world.load();
    const next: Settings = {
      ...world.settings,
      ...(o.version ? { version: o.version } : {}),
      ...(o.topology ? { topology: o.topology } : {}),
      ...(o.agentsDown ? { agentsDown: o.agentsDown } : {}),
      ...(o.faults ? { faults: o.faults } : {}),
      ...(o.oplogWindowMin !== undefined ? { oplogWindowMin: o.oplogWindowMin } : {}),
      ...(o.mongodbVersion ? { mongodbVersion: o.mongodbVersion } : {}),
      timings: { ...DEFAULT_TIMINGS, ...world.settings.timings, ...(o.timings ?? {}) },
    };
    await saveSettings(c, next);
  });
}

/**
 * Stores new settings and waits until the cluster's agent process runs on them, so the next pbm call sees
 * the new clock, topology or faults (its cluster time comes from the agent process's wire shim).
 */
async function saveSettings(c: MongoClient, next: Settings): Promise<void> {
  const settings = c.db("admin").collection<Settings>(SETTINGS);
  const rev = (next.rev ?? 0) + 1;
  await settings.replaceOne({ _id: "world" }, { ...next, rev }, { upsert: true });
  const acks = c.db("admin").collection<{ _id: string; rev: number; log?: string }>(SETTINGS);
  if (!(await acks.findOne({ _id: AGENTS_ACK }))) return; // no agent process (a bare FerretDB)
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ack = await acks.findOne({ _id: AGENTS_ACK });
    if ((ack?.rev ?? 0) >= rev) return;
    if (Date.now() > deadline) {
      // What the agents were doing: their last acknowledgement and who holds the world lock a tick takes.
      const lock = await c.db("admin").collection(TICK_LOCK).findOne({ _id: "tick" as never });
      throw new Error(
        `pbm simulator: the agent process did not pick up settings revision ${rev} within 15s (last acknowledged: ${JSON.stringify(ack)}; world lock: ${JSON.stringify(lock)}, now ${new Date().toISOString()})${logTail(ack?.log)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The agents' last log lines, for an error that says they are stuck: empty when there is no log to read. */
function logTail(file: string | undefined, lines = 12): string {
  if (!file) return "";
  try {
    const text = readFileSync(file, "utf8").trimEnd();
    return text ? `; the agents' log (${file}) ends:\n${text.split("\n").slice(-lines).join("\n")}` : `; the agents' log (${file}) is empty`;
  } catch {
    return "";
  }
}

async function setClock(uri: string, clockDoc: Settings["clock"]): Promise<void> {
  await withClient(uri, async (c) => {
    const world = new World(c, parseVersion(DEFAULT_VERSION), features(parseVersion(DEFAULT_VERSION)));
    await world.load();
    await saveSettings(c, { ...world.settings, clock: clockDoc });
  });
}

export const clock = {
  /**
   * Freezes simulated time at `at`. Cluster time (what the shim reports) follows, also backwards; the real
   * CLI names backups and restores by wall clock whatever this says.
   */
  set: (uri: string, at: Date) => setClock(uri, { mode: "fixed", fixedAt: at }),
  /** Moves a frozen clock forward (or a running one: it re-anchors). */
  async advance(uri: string, seconds: number): Promise<Date> {
    const now = await clock.now(uri);
    const next = new Date(now.getTime() + seconds * 1000);
    const mode = await withClient(uri, async (c) => (await c.db("admin").collection<Settings>(SETTINGS).findOne({ _id: "world" }))?.clock);
    if (mode?.mode === "scaled") await setClock(uri, { mode: "scaled", anchorReal: new Date(), anchorSim: next, factor: mode.factor ?? 1 });
    else await setClock(uri, { mode: "fixed", fixedAt: next });
    return next;
  },
  /** Lets simulated time run `factor` times faster than real time, from `from` (default: now). */
  run: (uri: string, factor: number, from?: Date) => setClock(uri, { mode: "scaled", anchorReal: new Date(), anchorSim: from ?? new Date(), factor }),
  async now(uri: string): Promise<Date> {
    return withClient(uri, async (c) => {
      const world = new World(c, parseVersion(DEFAULT_VERSION), features(parseVersion(DEFAULT_VERSION)));
      await world.load();
      return new Date(world.now() * 1000);
    });
  },
};

/** Runs one agents' step now, besides the agent process's own (every 200 ms while busy, else when something is due). */
export async function tick(uri: string, version = DEFAULT_VERSION): Promise<void> {
  await withClient(uri, async (c) => {
    const v = parseVersion(version);
    const world = new World(c, v, features(v));
    try {
      await world.tick();
    } finally {
      world.close();
    }
  });
}
