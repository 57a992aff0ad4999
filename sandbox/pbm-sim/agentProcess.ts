// One process per simulated cluster: the wire shim in front of its FerretDB, and the simulated pbm-agents
// that carry out what the real pbm CLI writes to admin.pbmCmd. The testbed starts it (under guard.js) with
//   PBM_SIM_UPSTREAM_URI  FerretDB's own URI (a secret: environment only)
//   PBM_SIM_UPSTREAM_PORT FerretDB's port
//   PBM_SIM_VERSION       the pbm release the agents report (the real CLI's release)
//   PBM_SIM_LOG           the file their stderr goes to, if any (kept in the acknowledgement for control calls)
// and reads one JSON line `{"port": N}` from stdout: the port the real pbm CLI and the provider connect to.
import { MongoClient, Timestamp } from "mongodb";
import { freePort } from "../testbed";
import { startWireShim } from "../wire-shim";
import { AGENTS_ACK, SETTINGS, World } from "./world";
import { features, parseVersion } from "./version";

const TICK_MS = 200;
/**
 * A tick that has not settled after this long, or ticks that have failed for this long, get the agents a fresh
 * client, as a restarted pbm-agent would have: once, in CI, the agents of a cluster whose FerretDB was killed and
 * started again never acknowledged another settings revision (their tick lock last taken during the outage).
 */
const STUCK_MS = 30_000;
/**
 * The longest the world goes without a tick, in real milliseconds: a random 45 to 75 s each time, so the clusters
 * of a fleet, started together, do not all tick at once. World.tick() says when one is next due (a PITR chunk, a
 * slicer's heartbeat); on a frozen clock nothing is, and a client write the agents act on (a pbm command, pbm's
 * config, the simulator's settings, which hold the clock) wakes them at once, as pbm-agent's change stream on
 * pbmCmd does, so this bound is only a safety net. Between ticks the agents only beat (World.beat(): one write).
 * Ticking 5 times a second instead cost an idle cluster about a tenth of a core, and a tick at every heartbeat
 * cost a fleet of 50 two thirds of one.
 */
const idleTickMs = () => 45_000 + 30_000 * Math.random();
/** Collections whose writes wake the agents. */
const WAKE_ON = new Set(["pbmCmd", "pbmConfig", SETTINGS]);

