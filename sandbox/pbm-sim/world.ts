// The simulated pbm-agents of one cluster: settings (clock, topology, agents, faults), and what real agents
// write to pbm's control collections in `admin` (reference §4) and to storage (§5) when the REAL pbm CLI
// sends them commands through `admin.pbmCmd`. The agent process (agentProcess.ts) calls tick() every 200 ms
// while work is under way and beat() between ticks; a lock keeps a stray second ticker (control.ts `tick`) from
// applying a step twice.
// Documents are shaped as the real CLI reads them: pbmAgents (status, backup pre-check), pbmLock (the
// concurrent-operation check, `status` running section), pbmLockOp + pbmPITR (`status` pitr.run / pitr.nodes),
// pbmLog (`status` pitr.error, `logs`), pbmBackups / pbmRestores / pbmPITRChunks (list, describe-*, status).
import { randomBytes } from "node:crypto";
import { ObjectId, Timestamp, type AnyBulkWriteOperation, type Db, type MongoClient } from "mongodb";
import { Storage, storageErrorText, type StorageConf } from "./storage";
import { features, parseVersion, type Features, type PbmVersion } from "./version";

export const SETTINGS = "simulator_settings";
/** The document in SETTINGS where the agent process acknowledges the settings revision it runs on. */
export const AGENTS_ACK = "agents";
/**
 * Simulated seconds between heartbeats while nothing else changes: a random 7 to 10 each time, so the clusters of a
 * fleet, whose clocks a test or the bench sets at the same moment, do not all beat at once. pbm-agent beats every
 * 5 s (defs.AgentsStatCheckRange) and the CLI takes an agent for stale after 30 s (defs.StaleFrameSec); this stays
 * well inside that and halves what an idle fleet of simulated clusters writes.
 */
const heartbeatPeriodSec = () => 7 + 3 * Math.random();
export const TICK_LOCK = "simulator_lock";
const JOBS = "simulator_jobs";
const SEEN_CMDS = "simulator_cmds";

export interface Member {
  host: string;
  role: "P" | "S" | "H" | "A";
}
export interface ReplSet {
  name: string;
  configsvr?: boolean;
  members: Member[];
}
export interface ClockSettings {
  mode: "fixed" | "scaled";
  /** fixed: the simulated now. */
  fixedAt?: Date;
  /** scaled: simulated time = anchorSim + (real now - anchorReal) × factor. */
  anchorReal?: Date;
  anchorSim?: Date;
  factor?: number;
}
export interface Faults {
  /** Storage errors as the agents see them. */
  storage?: "unreachable" | "denied";
  /** The next N backups end in error with this message. */
  failBackups?: { count: number; message: string };
  /** Agents were killed without a clean shutdown: their pbmAgents docs stay, stale. */
  agentsKilled?: boolean;
}
export interface Settings {
  _id: "world";
  clock: ClockSettings;
  topology: { sharded: boolean; replsets: ReplSet[] };
  /** Hosts whose pbm-agent is down ("*" = all). */
  agentsDown: string[];
  faults: Faults;
  timings: { backupSec: number; restoreSec: number; resyncSec: number };
  /** Oplog window: slicing that was interrupted longer than this resumes with a gap. */
  oplogWindowMin: number;
  /** Replica sets whose slicing was seen stopped, since when (unix seconds). */
  pitrInterrupted?: Record<string, number>;
  mongodbVersion: string;
  version?: string;
  /** Bumped by every control call; the agent process acknowledges it in the AGENTS_ACK document. */
  rev?: number;
}

export const DEFAULT_TIMINGS = { backupSec: 60, restoreSec: 60, resyncSec: 1 };
/** The server version the members claim: FerretDB 1.24 reports feature compatibility version 7.0. */
export const DEFAULT_MONGODB_VERSION = "7.0.14";

export function ts(sec: number, inc = 1): Timestamp {
  return new Timestamp({ t: Math.floor(sec), i: inc });
}
/** Orders BSON timestamps as Go's primitive.Timestamp.Compare does: T, then I. */
export function compareTs(a: Timestamp, b: Timestamp): number {
  return tsSec(a) - tsSec(b) || a.getLowBits() - b.getLowBits();
}
export const tsSec = (t: Timestamp | number | undefined | null): number =>
  t === undefined || t === null ? 0 : typeof t === "number" ? t : t.getHighBits();
export const opid = () => randomBytes(12).toString("hex");

/** A fresh ObjectId whose time part is `sec` (unix seconds). */
function objectIdAt(sec: number): ObjectId {
  const bytes = Buffer.from(new ObjectId().id);
  bytes.writeUInt32BE(Math.floor(sec), 0);
  return new ObjectId(bytes);
}

