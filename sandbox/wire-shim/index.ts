// The wire shim: a loopback TCP proxy in front of one FerretDB 1.24 that supplies only what the real `pbm` CLI
// and agents (Go, mongo-go-driver) need from a replica set member and FerretDB lacks. Everything else passes
// through byte for byte: of the replies to the client's requests only those to hello/isMaster/buildInfo are
// parsed, never a big reply.
//
// What it fakes, and why:
// - `$clusterTime` + `operationTime` on hello/isMaster replies: pbm's topo.GetClusterTime reads
//   `$clusterTime.clusterTime` from `hello`; without it every pbm write fails with
//   `get cluster time: No clusterTime in response`.
// - `hosts`, `arbiters`, `me`, `primary`, `setName`, `setVersion`, `electionId`, `isWritablePrimary`/`ismaster`,
//   `secondary`, `hidden`, `arbiterOnly`, `lastWrite` on hello/isMaster replies: pbm's NodeInfo takes the
//   replica set's host list (topo.ClusterMembers), the node's name (`me`, the agent's identity) and the
//   last-write optimes from them. `configsvr: 2` when the topology is a config server replica set.
// - `compression` removed from hello replies: keeps later messages uncompressed, so command names stay readable.
// - `replSetGetStatus` and `replSetGetConfig`, answered here and never forwarded (FerretDB has neither):
//   full `pbm status` reads the config (cli.RSConfGetter), agents' heartbeats read the status
//   (topo.GetNodeStatus, topo.ReplicationLag).
// - `version`/`versionArray` in buildInfo replies: pbm checks the server version (PBMSupport) and records it;
//   FerretDB says 7.0.77.
// - a listener on each member host of the form 127.x.y.z:<listenPort>: full `pbm status` dials every host in
//   `hello.hosts` (all of them in one URI, so not with directConnection=true), and each member must answer
//   with its own `me`. A connection speaks as the member whose host it dialled, otherwise as the primary.
// - tailable (awaitData) cursors, emulated (tailable.ts): FerretDB's close after the first batch and fail the next
//   getMore, so pbm's log.Follow (every `--wait`, `logs --follow`) returned at once as if the operation succeeded.
// - a createIndexes naming several indexes, sent one index at a time (splitIndexes.ts): FerretDB drops the
//   connection when all of them exist already, which broke every pbm 1.8.1 command after the first.
// - writes (insert, update, delete, findAndModify) run one at a time per cluster: FerretDB 1.24 applies a
//   conditional update as a read followed by a write, so two findAndModify calls on one document both "won"
//   in every one of 20 rounds (measured). MongoDB makes each single-document write atomic, and pbm's locks,
//   the runner's leases and the registry's guards rely on that.
//
// How the shim sends requests of its own (both emulations re-query FerretDB): on the client connection's own
// upstream socket, already authenticated as the client (FerretDB runs SCRAM and the shim holds no credentials),
// while it answers that client's request. Drivers send one request at a time per connection and wait for its
// reply, so the socket is idle then; client frames that arrive anyway wait in a queue until the answer is sent.
// The shim's requests use requestIds from OWN_REQUEST_IDS up, and their replies never reach the client. Only
// these commands' bodies are decoded (find, getMore, killCursors, createIndexes: small requests).
//
// Not faked, because FerretDB 1.24 accepts it (measured): `$clusterTime` gossip and `readConcern.afterClusterTime`
// in requests pass through unchanged.
import { createServer, connect, type Server, type Socket } from "node:net";
import { Binary, Double, Long, ObjectId, Timestamp, type BSON } from "mongodb";
import {
  FrameSplitter,
  MSG_MORE_TO_COME,
  OP_MSG,
  OP_QUERY,
  buildMsg,
  buildReply,
  commandTarget,
  decodeMsgBody,
  decodeReply,
  peekCommand,
  readHeader,
  replaceMsgBody,
  replaceReplyDoc,
} from "./protocol";
import { createIndexesOneByOne, needsSplit } from "./splitIndexes";
import { TailableCursors, type Exchange } from "./tailable";

export interface ShimTopology {
  setName: string;
  configsvr?: boolean;
  /**
   * P primary, S secondary, H hidden secondary, A arbiter. A connection speaks as the member whose host it
   * dialled, otherwise as the first P. Hosts pbm must dial (every P and S: full `pbm status` connects to all of
   * hello.hosts) must be reachable: use 127.x.y.z:<listenPort>, which the shim listens on.
   */
  members: { host: string; role: "P" | "S" | "H" | "A" }[];
}

