// Direct reads of pbm's control collections, so reads need no pbm call: the only module that reads them (the
// registry's own collections are provider/registry's). The config documents come back typed (./pbmConfig).
//
// One MongoDB client per connection string and process, shared by every caller (each handler step used to open
// its own, with a SCRAM handshake per connection), with one pooled connection unless the URI asks for more
// (maxPoolSize): the handlers' queries are small and few per cluster, and a second connection costs its own
// TCP connect, hello and SCRAM conversation, more than the queries that would wait for the first. The client
// closes when no caller has used it for `idleMs` (PULUMI_PBM_MONGO_IDLE_MS, default 5 s; a long-running runner
// therefore holds no client between its ticks), when the process exits normally, or on `closePbmClients()`.
import type { Db, MongoClient } from "mongodb";
import type { z } from "zod";
import { errors, redact } from "../errors";
import { pbmConfigSchema, pbmProfileSchema, type PbmConfig, type PbmProfile } from "./pbmConfig";

interface Pooled {
  client: Promise<MongoClient>;
  /** Callers inside `fn` right now; the idle timer runs only at 0. */
  users: number;
  idle?: NodeJS.Timeout;
}

const pool = new Map<string, Pooled>();

function idleMs(): number {
  const v = Number(process.env.PULUMI_PBM_MONGO_IDLE_MS);
  return Number.isFinite(v) && v >= 0 ? v : 5_000;
}

async function connect(mongodbUri: string): Promise<MongoClient> {
  const { MongoClient } = await import("mongodb");
  // Defaults only: timeouts the URI sets (serverSelectionTimeoutMS, connectTimeoutMS) win.
  let client: MongoClient | undefined;
  try {
    // Inside the try: the driver's constructor throws for a URI it cannot parse.
    client = new MongoClient(mongodbUri, { ...clientDefaults(mongodbUri), appName: "pulumi-pbm" });
    rememberServerNames(client);
    await client.connect();
  } catch (cause) {
    await client?.close().catch(() => undefined);
    throw errors.unreachable(`cannot connect to ${redact(mongodbUri)}: ${redact((cause as Error).message, [mongodbUri])}`, { cause });
  }
  return client;
}

function release(mongodbUri: string, entry: Pooled): void {
  entry.users--;
  if (entry.users > 0 || pool.get(mongodbUri) !== entry) return;
  entry.idle = setTimeout(() => {
    if (entry.users > 0 || pool.get(mongodbUri) !== entry) return;
    pool.delete(mongodbUri);
    void entry.client.then((c) => c.close()).catch(() => undefined);
  }, idleMs());
  entry.idle.unref();
}

/**
 * Runs `fn` against the `admin` database of the shared client for `mongodbUri` (keyed by the full URI, so
 * different credentials never share a client). Connects on first use; a failed connect is not cached.
 */
export async function withPbmClient<T>(mongodbUri: string, fn: (admin: Db, client: MongoClient) => Promise<T>): Promise<T> {
  let entry = pool.get(mongodbUri);
  if (!entry) {
    entry = { client: connect(mongodbUri), users: 0 };
    pool.set(mongodbUri, entry);
    const mine = entry;
    mine.client.catch(() => pool.get(mongodbUri) === mine && pool.delete(mongodbUri));
    ensureExitHook();
  }
  if (entry.idle) clearTimeout(entry.idle);
  entry.idle = undefined;
  entry.users++;
  try {
    const client = await entry.client;
    return await fn(client.db("admin"), client).catch((cause: unknown) => {
      if (!lostConnection(cause)) throw cause;
      throw errors.unreachable(`lost the connection to ${redact(mongodbUri)}: ${redact((cause as Error).message, [mongodbUri])}`, { cause });
    });
  } finally {
    release(mongodbUri, entry);
  }
}

/** The driver's errors for a cluster gone away (network, server selection, a closed client), as opposed to a refused command. */
const LOST = new Set(["MongoNetworkError", "MongoNetworkTimeoutError", "MongoServerSelectionError", "MongoTopologyClosedError", "MongoNotConnectedError", "MongoPoolClearedError"]);
/**
 * Node's own socket errors. The driver lets some through unwrapped: a write that waits for `drain` on a socket
 * the server has just closed rejects with the socket's EPIPE ("This socket has been ended by the other party").
 */
const SOCKET_CODES = new Set(["EPIPE", "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ERR_SOCKET_CLOSED", "ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END"]);

export function lostConnection(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && SOCKET_CODES.has(code)) return true;
  for (let e: unknown = err; e && typeof e === "object"; e = Object.getPrototypeOf(e)) {
    const name = (e as { constructor?: { name?: string } }).constructor?.name;
    if (name && LOST.has(name)) return true;
  }
  return false;
}

/** Closes every shared client now (tests, and callers that want to exit without waiting for the idle timer). */
export async function closePbmClients(): Promise<void> {
  const all = [...pool.values()];
  pool.clear();
  for (const e of all) if (e.idle) clearTimeout(e.idle);
  await Promise.all(all.map((e) => e.client.then((c) => c.close()).catch(() => undefined)));
}

/** How many shared clients are open (tests). */
export function openPbmClientCount(): number {
  return pool.size;
}

let hooked = false;
function ensureExitHook(): void {
  if (hooked) return;
  hooked = true;
  // The sockets keep the event loop alive until the idle timer closes them; `beforeExit` covers the rest.
  process.once("beforeExit", () => void closePbmClients());
}