export function rfc3339(sec: number): string {
  return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const EXT: Record<string, string> = { gzip: ".gz", pgzip: ".gz", snappy: ".snappy", lz4: ".lz4", s2: ".s2", zstd: ".zst", none: "" };
export const compressionExt = (c: string | undefined) => EXT[c ?? "s2"] ?? ".s2";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");
function compact(sec: number): string {
  const d = new Date(sec * 1000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}
export function chunkPath(rs: string, start: Timestamp, end: Timestamp, compression: string): string {
  const s = tsSec(start);
  return `pbmPitr/${rs}/${compact(s).slice(0, 8)}/${compact(s)}-${start.getLowBits()}.${compact(tsSec(end))}-${end.getLowBits()}.oplog${compressionExt(compression)}`;
}

export class World {
  settings!: Settings;
  private storages: Storage[] = [];
  /** The settings revision this instance last wrote the agents' heartbeats on, and the simulated second the next is due. */
  private lastBeat?: { rev: number; next: number };
  /** What the current tick found (see tick()): work under way, and the simulated second a tick is next due. */
  private pace = { busy: false, dueSec: Infinity };
  /** The replica set name the server reports, asked once (the defaults' topology). */
  private setName?: string;
  /** Whether this instance has seen pbm's indexes made (ensureIndexes). */
  private indexesReady = false;

  constructor(
    readonly client: MongoClient,
    public version: PbmVersion,
    public f: Features,
  ) {}

  get admin(): Db {
    return this.client.db("admin");
  }
  col(name: string) {
    return this.admin.collection<any>(name);
  }

  async load(): Promise<void> {
    const stored = await this.col(SETTINGS).findOne({ _id: "world" });
    this.settings = { ...(await this.defaults()), ...(stored ?? {}) } as Settings;
    this.settings.timings = { ...DEFAULT_TIMINGS, ...(this.settings.timings ?? {}) };
    // The agents imitate the release the world was configured with (configureSimulator({ version })).
    if (this.settings.version && this.settings.version !== this.version.raw) {
      this.version = parseVersion(this.settings.version);
      this.f = features(this.version);
    }
  }

  private async defaults(): Promise<Settings> {
    this.setName ??= String(((await this.admin.command({ hello: 1 }).catch(() => ({}))) as { setName?: string }).setName ?? "rs0");
    const name = this.setName;
    return {
      _id: "world",
      clock: { mode: "scaled", anchorReal: new Date(0), anchorSim: new Date(0), factor: 1 },
      topology: {
        sharded: false,
        replsets: [{ name, members: [{ host: "mongo1:27017", role: "P" }, { host: "mongo2:27017", role: "S" }, { host: "mongo3:27017", role: "S" }] }],
      },
      agentsDown: [],
      faults: {},
      timings: DEFAULT_TIMINGS,
      oplogWindowMin: 24 * 60,
      mongodbVersion: DEFAULT_MONGODB_VERSION,
    };
  }

  /** Simulated now, in unix seconds (fractional). */
  now(): number {
    const c = this.settings.clock;
    if (c.mode === "fixed") return new Date(c.fixedAt ?? Date.now()).getTime() / 1000;
    const anchorReal = new Date(c.anchorReal ?? 0).getTime();
    const anchorSim = new Date(c.anchorSim ?? 0).getTime();
    return (anchorSim + (Date.now() - anchorReal) * (c.factor ?? 1)) / 1000;
  }
  nowSec(): number {
    return Math.floor(this.now());
  }

  replsets(): ReplSet[] {
    return this.settings.topology.replsets;
  }
  agentUp(host: string): boolean {
    const down = this.settings.agentsDown ?? [];
    return !down.includes("*") && !down.includes(host);
  }
  /** The node that does a replica set's work: a healthy secondary, else the primary. */
  worker(rs: ReplSet): Member | undefined {
    const up = rs.members.filter((m) => this.agentUp(m.host) && m.role !== "A");
    return up.find((m) => m.role === "S") ?? up.find((m) => m.role === "H") ?? up[0];
  }
  allAgentsUp(): boolean {
    return this.replsets().every((rs) => this.worker(rs) !== undefined);
  }

  private fcv?: string;
  /** The FCV the cluster reports (pbm records it in the backup and refuses to restore across FCVs). */
  async featureCompatibilityVersion(): Promise<string> {
    this.fcv ??= String(
      (await this.admin.command({ getParameter: 1, featureCompatibilityVersion: 1 }).catch(() => undefined))?.featureCompatibilityVersion?.version ??
        this.settings.mongodbVersion.split(".").slice(0, 2).join("."),
    );
    return this.fcv;
  }

  async mainConfig(): Promise<Record<string, any> | null> {
    return this.col("pbmConfig").findOne({ profile: null });
  }

  storage(conf: StorageConf): Storage {
    const s = new Storage(conf);
    this.storages.push(s);
    return s;
  }
  close(): void {
    for (const s of this.storages) s.close();
  }

  /** Appends to pbmLog as pbm-agent does; `at` (wall-clock unix seconds) defaults to now. */
  async log(entry: { s: number; rs?: string; node?: string; e: string; eobj?: string; opid?: string; msg: string; ep?: Timestamp }, at?: number) {
    // pbm-agent stamps log entries with its wall clock, not the cluster time (the CLI filters them so).
    const now = at ?? Date.now() / 1000;
    await this.col("pbmLog").insertOne({
      _id: objectIdAt(now),
      ts: Math.floor(now),
      ns: Math.floor((now % 1) * 1e9),
      tz: 0,
      s: entry.s,
      rs: entry.rs ?? "",
      node: entry.node ?? "",
      e: entry.e,
      eobj: entry.eobj ?? "",
      ep: entry.ep ?? new Timestamp({ t: 0, i: 0 }),
      opid: entry.opid,
      msg: entry.msg,
    });
  }

  /** A live lock in pbmLock (heartbeat newer than 30 s of simulated time). */
  async liveLock(): Promise<Record<string, any> | null> {
    const locks = await this.col("pbmLock").find({}).toArray();
    return locks.find((l) => this.nowSec() - tsSec(l.hb) <= 30) ?? null;
  }

  /** Serialises ticks between processes (a real-time lease in the simulator's own collection). */
  private async withTickLock<T>(fn: () => Promise<T>): Promise<T> {
    const me = opid();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const now = new Date();
      try {
        const r = await this.col(TICK_LOCK).findOneAndUpdate(
          { _id: "tick", $or: [{ until: { $lt: now } }, { holder: me }] },
          { $set: { holder: me, until: new Date(now.getTime() + 20_000) } },
          { upsert: true, returnDocument: "after" },
        );
        if (r?.holder === me) break;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      if (Date.now() > deadline) throw new Error("simulator: could not get the world lock within 30s");
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
    try {
      return await fn();
    } finally {
      await this.col(TICK_LOCK).deleteOne({ _id: "tick", holder: me });
    }
  }

  /**
   * Brings the simulated world up to now: agents' heartbeats, commands, running jobs, PITR slicing. Returns how
   * long the world can be left alone, in real milliseconds: 0 while work is under way (a command taken, a job
   * running), else until a PITR chunk is due on the simulated clock, or the next heartbeat while a slicer runs
   * (its lock beats with the heartbeats); Infinity when nothing is due. Heartbeats in between: beat().
   */
  async tick(): Promise<number> {
    this.pace = { busy: false, dueSec: Infinity };
    await this.withTickLock(async () => {
      await this.load();
      await this.ensureIndexes();
      await this.heartbeats();
      await this.processCommands();
      await this.progressJobs();
      await this.slicePitr();
    });
    if (this.pace.busy) return 0;
    return this.realMsUntil(this.pace.dueSec);
  }

  /**
   * The agents' heartbeats alone, on the settings the last tick loaded, when one is due: what the agent process
   * does between ticks, one write instead of a tick's dozen reads. Returns the real milliseconds until the next.
   */
  async beat(): Promise<number> {
    await this.heartbeats();
    return this.nextBeatMs();
  }

  /** Real milliseconds until the next heartbeat is due (Infinity on a frozen clock: the CLI's staleness is judged on it too). */
  nextBeatMs(): number {
    return this.realMsUntil(this.lastBeat?.next ?? Infinity);
  }

  private realMsUntil(sec: number): number {
    const c = this.settings.clock;
    if (c.mode === "fixed" || sec === Infinity) return Infinity;
    return Math.max(0, ((sec - this.now()) * 1000) / (c.factor ?? 1));
  }

  /** The indexes pbm-agent creates at start (reference §4); the unique ones are pbm's locks. */
  private async ensureIndexes(): Promise<void> {
    if (this.indexesReady) return;
    if (await this.col(SETTINGS).findOne({ _id: "indexes", ready: true })) return void (this.indexesReady = true);
    // pbm-agent's setupNewDB: the command stream and the log are capped (the CLI tails pbmLog for --wait).
    for (const [name, size] of [["pbmCmd", 1 << 20], ["pbmLog", 50 << 20]] as const)
      await this.admin.command({ create: name, capped: true, size }).catch((err: { codeName?: string }) => {
        if (err.codeName !== "NamespaceExists") throw err;
      });
    await this.col("pbmLock").createIndex({ replset: 1 }, { unique: true, sparse: true });
    await this.col("pbmLockOp").createIndex({ replset: 1, type: 1 }, { unique: true, sparse: true });
    await this.col("pbmBackups").createIndex({ name: 1 }, { unique: true, sparse: true });
    await this.col("pbmPITRChunks").createIndex({ rs: 1, start_ts: 1, end_ts: 1 }, { unique: true, sparse: true });
    await this.col(SETTINGS).updateOne({ _id: "indexes" }, { $set: { ready: true } }, { upsert: true });
    this.indexesReady = true;
  }

  private async heartbeats(): Promise<void> {
    const now = this.nowSec();
    // Every heartbeatPeriodSec() of simulated time, and at once when the settings or the clock move (a new
    // revision: the clock changes only with one), so a tick writes no heartbeat it need not: FerretDB pays
    // milliseconds per write, and busy agents tick 5 times a second.
    const rev = this.settings.rev ?? 0;
    const last = this.lastBeat;
    if (last && last.rev === rev && this.now() < last.next) return;
    this.lastBeat = { rev, next: now + heartbeatPeriodSec() };
    // One command for all the agents of the cluster (and one more for agents gone down).
    const ops: AnyBulkWriteOperation[] = [];
    for (const rs of this.replsets()) {
      for (const m of rs.members) {
        if (this.agentUp(m.host)) {
          const state = { P: 1, S: 2, H: 2, A: 7 }[m.role];
          const doc = {
            n: m.host,
            rs: rs.name,
            s: state,
            str: { 1: "PRIMARY", 2: "SECONDARY", 7: "ARBITER" }[state],
            hdn: m.role === "H",
            psv: false,
            arb: m.role === "A",
            delay: 0,
            repl_lag: 0,
            v: this.version.raw,
            mv: this.settings.mongodbVersion,
            pbms: { ok: true },
            nodes: { ok: true },
            stors: this.settings.faults.storage ? { ok: false, e: this.storageFaultText("stat") } : { ok: true },
            hb: ts(now),
          };
          ops.push({ updateOne: { filter: { n: m.host, rs: rs.name }, update: { $set: doc }, upsert: true } });
        } else if (!this.settings.faults.agentsKilled) {
          ops.push({ deleteOne: { filter: { n: m.host, rs: rs.name } } });
        }
      }
    }
    if (ops.length) await this.col("pbmAgents").bulkWrite(ops, { ordered: true });
  }

  storageFaultText(op: "stat" | "upload"): string {
    const code = this.settings.faults.storage === "denied" ? 403 : undefined;
    const inner = code
      ? `https response error StatusCode: 403, RequestID: SIM0000000000000, api error AccessDenied: Access Denied.`
      : `dial tcp: lookup storage: no such host`;
    return op === "stat" ? `storage check failed with: file stat: get S3 object header: ${inner}` : `upload to storage: ${inner}`;
  }

  // ---- commands (what the agents do with pbmCmd) ----

  private async processCommands(): Promise<void> {
    // A lock whose heartbeat is older than 30 s belongs to a dead agent: pbm takes it over (defs.StaleFrameSec).
    for (const l of await this.col("pbmLock").find({}).toArray())
      if (this.nowSec() - tsSec(l.hb) > 30) await this.col("pbmLock").deleteOne({ _id: l._id });
    const seen = new Set((await this.col(SEEN_CMDS).find({}, { projection: { _id: 1 } }).toArray()).map((d) => String(d._id)));
    const cmds = (await this.col("pbmCmd").find({}).sort({ ts: 1 }).toArray()).filter((c) => !seen.has(String(c._id)));
    if (cmds.length) this.pace.busy = true;
    for (const cmd of cmds) {
      // pbm's opid is the hex of the command's ObjectId.
      const id = typeof cmd._id?.toHexString === "function" ? cmd._id.toHexString() : String(cmd._id);
      await this.col(SEEN_CMDS).insertOne({ _id: String(cmd._id) });
      // Agents poll the command stream only while they run; a command sent with every agent down is lost.
      if (!this.allAgentsUp()) continue;
      switch (cmd.cmd) {
        case "backup":
          await this.startBackup(id, cmd.backup);
          break;
        case "resync":
          await this.resync(id);
          break;
        case "delete":
          await this.deleteBackups(id, cmd.delete);
          break;
        case "deletePitr":
          await this.deletePitr(id, cmd.deletePitr.olderthan);
          break;
        case "cleanup":
          await this.cleanup(id, tsSec(cmd.cleanup.olderThan));
          break;
        case "cancelBackup":
          await this.cancelBackup();
          break;
        case "restore":
          await this.startRestore(id, cmd.restore);
          break;
        case "pitrestore": // 1.x: a point-in-time restore is its own command
          await this.startRestore(id, { name: cmd.pitrestore.name, backupName: cmd.pitrestore.bcp, oplogTS: ts(Number(cmd.pitrestore.ts), Number(cmd.pitrestore.i ?? 1)) });
          break;
        case "addConfigProfile":
          await this.addProfile(id, cmd.profile);
          break;
        case "removeConfigProfile":
          await this.col("pbmConfig").deleteOne({ name: cmd.profile.name, profile: true });
          await this.col("pbmBackups").deleteMany({ "store.name": cmd.profile.name });
          break;
      }
    }
  }

  private async storageFor(profile?: string): Promise<{ conf: StorageConf; name?: string } | undefined> {
    if (profile && profile !== "main") {
      const p = await this.col("pbmConfig").findOne({ name: profile, profile: true });
      return p ? { conf: p.storage, name: profile } : undefined;
    }
    const main = await this.mainConfig();
    return main?.storage ? { conf: main.storage } : undefined;
  }

  private async startBackup(id: string, b: Record<string, any>): Promise<void> {
    const now = this.nowSec();
    const store = await this.storageFor(b.profile);
    const cfg = await this.mainConfig();
    const rsList = this.replsets();
    const lockHolder = rsList.map((rs) => ({ rs, node: this.worker(rs)! }));
    // pbm's own lock: one exclusive operation per replica set.
    try {
      for (const { rs, node } of lockHolder)
        await this.col("pbmLock").insertOne({ type: "backup", replset: rs.name, node: node.host, opid: id, epoch: cfg?.epoch, hb: ts(now) });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        // pbm's cluster leader checks for a live lock before it writes any metadata (startBcpLockCheck), so the
        // losing CLI waits for metadata that never comes ("no progress from leader, backup metadata not found").
        await this.col("pbmLock").deleteMany({ opid: id });
        await this.log({ s: 1, rs: rsList[0].name, node: lockHolder[0].node.host, e: "backup", eobj: b.name, opid: id, msg: "unable to proceed with the backup, active lock is present", ep: cfg?.epoch });
        return;
      }
      throw err;
    }
    const compression = b.compression || cfg?.backup?.compression || "s2";
    const meta = {
      type: b.type,
      opid: id,
      name: b.name,
      ...(b.nss?.length ? { nss: b.nss } : {}),
      ...(b.type === "incremental" && !b.base ? { src_backup: await this.lastIncrementalName() } : {}),
      replsets: lockHolder.map(({ rs, node }) => ({
        name: rs.name,
        // 2.x writes a directory per replica set; 1.x one dump file and one oplog file (getDstName).
        ...(this.f.backupDirPerReplset
          ? { dump_name: `${b.name}/${rs.name}/metadata.json`, oplog_name: `${b.name}/${rs.name}/oplog` }
          : { dump_name: `${b.name}_${rs.name}.dump${compressionExt(compression)}`, oplog_name: `${b.name}_${rs.name}.oplog${compressionExt(compression)}` }),
        start_ts: now,
        status: "running",
        size: 0,
        size_uncompressed: 0,
        last_transition_ts: now,
        first_write_ts: ts(1),
        last_write_ts: ts(1),
        node: node.host,
        ...(rs.configsvr ? { iscs: true } : {}),
        conditions: [{ timestamp: now, status: "running" }],
      })),
      compression,
      store: { ...(store?.name ? { name: store.name, profile: true } : {}), ...(store?.conf ?? {}) },
      size: 0,
      size_uncompressed: 0,
      mongodb_version: this.settings.mongodbVersion,
      fcv: await this.featureCompatibilityVersion(),
      start_ts: now,
      last_transition_ts: now,
      first_write_ts: ts(1),
      last_write_ts: ts(1),
      hb: ts(now),
      status: "running",
      conditions: [
        { timestamp: now, status: "starting" },
        { timestamp: now, status: "running" },
      ],
      n: [],
      pbm_version: this.version.raw,
      balancer: "",
    };
    await this.col("pbmBackups").insertOne(meta);
    await this.log({ s: 3, rs: rsList[0].name, node: lockHolder[0].node.host, e: "backup", eobj: b.name, opid: id, msg: "backup started" });
    const fail = this.settings.faults.failBackups;
    let failWith: string | undefined;
    if (fail && fail.count > 0) {
      failWith = fail.message;
      await this.col(SETTINGS).updateOne({ _id: "world" }, { $inc: { "faults.failBackups.count": -1 } });
    } else if (this.settings.faults.storage) failWith = this.storageFaultText("upload");
    await this.col(JOBS).insertOne({
      _id: id,
      kind: "backup",
      name: b.name,
      doneAt: now + this.settings.timings.backupSec,
      failAt: failWith ? now + Math.min(5, this.settings.timings.backupSec) : undefined,
      failWith,
    });
  }

  private async lastIncrementalName(): Promise<string> {
    const last = await this.col("pbmBackups").find({ type: "incremental", status: "done" }).sort({ start_ts: -1 }).limit(1).toArray();
    return last[0]?.name ?? "";
  }

  private async cancelBackup(): Promise<void> {
    const running = await this.col("pbmBackups").findOne({ status: { $in: ["starting", "running", "dumpDone"] } });
    if (!running) return;
    await this.finishBackup(running.opid, "canceled", "backup canceled");
  }

  private async progressJobs(): Promise<void> {
    const now = this.nowSec();
    const jobs = await this.col(JOBS).find({}).toArray();
    if (jobs.length) this.pace.busy = true;
    for (const job of jobs) {
      if (job.kind === "backup") {
        const meta = await this.col("pbmBackups").findOne({ opid: job._id });
        if (!meta || !["starting", "running", "dumpDone"].includes(meta.status)) {
          await this.col(JOBS).deleteOne({ _id: job._id });
          continue;
        }
        await this.col("pbmBackups").updateOne({ opid: job._id }, { $set: { hb: ts(now) } });
        await this.col("pbmLock").updateMany({ opid: job._id }, { $set: { hb: ts(now) } });
        if (job.failAt != null && now >= job.failAt) await this.finishBackup(job._id, "error", job.failWith);
        else if (now >= job.doneAt) await this.finishBackup(job._id, "done");
        else if (now >= job.doneAt - 5 && meta.status === "running" && meta.type === "logical")
          await this.col("pbmBackups").updateOne(
            { opid: job._id },
            {
              $set: { status: "dumpDone", last_transition_ts: now, replsets: meta.replsets.map((rs: Record<string, unknown>) => ({ ...rs, status: "dumpDone", last_transition_ts: now })) },
              $push: { conditions: { timestamp: now, status: "dumpDone" } } as any,
            },
          );
      } else if (job.kind === "restore") {
        // Heartbeats, so the CLI does not take the restore for stuck or its lock for stale.
        await this.col("pbmRestores").updateOne({ opid: job._id }, { $set: { hb: ts(now) } });
        await this.col("pbmLock").updateMany({ opid: job._id }, { $set: { hb: ts(now) } });
        if (now >= job.doneAt) await this.finishRestore(job._id);
      }
    }
  }

  private async finishBackup(id: string, status: "done" | "error" | "canceled", error?: string): Promise<void> {
    const meta = await this.col("pbmBackups").findOne({ opid: id });
    if (!meta) return;
    const job = await this.col(JOBS).findOne({ _id: id });
    const end = status === "done" ? Math.max(meta.start_ts + 1, (job?.doneAt ?? this.nowSec())) : this.nowSec();
    const lastWrite = status === "done" ? end - Math.min(5, Math.max(1, end - meta.start_ts - 1)) : 1;
    const set: Record<string, unknown> = { status, last_transition_ts: end, hb: ts(end) };
    if (error) set.error = error;
    if (status === "done") {
      const storage = this.storage(meta.store);
      const ext = compressionExt(meta.compression);
      let size = 0;
      const replsets = [];
      try {
        for (const rs of meta.replsets) {
          const files: { rel: string; body: string }[] = [];
          const nss: string[] = meta.nss?.length ? meta.nss : ["shop.orders", "shop.customers"];
          if (meta.type === "logical" && !this.f.backupDirPerReplset) {
            files.push({ rel: rs.dump_name, body: `simulated dump of ${nss.join(", ")}\n`.repeat(64) });
            files.push({ rel: rs.oplog_name, body: "simulated oplog\n" });
          } else if (meta.type === "logical") {
            files.push({ rel: `${meta.name}/${rs.name}/meta.pbm`, body: JSON.stringify({ simulated: true, namespaces: nss }) });
            files.push({ rel: `${meta.name}/${rs.name}/metadata.json`, body: "{}" });
            for (const ns of nss) files.push({ rel: `${meta.name}/${rs.name}/${ns.replace(".*", ".all")}${ext}`, body: `simulated dump of ${ns}\n`.repeat(64) });
            files.push({ rel: `${meta.name}/${rs.name}/oplog/${compact(meta.start_ts)}-1.${compact(lastWrite)}-1${ext}`, body: "simulated oplog\n" });
          } else {
            files.push({ rel: `${meta.name}/${rs.name}/collection-0-1.wt${ext}`, body: "simulated wiredtiger file\n".repeat(128) });
            files.push({ rel: `${meta.name}/${rs.name}/filelist.pbm`, body: "simulated file list" });
          }
          await storage.putMany(files);
          const rsSize = files.reduce((n, f) => n + f.body.length, 0);
          size += rsSize;
          replsets.push({ ...rs, status: "done", size: rsSize, size_uncompressed: rsSize * 4, last_transition_ts: end, first_write_ts: ts(meta.start_ts), last_write_ts: ts(lastWrite), conditions: [...rs.conditions, { timestamp: end, status: "done" }] });
        }
        Object.assign(set, { replsets, size, size_uncompressed: size * 4, first_write_ts: ts(meta.start_ts), last_write_ts: ts(lastWrite) });
        const finalMeta = { ...meta, ...set, conditions: [...meta.conditions, { timestamp: end, status: "done" }] };
        delete (finalMeta as Record<string, unknown>)._id;
        await storage.put(`${meta.name}.pbm.json`, JSON.stringify(metaToJson(finalMeta, this.f), null, "\t"));
        // A logical backup's own oplog slices are copied into pbmPitr/, so PITR has no gap (reference §3.1).
      } catch (err) {
        set.status = "error";
        set.error = `upload to storage: ${storageErrorText(err)}`;
      }
    } else {
      set["replsets"] = meta.replsets.map((rs: Record<string, unknown>) => ({ ...rs, status, error, last_transition_ts: end }));
    }
    await this.col("pbmBackups").updateOne({ opid: id }, { $set: set, $push: { conditions: { timestamp: end, status: set.status, ...(set.error ? { error: set.error } : {}) } } as any });
    await this.col("pbmLock").deleteMany({ opid: id });
    await this.col(JOBS).deleteOne({ _id: id });
    const msg = set.status === "done" ? "backup finished" : set.status === "canceled" ? "backup was canceled" : `backup: ${set.error}`;
    await this.log({ s: set.status === "error" ? 1 : 3, rs: meta.replsets[0]?.name, node: meta.replsets[0]?.node, e: "backup", eobj: meta.name, opid: id, msg });
  }

  // ---- PITR ----

  /** The newest done backup usable as a PITR base (reference §3.1). */
  async lastBase(beforeOrAt?: number): Promise<Record<string, any> | null> {
    const filter: Record<string, unknown> = { status: "done", type: { $ne: "external" } };
    const all = await this.col("pbmBackups").find(filter).sort({ start_ts: -1 }).toArray();
    return (
      all.find(
        (b) =>
          !(b.nss && b.nss.length) &&
          !b.store?.profile &&
          (beforeOrAt === undefined || tsSec(b.last_write_ts) <= beforeOrAt) &&
          (this.f.physicalPitrBase || b.type === "logical"),
      ) ?? null
    );
  }

  private async slicePitr(): Promise<void> {
    const cfg = await this.mainConfig();
    const now = this.nowSec();
    if (!cfg?.pitr?.enabled || !cfg.storage) {
      for (const rs of this.replsets()) await this.stopSlicing(rs.name, now);
      return;
    }
    const span = Math.max(1, Math.round(Number(cfg.pitr.oplogSpanMin ?? 10) * 60));
    const compression = cfg.pitr.compression ?? cfg.backup?.compression ?? "s2";
    const base = await this.lastBase();
    const running = await this.col("pbmBackups").findOne({ status: { $in: ["starting", "running", "dumpDone"] }, type: "logical", "store.profile": { $ne: true } });
    const storage = this.storage(cfg.storage);
    for (const rs of this.replsets()) {
      const node = this.worker(rs);
      if (!node) {
        await this.stopSlicing(rs.name, now);
        continue;
      }
      if (!base && !cfg.pitr.oplogOnly) {
        await this.stopSlicing(rs.name, now, false);
        await this.logPitrErrorOnce(rs.name, node.host, cfg.epoch, this.f.pitrCatchupMessage);
        continue;
      }
      if (this.settings.faults.storage) {
        await this.stopSlicing(rs.name, now, false);
        await this.logPitrErrorOnce(rs.name, node.host, cfg.epoch, `init: catchup: ${this.storageFaultText("upload")}`);
        continue;
      }
      // The slicer's catch-up: after a restore, only a backup started later can be a base again (every release).
      const restored = (await this.col("pbmRestores").find({ status: "done" }).sort({ start_ts: -1 }).limit(1).toArray())[0];
      if (base && restored && base.start_ts < restored.start_ts && !cfg.pitr.oplogOnly) {
        await this.stopSlicing(rs.name, now, false);
        await this.logPitrErrorOnce(rs.name, node.host, cfg.epoch, `init: catchup: no backup found after the restored ${restored.backup}, a new backup is required to resume PITR`);
        continue;
      }
      await this.holdSlicerLock(rs.name, node.host, now, cfg.epoch);
      // A logical backup on the same storage pauses slicing: the slicer cuts a last chunk at the backup's start.
      const until = running ? Math.min(now, running.start_ts) : now;
      const last = (await this.col("pbmPITRChunks").find({ rs: rs.name }).sort({ end_ts: -1 }).limit(1).toArray())[0];
      const baseEnd = base ? tsSec(base.last_write_ts) : undefined;
      let start: number;
      const enabledAt = tsSec(cfg.epoch) || now;
      const chunks: Record<string, unknown>[] = [];
      const files: { rel: string; body: string }[] = [];
      const addChunk = (from: number, to: number) => {
        const s = ts(from, 1);
        const e = ts(to, 1);
        const fname = chunkPath(rs.name, s, e, compression);
        chunks.push({ rs: rs.name, fname, compression, start_ts: s, end_ts: e, size: 512 });
        files.push({ rel: fname, body: "simulated oplog chunk\n".repeat(23).slice(0, 512) });
      };
      if (last && (baseEnd === undefined || tsSec(last.end_ts) >= baseEnd)) start = tsSec(last.end_ts);
      else if (last && base && base.type === "logical" && tsSec(last.end_ts) >= base.start_ts - span) {
        // The slicer cut a last chunk at the backup's start and the backup's own oplog is copied into
        // pbmPitr/ afterwards, so the timeline runs on without a gap (reference §3.1).
        addChunk(tsSec(last.end_ts), baseEnd!);
        start = baseEnd!;
      } else if (baseEnd !== undefined) start = baseEnd;
      else start = enabledAt;
      // After an observed interruption, oplog older than the window is gone: slicing resumes with a gap.
      const interrupted = this.settings.pitrInterrupted?.[rs.name];
      const windowStart = now - this.settings.oplogWindowMin * 60;
      if (interrupted !== undefined && start < windowStart) start = Math.max(windowStart, baseEnd ?? windowStart);
      if (interrupted !== undefined) await this.col(SETTINGS).updateOne({ _id: "world" }, { $unset: { [`pitrInterrupted.${rs.name}`]: "" } });
      while (start + span <= until && chunks.length < 200_000) {
        addChunk(start, start + span);
        start += span;
      }
      if (running && start < until) addChunk(start, until);
      // The next chunk, and the next heartbeat: the slicer's lock (pbmLockOp) beats with the agents.
      this.pace.dueSec = Math.min(this.pace.dueSec, start + span, this.lastBeat?.next ?? Infinity);
      if (chunks.length) {
        await storage.putMany(files, 32);
        await this.col("pbmPITRChunks").insertMany(chunks, { ordered: false }).catch((err) => {
          if ((err as { code?: number }).code !== 11000) throw err;
        });
        const lastChunk = chunks[chunks.length - 1];
        await this.log({ s: 4, rs: rs.name, node: node.host, e: "pitr", msg: `created chunk ${rfc3339(tsSec(chunks[0].start_ts as Timestamp))} - ${rfc3339(tsSec(lastChunk.end_ts as Timestamp))}. Next chunk creation scheduled to begin at ~${rfc3339(tsSec(lastChunk.end_ts as Timestamp) + span)}`, ep: cfg.epoch });
      }
    }
  }

  /**
   * The slicer of a replica set runs on `node`: its op-lock in pbmLockOp (heartbeat = cluster time; the CLI's
   * `status` pitr.run is "a PITR lock younger than 30 s"), its nomination acknowledged in pbmPITR (`status`
   * pitr.nodes = `<rs>/<ack>`), and, when it (re)starts, the slicer's Debug `start_ok` entry in pbmLog, which
   * makes `status` stop showing an older catch-up error of the same epoch (cmd/pbm/status.go getPitrErr).
   */
  private async holdSlicerLock(rs: string, node: string, now: number, epoch: Timestamp | undefined): Promise<void> {
    const held = await this.col("pbmLockOp").findOne({ replset: rs, type: "pitr" });
    await this.col("pbmLockOp").updateOne(
      { replset: rs, type: "pitr" },
      { $set: { type: "pitr", replset: rs, node, ...(epoch ? { epoch } : {}), hb: ts(now) } },
      { upsert: true },
    );
    const meta = await this.col("pbmPITR").findOne({});
    const others = (list: Record<string, any>[] | undefined, key: string) => (list ?? []).filter((x) => x[key] !== rs);
    await this.col("pbmPITR").updateOne(
      {},
      {
        $set: {
          start_ts: meta?.start_ts ?? Math.floor(Date.now() / 1000), // pbm stamps it with the agent's wall clock
          hb: ts(now),
          status: "running",
          n: [...others(meta?.n, "rs"), { rs, n: [node], ack: node }],
          replsets: [...others(meta?.replsets, "name"), { name: rs, node, status: "running" }],
        },
      },
      { upsert: true },
    );
    if (held && held.node === node && now - tsSec(held.hb) <= 30) return;
    // The CLI compares the ObjectId times of `start_ok` and of the last error entry: start_ok must be later.
    const lastErr = (await this.col("pbmLog").find({ e: "pitr", s: 1, rs }).sort({ _id: -1 }).limit(1).toArray())[0];
    const after = lastErr ? (lastErr._id as ObjectId).getTimestamp().getTime() / 1000 + 1 : 0;
    await this.log({ s: 4, rs, node, e: "pitr", msg: "start_ok", ep: epoch }, Math.max(after, Date.now() / 1000));
  }

  /** The slicer of a replica set is not running: no op-lock, no acknowledged node. */
  private async stopSlicing(rs: string, now: number, interrupted = true): Promise<void> {
    // Read first: an idle cluster with PITR off (or without a base) would otherwise write twice on every tick.
    if (await this.col("pbmLockOp").findOne({ type: "pitr", replset: rs })) await this.col("pbmLockOp").deleteMany({ type: "pitr", replset: rs });
    if (await this.col("pbmPITR").findOne({ $or: [{ "n.rs": rs }, { "replsets.name": rs }] }))
      await this.col("pbmPITR").updateOne({}, { $pull: { n: { rs }, replsets: { name: rs } } as any });
    if (interrupted) await this.markInterrupted(rs, now);
  }

  /** Remembers that slicing stopped on a replica set (agents down or PITR off), for the oplog window. */
  private async markInterrupted(rs: string, now: number): Promise<void> {
    if (this.settings.pitrInterrupted?.[rs] !== undefined) return;
    await this.col(SETTINGS).updateOne({ _id: "world" }, { $set: { [`pitrInterrupted.${rs}`]: now } }, { upsert: true });
    this.settings.pitrInterrupted = { ...(this.settings.pitrInterrupted ?? {}), [rs]: now };
  }

  private async logPitrErrorOnce(rs: string, node: string, epoch: Timestamp | undefined, msg: string): Promise<void> {
    // Real agents repeat the error every check (15 s); once per epoch, and again after a successful start, is
    // what `pbm status` can tell apart.
    const ep = epoch ?? new Timestamp({ t: 0, i: 0 });
    const newest = async (q: Record<string, unknown>) => (await this.col("pbmLog").find({ e: "pitr", rs, ep, ...q }).sort({ _id: -1 }).limit(1).toArray())[0];
    const existing = await newest({ s: 1, msg });
    const started = await newest({ s: 4, msg: "start_ok" });
    if (!existing || (started && String(started._id) > String(existing._id))) await this.log({ s: 1, rs, node, e: "pitr", msg, ep: epoch });
  }

  // ---- resync, delete, cleanup, profiles ----

  private async resync(id: string): Promise<void> {
    const cfg = await this.mainConfig();
    if (!cfg?.storage) return;
    const rs = this.replsets()[0];
    const node = this.worker(rs)!;
    await this.log({ s: 3, rs: rs.name, node: node.host, e: "resync", opid: id, msg: "started" });
    if (this.settings.faults.storage) {
      await this.log({ s: 1, rs: rs.name, node: node.host, e: "resync", opid: id, msg: this.storageFaultText("stat") });
      return;
    }
    const storage = this.storage(cfg.storage);
    try {
      await storage.put(".pbm.init", this.version.raw);
      const objects = await storage.list("");
      const metas = objects.filter((o) => o.key.endsWith(".pbm.json") && !o.key.includes("/"));
      await this.col("pbmBackups").deleteMany({ "store.profile": { $ne: true } });
      for (const m of metas) {
        const text = await storage.get(m.key);
        if (!text) continue;
        await this.col("pbmBackups").insertOne(metaFromJson(JSON.parse(text), cfg.storage));
      }
      await this.col("pbmPITRChunks").deleteMany({});
      const chunks = objects.filter((o) => o.key.startsWith("pbmPitr/")).map((o) => chunkFromPath(o.key, o.size)).filter(Boolean);
      if (chunks.length) await this.col("pbmPITRChunks").insertMany(chunks as Record<string, unknown>[]);
      await this.col("pbmRestores").deleteMany({});
      await this.log({ s: 3, rs: rs.name, node: node.host, e: "resync", opid: id, msg: "succeed" });
    } catch (err) {
      await this.log({ s: 1, rs: rs.name, node: node.host, e: "resync", opid: id, msg: `storage check failed with: ${storageErrorText(err)}` });
    }
  }

  private async withOpLock(id: string, type: string, fn: () => Promise<void>): Promise<void> {
    const rs = this.replsets()[0];
    const node = this.worker(rs)!;
    try {
      await this.col("pbmLock").insertOne({ type, replset: rs.name, node: node.host, opid: id, hb: ts(this.nowSec()) });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        await this.log({ s: 1, rs: rs.name, node: node.host, e: type, opid: id, msg: "unable to acquire lock: another operation in progress" });
        return;
      }
      throw err;
    }
    try {
      await fn();
    } finally {
      await this.col("pbmLock").deleteMany({ opid: id });
    }
  }

  async backupFiles(storage: Storage, name: string): Promise<string[]> {
    const objs = [...(await storage.list(`${name}/`)), ...(await storage.list(`${name}_`))];
    return [...objs.map((o) => o.key), `${name}.pbm.json`];
  }

  private async removeBackup(meta: Record<string, any>): Promise<void> {
    const storage = this.storage(meta.store);
    await storage.remove(await this.backupFiles(storage, meta.name));
    await this.col("pbmBackups").deleteOne({ name: meta.name });
  }

  private async deleteBackups(id: string, d: Record<string, any>): Promise<void> {
    await this.withOpLock(id, "delete", async () => {
      if (d.backup) {
        const meta = await this.col("pbmBackups").findOne({ name: d.backup });
        if (!meta) return;
        const chain = meta.type === "incremental" ? await this.incrementalChain(meta.name) : [meta];
        for (const m of chain) await this.removeBackup(m);
      } else {
        for (const m of await this.deletableOlderThan(d.olderthan, d.type, d.profile)) await this.removeBackup(m);
      }
      await this.log({ s: 3, e: "delete", opid: id, msg: "done" });
    });
  }

  async incrementalChain(baseName: string): Promise<Record<string, any>[]> {
    const out: Record<string, any>[] = [];
    let cur = await this.col("pbmBackups").findOne({ name: baseName });
    while (cur) {
      out.push(cur);
      cur = await this.col("pbmBackups").findOne({ src_backup: cur.name });
    }
    return out;
  }

  /** Backups `delete-backup --older-than` removes: done/error/canceled ones before the time, keeping the last PITR base while PITR is on. */
  async deletableOlderThan(olderThan: number, type?: string, profile?: string): Promise<Record<string, any>[]> {
    const cfg = await this.mainConfig();
    const all = await this.col("pbmBackups").find({ start_ts: { $lt: olderThan }, status: { $in: ["done", "error", "canceled"] } }).sort({ start_ts: 1 }).toArray();
    const base = cfg?.pitr?.enabled ? await this.lastBase() : null;
    return all.filter((b) => {
      if (base && b.name === base.name) return false;
      if (type === "selective") return !!b.nss?.length;
      if (type && b.type !== type) return false;
      if (profile && profile !== "main") return b.store?.name === profile;
      if (profile === "main" && b.store?.profile) return false;
      return true;
    });
  }

  private async deletePitr(id: string, olderThan: number): Promise<void> {
    await this.withOpLock(id, "deletePitr", async () => {
      const chunks = await this.pitrChunksDeletable(olderThan);
      const cfg = await this.mainConfig();
      if (cfg?.storage) await this.storage(cfg.storage).remove(chunks.map((c) => c.fname));
      if (chunks.length) await this.col("pbmPITRChunks").deleteMany({ _id: { $in: chunks.map((c) => c._id) } });
    });
  }

  /** Chunks that end before the time and are not needed by the newest base's range. */
  async pitrChunksDeletable(olderThan: number): Promise<Record<string, any>[]> {
    const base = await this.lastBase();
    const keepFrom = base ? Math.min(olderThan, tsSec(base.last_write_ts)) : olderThan;
    return this.col("pbmPITRChunks").find({ end_ts: { $lte: ts(keepFrom, 1) } }).toArray();
  }

  private async cleanup(id: string, olderThan: number): Promise<void> {
    await this.withOpLock(id, "cleanup", async () => {
      const keepBase = await this.lastBase(olderThan);
      for (const m of await this.deletableOlderThan(olderThan)) if (!keepBase || m.name !== keepBase.name) await this.removeBackup(m);
      const keepFrom = keepBase ? tsSec(keepBase.last_write_ts) : olderThan;
      const chunks = await this.col("pbmPITRChunks").find({ end_ts: { $lte: ts(Math.min(olderThan, keepFrom), 1) } }).toArray();
      const cfg = await this.mainConfig();
      if (cfg?.storage) await this.storage(cfg.storage).remove(chunks.map((c) => c.fname));
      if (chunks.length) await this.col("pbmPITRChunks").deleteMany({ _id: { $in: chunks.map((c) => c._id) } });
    });
  }

  private async addProfile(id: string, p: Record<string, any>): Promise<void> {
    const rs = this.replsets()[0];
    const node = this.worker(rs)!;
    if (this.settings.faults.storage) {
      await this.log({ s: 1, rs: rs.name, node: node.host, e: "addConfigProfile", opid: id, msg: `failed to add config profile: ${this.storageFaultText("stat")}` });
      return;
    }
    try {
      const storage = this.storage(p.storage);
      if (!(await storage.head(".pbm.init"))) await storage.put(".pbm.init", this.version.raw);
    } catch (err) {
      await this.log({ s: 1, rs: rs.name, node: node.host, e: "addConfigProfile", opid: id, msg: `failed to add config profile: storage check failed with: ${storageErrorText(err)}` });
      return;
    }
    await this.col("pbmConfig").deleteOne({ name: p.name, profile: true });
    await this.col("pbmConfig").insertOne({ name: p.name, profile: true, storage: p.storage });
    await this.log({ s: 3, rs: rs.name, node: node.host, e: "addConfigProfile", opid: id, msg: "profile saved" });
  }

  // ---- restores ----

  private async startRestore(id: string, r: Record<string, any>): Promise<void> {
    const now = this.nowSec();
    const target: Timestamp | undefined = r.oplogTS && tsSec(r.oplogTS) ? r.oplogTS : undefined;
    // With no base named, the leader picks the newest base whose last write is before the target (≤ 2.2; the
    // 2.3+ CLI names it itself, and refuses with "no base snapshot found" when there is none).
    const backup = r.backupName ? await this.col("pbmBackups").findOne({ name: r.backupName }) : target ? await this.lastBase(tsSec(target)) : null;
    const rsNames = this.replsets().map((rs) => rs.name);
    const leader = this.worker(this.replsets()[0])!;
    const cfg = await this.mainConfig();
    // The agents validate before they restore anything; such a failure ends the restore at once (the CLI then
    // prints it while waiting for the start, reference §3.5).
    let error: string | undefined;
    if (!backup) error = `no backup found before ts {${tsSec(target)} ${target?.getLowBits() ?? 0}}`;
    else if (target && compareTs(backup.last_write_ts, target) > 0)
      error = "snapshot's last write is later than the target time. Try to set an earlier snapshot. Or leave the snapshot empty so PBM will choose one.";
    else if (target) error = await this.pitrCoverageError(backup.last_write_ts, target);
    if (!error && this.settings.faults.storage) error = this.storageFaultText("stat");
    const status = error ? "error" : "running";
    const conditions = [{ timestamp: now, status: "starting" }, { timestamp: now, status, ...(error ? { error } : {}) }];
    // RestoreMeta (pbm/restore/types.go) as describe-restore, `list --restore` and `status` read it.
    await this.col("pbmRestores").insertOne({
      name: r.name,
      opid: id,
      backup: backup?.name ?? r.backupName ?? "",
      bcp_chain: [],
      ...(r.nss?.length ? { nss: r.nss } : {}),
      start_pitr: backup ? tsSec(backup.last_write_ts) : 0,
      pitr: target ? tsSec(target) : 0,
      replsets: rsNames.map((name) => ({ name, start_ts: now, status, last_transition_ts: now, ...(error ? { error } : {}), conditions, hb: ts(now) })),
      hb: ts(now),
      start_ts: now,
      last_transition_ts: now,
      status,
      ...(error ? { error } : {}),
      conditions,
      type: backup?.type === "physical" || backup?.type === "incremental" ? "physical" : "logical",
      l: leader.host,
    });
    await this.log({ s: 3, rs: rsNames[0], node: leader.host, e: "restore", eobj: r.name, opid: id, msg: "recovery started", ep: cfg?.epoch });
    if (error) {
      await this.log({ s: 1, rs: rsNames[0], node: leader.host, e: "restore", eobj: r.name, opid: id, msg: `restore: ${error}`, ep: cfg?.epoch });
      return;
    }
    // pbm's restore lock (one exclusive operation per replica set); the CLI checked it was free.
    try {
      for (const rs of this.replsets())
        await this.col("pbmLock").insertOne({ type: "restore", replset: rs.name, node: this.worker(rs)!.host, opid: id, ...(cfg?.epoch ? { epoch: cfg.epoch } : {}), hb: ts(now) });
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      await this.col("pbmLock").deleteMany({ opid: id });
      await this.finishRestore(id, "unable to acquire lock: another operation in progress");
      return;
    }
    // The leader turns PITR off for the restore (2.4+) and it stays off.
    await this.col("pbmConfig").updateOne({ profile: null, "pitr.enabled": true }, { $set: { "pitr.enabled": false } });
    await this.col(JOBS).insertOne({ _id: id, kind: "restore", doneAt: now + this.settings.timings.restoreSec });
  }

  /**
   * Why the chunks from the base's last write to the target cannot be replayed, per replica set: pbm's own
   * checks in order (pbm/restore/restore.go `chunks`, reference §3.5), Go's `%v` of a timestamp being `{T I}`.
   */
  private async pitrCoverageError(from: Timestamp, to: Timestamp): Promise<string | undefined> {
    const v = (t: Timestamp) => `{${tsSec(t)} ${t.getLowBits()}}`;
    for (const rs of this.replsets()) {
      const chunks = (await this.col("pbmPITRChunks").find({ rs: rs.name, end_ts: { $gte: from }, start_ts: { $lte: to } }).toArray()).sort((a, b) =>
        compareTs(a.start_ts, b.start_ts),
      );
      if (chunks.length === 0) return "no chunks found";
      const lastEnd: Timestamp = chunks[chunks.length - 1].end_ts;
      if (compareTs(lastEnd, to) < 0) return `no chunk with the target time, the last chunk ends on ${v(lastEnd)}`;
      let last = from;
      for (const c of chunks) {
        if (compareTs(last, c.start_ts) < 0) return `integrity vilolated, expect chunk with start_ts ${v(last)}, but got ${v(c.start_ts)}`;
        last = c.end_ts;
      }
    }
    return undefined;
  }

  private async finishRestore(id: string, failure?: string): Promise<void> {
    const job = await this.col(JOBS).findOne({ _id: id });
    const error: string | undefined = failure ?? job?.error;
    const now = this.nowSec();
    const status = error ? "error" : "done";
    const current = await this.col("pbmRestores").findOne({ opid: id });
    const condition = { timestamp: now, status, ...(error ? { error } : {}) };
    await this.col("pbmRestores").updateOne(
      { opid: id },
      {
        $set: {
          status,
          ...(error ? { error } : {}),
          last_transition_ts: now,
          hb: ts(now),
          replsets: (current?.replsets ?? []).map((rs: Record<string, any>) => ({
            ...rs,
            status,
            last_transition_ts: now,
            hb: ts(now),
            conditions: [...(rs.conditions ?? []), condition],
            ...(error ? { error } : {}),
          })),
        },
        $push: { conditions: condition } as any,
      },
    );
    await this.col("pbmLock").deleteMany({ opid: id });
    await this.col(JOBS).deleteOne({ _id: id });
    await this.log({ s: error ? 1 : 3, rs: current?.replsets?.[0]?.name, node: current?.l, e: "restore", eobj: current?.name, opid: id, msg: error ? `restore: ${error}` : "recovery successfully finished" });
  }
}

/** Backup metadata as pbm writes `<name>.pbm.json` (JSON tags; credentials masked or omitted). */
export function metaToJson(meta: Record<string, any>, f: Features): Record<string, unknown> {
  const tsJson = (t: Timestamp | undefined) => ({ T: tsSec(t), I: t ? t.getLowBits() : 0 });
  const store = structuredClone(meta.store ?? {});
  if (store.s3?.credentials) {
    if (f.maskJson) for (const k of Object.keys(store.s3.credentials)) if (typeof store.s3.credentials[k] === "string" && store.s3.credentials[k]) store.s3.credentials[k] = "***";
    if (!f.maskJson) delete store.s3.credentials;
  }
  return {
    type: meta.type,
    opid: meta.opid,
    name: meta.name,
    ...(meta.src_backup ? { src_backup: meta.src_backup } : {}),
    ...(meta.nss ? { nss: meta.nss } : {}),
    replsets: meta.replsets.map((rs: Record<string, any>) => ({
      name: rs.name,
      backup_name: rs.dump_name,
      oplog_name: rs.oplog_name,
      start_ts: rs.start_ts,
      status: rs.status,
      size: rs.size,
      size_uncompressed: rs.size_uncompressed,
      last_transition_ts: rs.last_transition_ts,
      first_write_ts: tsJson(rs.first_write_ts),
      last_write_ts: tsJson(rs.last_write_ts),
      node: rs.node,
      conditions: rs.conditions,
    })),
    compression: meta.compression,
    store,
    size: meta.size,
    size_uncompressed: meta.size_uncompressed,
    mongodb_version: meta.mongodb_version,
    fcv: meta.fcv,
    start_ts: meta.start_ts,
    last_transition_ts: meta.last_transition_ts,
    first_write_ts: tsJson(meta.first_write_ts),
    last_write_ts: tsJson(meta.last_write_ts),
    hb: tsJson(meta.hb),
    status: meta.status,
    conditions: meta.conditions,
    pbm_version: meta.pbm_version,
  };
}

function metaFromJson(j: Record<string, any>, storage: unknown): Record<string, unknown> {
  const t = (x: { T: number; I: number } | undefined) => new Timestamp({ t: x?.T ?? 0, i: x?.I ?? 0 });
  return {
    ...j,
    store: storage,
    replsets: (j.replsets ?? []).map((rs: Record<string, any>) => ({ ...rs, dump_name: rs.backup_name, first_write_ts: t(rs.first_write_ts), last_write_ts: t(rs.last_write_ts) })),
    first_write_ts: t(j.first_write_ts),
    last_write_ts: t(j.last_write_ts),
    hb: t(j.hb),
  };
}

/** Parses `pbmPitr/<rs>/<day>/<start>-<I>.<end>-<I>.oplog<ext>` (reference §5). */
export function chunkFromPath(key: string, size: number): Record<string, unknown> | undefined {
  const m = /^pbmPitr\/([^/]+)\/\d{8}\/(\d{14})-(\d+)\.(\d{14})-(\d+)\.oplog(\.\w+)?$/.exec(key);
  if (!m) return undefined;
  const parse = (s: string) =>
    Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000;
  const ext = m[6] ?? "";
  const compression = Object.entries(EXT).find(([, e]) => e === ext)?.[0] ?? "none";
  return { rs: m[1], fname: key, compression, start_ts: ts(parse(m[2]), +m[3]), end_ts: ts(parse(m[4]), +m[5]), size };
}