export interface WireShimOptions {
  /** The FerretDB to forward to. */
  upstream: { host: string; port: number };
  /** Loopback port to listen on (127.0.0.1 and each 127.x.y.z member host on it); default a free one. */
  listenPort?: number;
  /** The simulated cluster clock: seconds and increment. Read on every hello and replSetGet* answer. */
  clusterTime: () => { t: number; i: number };
  /** The replica set as pbm agents see it (member hosts such as mongo1:27017). Read on every answer. */
  topology: () => ShimTopology;
  /** MongoDB version to report in buildInfo, e.g. "8.0.4". */
  mongodbVersion: () => string;
  /** Told the collection of every client write (insert, update, delete, findAndModify) once it is answered. */
  onWrite?: (collection: string) => void;
}

export interface WireShim {
  port: number;
  close(): Promise<void>;
}

/** Replies the shim patches, by the request's command. */
type Patch = "hello" | "isMaster" | "buildInfo";

const HELLO_COMMANDS: Record<string, Patch> = { hello: "hello", ismaster: "isMaster", buildinfo: "buildInfo" };
const LOCAL_COMMANDS = new Set(["replsetgetstatus", "replsetgetconfig"]);
/** Commands whose body the shim reads to decide whether it answers them itself (tailable.ts, splitIndexes.ts). */
const EMULATED_COMMANDS = new Set(["find", "getmore", "killcursors", "createindexes"]);
/** requestIds of the shim's own upstream requests start here, far above any driver's counter. */
const OWN_REQUEST_IDS = 0x40000000;
/** The term every faked optime carries; the set never holds an election. */
const TERM = 1;
const CONFIG_VERSION = 1;
const STARTED = Date.now();