/** The README's defaults: 15 s to find a server, 10 s to connect, unless the URI says otherwise. */
export function timeoutDefaults(mongodbUri: string): { serverSelectionTimeoutMS?: number; connectTimeoutMS?: number } {
  const given = givenInUri(mongodbUri);
  return { ...(given("serverSelectionTimeoutMS") ? {} : { serverSelectionTimeoutMS: 15_000 }), ...(given("connectTimeoutMS") ? {} : { connectTimeoutMS: 10_000 }) };
}

/** The shared client's defaults: the timeouts above and one pooled connection, unless the URI says otherwise. */
function clientDefaults(mongodbUri: string): { serverSelectionTimeoutMS?: number; connectTimeoutMS?: number; maxPoolSize?: number } {
  return { ...timeoutDefaults(mongodbUri), ...(givenInUri(mongodbUri)("maxPoolSize") ? {} : { maxPoolSize: 1 }) };
}

/** Whether the URI's query sets an option (case-insensitive, as the driver reads them). */
function givenInUri(mongodbUri: string): (option: string) => boolean {
  const query = mongodbUri.includes("?") ? mongodbUri.slice(mongodbUri.indexOf("?") + 1).toLowerCase() : "";
  return (k) => query.split("&").some((kv) => kv.startsWith(`${k.toLowerCase()}=`));
}

/**
 * What each shared client's server monitor last heard from `hello` (its replica set name, else the host it
 * reached): clusterName answers from it without a hello of its own.
 */
const serverNames = new WeakMap<MongoClient, string>();

function rememberServerNames(client: MongoClient): void {
  client.on("serverDescriptionChanged", ({ newDescription: d }) => {
    const name = d.setName ?? d.me;
    if (name) serverNames.set(client, name);
  });
}

/** The main pbm config document (`admin.pbmConfig`, `{profile: null}`), or null. Secrets in it are clear text. */
export async function readPbmConfig(admin: Db): Promise<PbmConfig | null> {
  const doc = await admin.collection("pbmConfig").findOne({ profile: null }, { projection: CONFIG_PROJECTION });
  return doc && parseConfig(pbmConfigSchema(), doc, "the main config ({profile: null})");
}

/** The storage profile `name` (pbm 2.6+), or null. Secrets in it are clear text. */
export async function readPbmProfile(admin: Db, name: string): Promise<PbmProfile | null> {
  const doc = await admin.collection("pbmConfig").findOne({ name, profile: true }, { projection: CONFIG_PROJECTION });
  return doc && parseConfig(pbmProfileSchema(), doc, `the profile "${name}"`);
}

const CONFIG_PROJECTION = { _id: 0, epoch: 0 };

function parseConfig<T>(schema: z.ZodType<T>, doc: unknown, which: string): T {
  const r = schema.safeParse(doc);
  if (r.success) return r.data;
  // zod's issues name paths and types, never values: the document holds clear-text secrets.
  const why = r.error.issues.map((i) => `${i.path.join(".") || "(document)"}: ${i.message}`).join("; ");
  throw errors.pbmOutput(`pbm's config document in admin.pbmConfig, ${which}, is not in a shape pulumi-pbm reads: ${why}`);
}

/** The replica set (or config server replica set) name the URI reaches; identifies the cluster. */
export async function clusterName(admin: Db): Promise<string> {
  const known = serverNames.get(admin.client);
  if (known) return known;
  const hello = await admin.command({ hello: 1 });
  return String(hello.setName ?? hello.me ?? "standalone");
}

/** Whether a backup usable as a PITR base exists (done, not selective, main storage, not external). */
export async function hasPitrBase(admin: Db): Promise<boolean> {
  // pbm's slicer resumes after a restore only from a backup started after it ("a new backup is required to
  // resume PITR"), so older backups do not count then.
  const restored = await admin.collection("pbmRestores").find({ status: "done" }, { projection: { start_ts: 1 } }).sort({ start_ts: -1 }).limit(1).toArray();
  const since = Number(restored[0]?.start_ts ?? 0);
  const docs = await admin
    .collection("pbmBackups")
    .find({ status: "done", type: { $ne: "external" }, start_ts: { $gt: since } }, { projection: { nss: 1, store: 1 } })
    .toArray();
  return docs.some((d) => !(d.nss?.length) && !d.store?.profile);
}

/**
 * The name of a backup pbm is making now that will be usable as a PITR base (not selective, main storage, not
 * external), if any: one whose document says it is under way while pbm holds a backup lock.
 */
export async function baseInProgress(admin: Db): Promise<string | undefined> {
  if (!(await admin.collection("pbmLock").findOne({ type: "backup" }))) return undefined;
  const docs = await admin
    .collection("pbmBackups")
    .find({ status: { $in: ["starting", "running", "dumpDone", "copyReady", "copyDone"] }, type: { $ne: "external" } }, { projection: { name: 1, nss: 1, store: 1 } })
    .toArray();
  return docs.find((d) => !d.nss?.length && !d.store?.profile)?.name;
}

/** What pbm-agent reports about its storage (`stors` in its heartbeat) when it cannot use it, if any agent does. */
export async function agentStorageProblem(admin: Db): Promise<string | undefined> {
  const bad = await admin.collection("pbmAgents").findOne({ "stors.ok": false }, { projection: { stors: 1 } });
  return bad ? String(bad.stors?.e ?? "storage check failed") : undefined;
}