async function main(): Promise<void> {
  const uri = process.env.PBM_SIM_UPSTREAM_URI;
  const upstreamPort = Number(process.env.PBM_SIM_UPSTREAM_PORT);
  const release = parseVersion(process.env.PBM_SIM_VERSION ?? "2.14.0");
  const logPath = process.env.PBM_SIM_LOG;
  if (!uri || !upstreamPort) throw new Error("PBM_SIM_UPSTREAM_URI and PBM_SIM_UPSTREAM_PORT are required");
  const bootstrap = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  let world = new World(bootstrap, release, features(release));
  await world.load();
  // Members get loopback addresses the shim answers on (127.0.0.1-3, one port), so pbm can dial each one,
  // as it does for the full `pbm status`; the agents are named after them.
  const port = Number(process.env.PBM_SIM_LISTEN_PORT) || (await freePort());
  const stored = await bootstrap.db("admin").collection(SETTINGS).findOne({ _id: "world" as never });
  if (!stored?.topology) {
    const name = world.settings.topology.replsets[0].name;
    const members = [1, 2, 3].map((n) => ({ host: `127.0.0.${n}:${port}`, role: n === 1 ? ("P" as const) : ("S" as const) }));
    world.settings.topology = { sharded: false, replsets: [{ name, members }] };
  }
  world.settings.version ??= release.raw;
  await bootstrap.db("admin").collection(SETTINGS).updateOne({ _id: "world" as never }, { $set: { ...world.settings } }, { upsert: true });

  // Cluster time follows the simulated clock; the increment keeps it strictly monotonic while the clock
  // runs. A test that sets the clock back (a new settings revision) moves cluster time back with it: every
  // pbm CLI call is a fresh process, so no client has seen the later time.
  let last = { t: 0, i: 0, rev: -1 };
  const clusterTime = () => {
    const rev = world.settings.rev ?? 0;
    const now = world.nowSec();
    const t = rev === last.rev ? Math.max(now, last.t) : now;
    last = t === last.t && rev === last.rev ? { t, i: last.i + 1, rev } : { t, i: 1, rev };
    return { t: last.t, i: last.i };
  };
  const shim = await startWireShim({
    upstream: { host: "127.0.0.1", port: upstreamPort },
    listenPort: port,
    clusterTime,
    topology: () => {
      const rs = world.replsets()[0];
      return { setName: rs.name, configsvr: rs.configsvr, members: rs.members };
    },
    mongodbVersion: () => world.settings.mongodbVersion,
    onWrite: (collection) => {
      if (WAKE_ON.has(collection)) wakeUp.ring();
    },
  });
  // From here the agents talk through the shim like every other client, so their writes take turns with
  // the CLI's and the provider's (the shim makes single-document writes atomic).
  const agentsUri = uri.replace(`:${upstreamPort}/`, `:${shim.port}/`);
  let client = new MongoClient(agentsUri, { serverSelectionTimeoutMS: 10_000 });
  const agents = new World(client, release, features(release));
  await agents.load();
  world = agents;
  await bootstrap.close();
  /** A fresh client and world (its first tick loads the settings); the old client's pending operations fail. */
  const reconnect = (why: string) => {
    process.stderr.write(`pbm-sim agents: ${why}; reconnecting\n`);
    const old = client;
    client = new MongoClient(agentsUri, { serverSelectionTimeoutMS: 10_000 });
    const fresh = new World(client, release, features(release));
    fresh.settings = world.settings; // the shim reads the clock and topology from it until the first tick
    world = fresh;
    // Not awaited: the old client may be the one whose operations hang.
    void old.close(true).catch(() => undefined);
  };
  process.stdout.write(JSON.stringify({ port: shim.port }) + "\n");

  let stopping = false;
  const stop = async () => {
    stopping = true;
    await shim.close().catch(() => undefined);
    await client.close().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  // Real-clock times (ms) at which a tick, and a heartbeat, are next due.
  let tickAt = 0;
  let beatAt = Infinity;
  let rung = true;
  let acked = -1;
  let failingSince: number | undefined;
  while (!stopping) {
    const started = Date.now();
    wakeUp.reset();
    try {
      if (rung || started >= tickAt) {
        const idleMs = await settledWithin(world.tick(), STUCK_MS, "tick");
        tickAt = started + Math.max(TICK_MS, Math.min(idleMs, idleTickMs()));
        beatAt = Date.now() + world.nextBeatMs();
        // Tell control calls (clock.set, configureSimulator) which settings revision the agents now run on.
        const rev = world.settings.rev ?? 0;
        if (rev !== acked) {
          const ack = client.db("admin").collection(SETTINGS).updateOne({ _id: AGENTS_ACK as never }, { $set: { rev, at: new Timestamp({ t: world.nowSec(), i: 0 }), ...(logPath ? { log: logPath } : {}) } }, { upsert: true });
          await settledWithin(ack, STUCK_MS, "acknowledgement");
          acked = rev;
          // That write rings the bell too, so one more tick follows at once and finds nothing new: cheaper than
          // telling our own write from a control call's landing at the same moment, which must not be missed.
        }
        failingSince = undefined;
      } else if (started >= beatAt) {
        beatAt = Date.now() + (await settledWithin(world.beat(), STUCK_MS, "heartbeat"));
      }
    } catch (err) {
      tickAt = started + TICK_MS;
      if (!stopping) process.stderr.write(`pbm-sim agents: tick failed: ${(err as Error).message}\n`);
      failingSince ??= started;
      // A client whose first connection failed (a reconnect during an outage) stays closed: replace it at once.
      const closed = (err as Error).name === "MongoTopologyClosedError";
      if (!stopping && (closed || Date.now() - failingSince >= STUCK_MS)) {
        reconnect(closed ? "the client is closed" : `failing for ${Math.round((Date.now() - failingSince) / 1000)}s`);
        failingSince = undefined;
        tickAt = 0;
      }
    }
    rung = await wakeUp.wait(Math.max(20, Math.min(tickAt, beatAt) - Date.now()));
  }
}

/** `p`, or a rejection once `ms` have passed without it settling (`p` itself runs on). */
function settledWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000}s`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A doorbell: wait() resolves after `ms` (false), or at once when rung since the last reset() (true). */
const wakeUp = {
  rung: false,
  waiting: undefined as (() => void) | undefined,
  reset() {
    this.rung = false;
  },
  ring() {
    this.rung = true;
    this.waiting?.();
  },
  wait(ms: number): Promise<boolean> {
    if (this.rung) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.waiting = undefined;
        resolve(self.rung);
      }
      this.waiting = done;
    });
  },
};

main().catch((err) => {
  process.stderr.write(`pbm-sim agents: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