export async function startWireShim(o: WireShimOptions): Promise<WireShim> {
  const sockets = new Set<Socket>();
  const tailable = new TailableCursors();
  const writes = new WriteQueue();
  let nextRequestId = 1;
  let nextOwnRequestId = OWN_REQUEST_IDS;
  const onConnection = (client: Socket) => {
    const upstream = connect({ host: o.upstream.host, port: o.upstream.port, noDelay: true });
    sockets.add(client).add(upstream);
    // The member this connection reached: the one whose host is the address the client dialled, else the primary.
    const dialled = `${client.localAddress?.replace(/^::ffff:/, "")}:${client.localPort}`;
    // requestId → what to patch in its reply; exhaust replies (moreToCome) re-register under their own id.
    const pending = new Map<number, Patch>();
    // The shim's own requests on this connection's upstream socket, by requestId.
    const own = new Map<number, { resolve: (doc: BSON.Document) => void; reject: (err: Error) => void }>();
    // While the shim answers a request itself (busy), later client frames wait here, in order.
    let busy = false;
    const queued: Buffer[] = [];
    let closed = false;
    // The write this connection is waiting on (its requestId) and the release of the cluster's write turn.
    let write: { requestId: number; release: () => void; collection: string } | undefined;
    const endWrite = () => {
      const done = write;
      write?.release();
      write = undefined;
      if (done?.collection) o.onWrite?.(done.collection);
      busy = false;
      while (!busy && queued.length) onClientFrame(queued.shift()!);
    };
    const fromClient = new FrameSplitter();
    const fromServer = new FrameSplitter();
    const fail = () => (client.destroy(), upstream.destroy());
    const onClose = () => {
      closed = true;
      write?.release();
      write = undefined;
      for (const w of own.values()) w.reject(new Error("wire shim: connection closed"));
      own.clear();
    };
    client.on("close", () => (onClose(), upstream.destroy(), sockets.delete(client)));
    upstream.on("close", () => (onClose(), client.destroy(), sockets.delete(upstream)));
    client.on("error", fail);
    upstream.on("error", fail);

    const exchange: Exchange = (command) =>
      new Promise((resolve, reject) => {
        if (closed) return reject(new Error("wire shim: connection closed"));
        const id = nextOwnRequestId;
        nextOwnRequestId = nextOwnRequestId >= 0x7ffffff0 ? OWN_REQUEST_IDS : nextOwnRequestId + 1;
        own.set(id, { resolve, reject });
        upstream.write(buildMsg(id, 0, command));
      });

    /** The shim's own answer to an OP_MSG request, when it emulates what FerretDB lacks; else undefined. */
    const emulate = (name: string, frame: Buffer): (() => Promise<BSON.Document>) | undefined => {
      if (!EMULATED_COMMANDS.has(name)) return undefined;
      const body = decodeMsgBody(frame);
      if (name === "find" && TailableCursors.wants(body)) return () => tailable.find(body, exchange);
      if (name === "getmore" && tailable.owns(body.getMore)) return () => tailable.getMore(body, exchange, () => closed);
      if (name === "killcursors") {
        const reply = tailable.kill(body);
        return reply && (() => Promise.resolve(reply));
      }
      if (name === "createindexes" && needsSplit(body)) return () => createIndexesOneByOne(body, exchange);
      return undefined;
    };

    const onClientFrame = (frame: Buffer) => {
      if (busy) return void queued.push(frame);
      const h = readHeader(frame);
      const cmd = h.opCode === OP_MSG || h.opCode === OP_QUERY ? peekCommand(frame, h.opCode) : undefined;
      const name = cmd?.name.toLowerCase() ?? "";
      if (LOCAL_COMMANDS.has(name)) {
        if (cmd!.flags & MSG_MORE_TO_COME) return; // the client expects no reply
        const doc = name === "replsetgetstatus" ? replSetGetStatus(o, dialled) : replSetGetConfig(o);
        const id = nextRequestId++;
        client.write(h.opCode === OP_MSG ? buildMsg(id, h.requestId, doc) : buildReply(id, h.requestId, doc));
        return;
      }
      const answer = h.opCode === OP_MSG && !(cmd!.flags & MSG_MORE_TO_COME) ? emulate(name, frame) : undefined;
      if (answer) {
        busy = true;
        answer().then(
          (doc) => {
            client.write(buildMsg(nextRequestId++, h.requestId, { ...doc, ...gossip(clock(o).ts) }));
            busy = false;
            while (!busy && queued.length) onClientFrame(queued.shift()!);
          },
          fail,
        );
        return;
      }
      if (WRITE_COMMANDS.has(name) && !(cmd!.flags & MSG_MORE_TO_COME)) {
        busy = true;
        writes.turn().then((release) => {
          if (closed) return release();
          write = { requestId: h.requestId, release, collection: h.opCode === OP_MSG ? commandTarget(frame) : "" };
          upstream.write(frame);
        });
        return;
      }
      const patch = HELLO_COMMANDS[name];
      if (patch) pending.set(h.requestId, patch);
      upstream.write(frame);
    };

    client.on("data", (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = fromClient.push(chunk);
      } catch {
        return fail();
      }
      try {
        for (const frame of frames) onClientFrame(frame);
      } catch {
        fail();
      }
    });

    upstream.on("data", (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = fromServer.push(chunk);
      } catch {
        return fail();
      }
      for (const frame of frames) {
        const h = readHeader(frame);
        const waiter = own.get(h.responseTo);
        if (waiter) {
          own.delete(h.responseTo);
          try {
            waiter.resolve(decodeMsgBody(frame));
          } catch (err) {
            waiter.reject(err as Error);
          }
          continue;
        }
        if (write?.requestId === h.responseTo) {
          client.write(frame);
          endWrite();
          continue;
        }
        const patch = pending.get(h.responseTo);
        if (!patch) {
          client.write(frame);
          continue;
        }
        pending.delete(h.responseTo);
        if (h.opCode === OP_MSG && frame.readUInt32LE(16) & MSG_MORE_TO_COME) pending.set(h.requestId, patch);
        client.write(patchReply(frame, h.opCode, patch, o, dialled));
      }
    });
  };

  const servers: Server[] = [];
  const listen = (host: string, port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer({ noDelay: true }, onConnection);
      server.once("error", reject);
      server.listen(port, host, () => (server.off("error", reject), servers.push(server), resolve(server)));
    });
  const close = () =>
    Promise.all(
      servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ).then(() => undefined);
  try {
    const address = (await listen("127.0.0.1", o.listenPort ?? 0)).address();
    if (!address || typeof address !== "object") throw new Error("wire shim: no listening address");
    const port = address.port;
    // Members at other loopback addresses on the same port get a listener each, so a client can dial every
    // host that hello lists (full `pbm status` connects to them all).
    for (const host of loopbackAliases(o.topology(), port)) await listen(host, port);
    return {
      port,
      close: async () => {
        tailable.clear();
        const done = close();
        for (const s of sockets) s.destroy();
        await done;
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Loopback IPv4 addresses other than 127.0.0.1 that topology members use with the shim's port. */
const WRITE_COMMANDS = new Set(["insert", "update", "delete", "findandmodify"]);

/** Hands out the cluster's write turn, one holder at a time, in arrival order. */
class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  turn(): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const granted = this.tail.then(() => release);
    this.tail = this.tail.then(() => done);
    return granted;
  }
}

function loopbackAliases(topo: ShimTopology, port: number): string[] {
  const hosts = new Set<string>();
  for (const m of topo.members) {
    const match = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d+)$/.exec(m.host);
    if (match && Number(match[2]) === port && match[1] !== "127.0.0.1") hosts.add(match[1]);
  }
  return [...hosts];
}

function patchReply(frame: Buffer, opCode: number, patch: Patch, o: WireShimOptions, dialled: string): Buffer {
  const legacy = opCode !== OP_MSG;
  const doc = legacy ? decodeReply(frame) : decodeMsgBody(frame);
  if (doc.ok !== 1 && Number(doc.ok) !== 1) return frame; // errors pass as they are
  if (patch === "buildInfo") patchBuildInfo(doc, o.mongodbVersion());
  else patchHello(doc, patch, o, dialled);
  return legacy ? replaceReplyDoc(frame, doc) : replaceMsgBody(frame, doc);
}

function patchBuildInfo(doc: BSON.Document, version: string): void {
  const parts = version.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  doc.version = version;
  doc.versionArray = [0, 1, 2, 3].map((k) => (Number.isFinite(parts[k]) ? parts[k] : 0));
}

function patchHello(doc: BSON.Document, command: "hello" | "isMaster", o: WireShimOptions, dialled: string): void {
  const topo = o.topology();
  const now = clock(o);
  const self = selfMember(topo, dialled);
  const primary = topo.members.find((m) => m.role === "P");
  const hosts = topo.members.filter((m) => m.role === "P" || m.role === "S").map((m) => m.host);
  const arbiters = topo.members.filter((m) => m.role === "A").map((m) => m.host);
  const writable = self?.role === "P";
  delete doc.compression;
  Object.assign(doc, {
    [command === "hello" ? "isWritablePrimary" : "ismaster"]: writable,
    secondary: self?.role === "S" || self?.role === "H",
    setName: topo.setName,
    setVersion: CONFIG_VERSION,
    hosts,
    ...(arbiters.length ? { arbiters } : {}),
    ...(primary ? { primary: primary.host } : {}),
    ...(self ? { me: self.host } : {}),
    ...(self?.role === "H" ? { hidden: true, passive: true } : {}),
    ...(self?.role === "A" ? { arbiterOnly: true } : {}),
    ...(writable ? { electionId: new ObjectId("7fffffff0000000000000001") } : {}),
    ...(topo.configsvr ? { configsvr: 2 } : {}),
    lastWrite: {
      opTime: { ts: now.ts, t: Long.fromNumber(TERM) },
      lastWriteDate: now.date,
      majorityOpTime: { ts: now.ts, t: Long.fromNumber(TERM) },
      majorityWriteDate: now.date,
    },
    ...gossip(now.ts),
  });
}

function replSetGetStatus(o: WireShimOptions, dialled: string): BSON.Document {
  const topo = o.topology();
  const now = clock(o);
  const self = selfMember(topo, dialled);
  const opTime = { ts: now.ts, t: Long.fromNumber(TERM) };
  const voting = topo.members.length;
  const majority = Math.floor(voting / 2) + 1;
  const primary = topo.members.find((m) => m.role === "P");
  const uptime = Long.fromNumber(Math.floor((Date.now() - STARTED) / 1000));
  return {
    set: topo.setName,
    date: new Date(),
    myState: stateOf(self?.role ?? "S").state,
    term: Long.fromNumber(TERM),
    syncSourceHost: "",
    syncSourceId: -1,
    heartbeatIntervalMillis: Long.fromNumber(2000),
    majorityVoteCount: majority,
    writeMajorityCount: majority,
    votingMembersCount: voting,
    writableVotingMembersCount: topo.members.filter((m) => m.role !== "A").length,
    optimes: {
      lastCommittedOpTime: opTime,
      lastCommittedWallTime: now.date,
      readConcernMajorityOpTime: opTime,
      appliedOpTime: opTime,
      durableOpTime: opTime,
      lastAppliedWallTime: now.date,
      lastDurableWallTime: now.date,
    },
    members: topo.members.map((m, id) => {
      const { state, stateStr } = stateOf(m.role);
      const isSelf = m.host === self?.host;
      // Arbiters hold no data: mongod reports them with a null optime.
      const mOpTime = m.role === "A" ? { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) } : opTime;
      const mDate = m.role === "A" ? new Date(0) : now.date;
      return {
        _id: id,
        name: m.host,
        health: new Double(1),
        state,
        stateStr,
        uptime,
        optime: mOpTime,
        optimeDate: mDate,
        ...(isSelf ? {} : { optimeDurable: mOpTime, optimeDurableDate: mDate }),
        lastAppliedWallTime: now.date,
        lastDurableWallTime: now.date,
        ...(isSelf ? {} : { lastHeartbeat: new Date(), lastHeartbeatRecv: new Date(), pingMs: Long.fromNumber(0) }),
        syncSourceHost: m.role === "P" || m.role === "A" || !primary ? "" : primary.host,
        syncSourceId: m.role === "P" || m.role === "A" || !primary ? -1 : topo.members.indexOf(primary),
        infoMessage: "",
        ...(m.role === "P" ? { electionTime: new Timestamp({ t: Math.floor(STARTED / 1000), i: 1 }), electionDate: new Date(STARTED) } : {}),
        configVersion: CONFIG_VERSION,
        configTerm: TERM,
        ...(isSelf ? { self: true } : {}),
        lastHeartbeatMessage: "",
      };
    }),
    ok: new Double(1),
    ...gossip(now.ts),
  };
}

function replSetGetConfig(o: WireShimOptions): BSON.Document {
  const topo = o.topology();
  const now = clock(o);
  return {
    config: {
      _id: topo.setName,
      version: CONFIG_VERSION,
      term: TERM,
      ...(topo.configsvr ? { configsvr: true } : {}),
      members: topo.members.map((m, id) => ({
        _id: id,
        host: m.host,
        arbiterOnly: m.role === "A",
        buildIndexes: true,
        hidden: m.role === "H",
        priority: new Double(m.role === "P" || m.role === "S" ? 1 : 0),
        tags: {},
        secondaryDelaySecs: Long.fromNumber(0),
        votes: 1,
      })),
      protocolVersion: Long.fromNumber(1),
      writeConcernMajorityJournalDefault: true,
      settings: {
        chainingAllowed: true,
        heartbeatIntervalMillis: 2000,
        heartbeatTimeoutSecs: 10,
        electionTimeoutMillis: 10000,
        catchUpTimeoutMillis: -1,
        catchUpTakeoverDelayMillis: 30000,
        getLastErrorModes: {},
        getLastErrorDefaults: { w: 1, wtimeout: 0 },
        replicaSetId: new ObjectId(Math.floor(STARTED / 1000)),
      },
    },
    ok: new Double(1),
    ...gossip(now.ts),
  };
}

/** The member a connection speaks as: the one at the address it dialled, else the primary, else the first. */
function selfMember(topo: ShimTopology, dialled: string): ShimTopology["members"][number] | undefined {
  return topo.members.find((m) => m.host === dialled) ?? topo.members.find((m) => m.role === "P") ?? topo.members[0];
}

function stateOf(role: "P" | "S" | "H" | "A"): { state: number; stateStr: string } {
  if (role === "P") return { state: 1, stateStr: "PRIMARY" };
  if (role === "A") return { state: 7, stateStr: "ARBITER" };
  return { state: 2, stateStr: "SECONDARY" };
}

function clock(o: WireShimOptions): { ts: Timestamp; date: Date } {
  const { t, i } = o.clusterTime();
  return { ts: new Timestamp({ t, i }), date: new Date(t * 1000) };
}

/** The fields every mongod reply carries in a replica set; the signature is all zeros as without auth keys. */
function gossip(ts: Timestamp): BSON.Document {
  return {
    $clusterTime: { clusterTime: ts, signature: { hash: new Binary(Buffer.alloc(20), 0), keyId: Long.fromNumber(0) } },
    operationTime: ts,
  };
}
