// Tailable (and awaitData) cursors emulated by the wire shim, because FerretDB 1.24's are broken: its first `find`
// closes the cursor (id 0) whenever the first batch holds every match, and a `getMore` with nothing new fails with
// `InternalError … iterator is read to the end or closed`. pbm's log.Follow (`config --wait`, `profile add --wait`,
// `logs --follow`, every wait for an operation) reads admin.pbmLog through such a cursor, so without this it
// either returns at once as if the operation had succeeded or fails.
//
// How: a tailable `find` becomes a plain find in natural (insertion) order with `showRecordId: true`; its matches
// go to a buffer and the client gets a shim cursor id (never 0). Each `getMore` on that id is answered from the
// buffer, refilling it by re-running the query and keeping only documents whose `$recordId` is past the last one
// seen (FerretDB numbers a capped collection's documents in insertion order and sorts `$natural` by that number,
// but cannot filter on it). With awaitData the refill is retried every POLL_MS until the getMore's maxTimeMS
// (default 1 s, as mongod) runs out, then an empty nextBatch goes back with the same id. `killCursors` on shim ids
// is answered here.
//
// Bounding the re-query: when the last document seen has an ObjectId `_id`, the re-query adds
// `_id >= <its second - ID_SLACK_SEC>`, so each poll reads about the last minute of matches, not the whole log. A
// writer whose clock lags the last writer's by more than ID_SLACK_SEC would have its entries missed; every writer
// here runs on this machine.
//
// The queries run through `exchange`, a request on the client connection's own (authenticated) upstream socket,
// which carries nothing else meanwhile (see index.ts). Cursors live in the shim, not in one connection: a driver
// may send a cursor's getMore on any connection of its pool.
import { BSON, Double, Long, ObjectId } from "mongodb";

/** Sends one command upstream and returns its reply document (ok or not). Rejects when the connection goes. */
export type Exchange = (command: BSON.Document) => Promise<BSON.Document>;

const POLL_MS = 150;
/** mongod's default wait for a tailable awaitData getMore without maxTimeMS. */
const DEFAULT_AWAIT_MS = 1000;
const ID_SLACK_SEC = 60;
/** A cursor nobody asked for in this long is dropped, as mongod times out idle cursors (10 minutes). */
const IDLE_MS = 10 * 60_000;
/** mongod's default first batch. */
const DEFAULT_FIRST_BATCH = 101;
/** A batch stops growing past this many bytes, well under mongod's 16 MiB reply and 48 MB message limits. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Shim cursor ids are 0x5348494d (“SHIM”) in the high 32 bits: FerretDB's own ids are small. */
const ID_BASE = 0x5348494dn << 32n;

interface TailCursor {
  db: string;
  collection: string;
  filter: BSON.Document;
  projection?: BSON.Document;
  awaitData: boolean;
  /** The client asked for `$recordId` itself, so keep it in documents. */
  showRecordId: boolean;
  /** Fetched, not yet returned. */
  buffer: BSON.Document[];
  lastRecordId?: bigint;
  /** Second of the newest ObjectId `_id` fetched, bounding re-queries. */
  lastIdSec?: number;
  usedAt: number;
}

export class TailableCursors {
  private readonly cursors = new Map<bigint, TailCursor>();
  private next = 1n;

  /** Whether this `find` asks for a tailable cursor (the shim then answers it through `find`). */
  static wants(command: BSON.Document): boolean {
    return truthy(command.tailable);
  }

  /** Whether a getMore or killCursors names a cursor of this shim. */
  owns(id: unknown): boolean {
    const key = cursorId(id);
    return key !== undefined && this.cursors.has(key);
  }

  /** Answers a tailable `find`: the first batch from a plain find, under a new shim cursor id. */
  async find(command: BSON.Document, exchange: Exchange): Promise<BSON.Document> {
    const db = String(command.$db);
    const collection = String(command.find);
    const capped = await isCapped(db, collection, exchange);
    if (capped !== true) return capped;
    this.sweep();
    const cursor: TailCursor = {
      db,
      collection,
      filter: command.filter ?? {},
      ...(command.projection ? { projection: command.projection } : {}),
      awaitData: truthy(command.awaitData),
      showRecordId: truthy(command.showRecordId),
      buffer: [],
      usedAt: Date.now(),
    };
    const failed = await this.refill(cursor, exchange);
    if (failed) return failed;
    const id = ID_BASE + this.next++;
    this.cursors.set(id, cursor);
    const batch = takeBatch(cursor.buffer, batchSize(command.batchSize) ?? DEFAULT_FIRST_BATCH);
    return { cursor: { firstBatch: batch, id: Long.fromBigInt(id), ns: `${db}.${collection}` }, ok: new Double(1) };
  }

  /** Answers a `getMore` on a shim cursor: new documents, waiting for them up to maxTimeMS with awaitData. */
  async getMore(command: BSON.Document, exchange: Exchange, gone: () => boolean): Promise<BSON.Document> {
    const id = cursorId(command.getMore)!;
    const cursor = this.cursors.get(id)!;
    cursor.usedAt = Date.now();
    const waitMs = cursor.awaitData ? (numberOf(command.maxTimeMS) ?? DEFAULT_AWAIT_MS) : 0;
    const deadline = Date.now() + waitMs;
    while (cursor.buffer.length === 0) {
      const failed = await this.refill(cursor, exchange);
      if (failed) {
        this.cursors.delete(id);
        return failed;
      }
      if (cursor.buffer.length || Date.now() + POLL_MS > deadline || gone()) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    cursor.usedAt = Date.now();
    const batch = takeBatch(cursor.buffer, batchSize(command.batchSize) ?? cursor.buffer.length);
    const ns = `${cursor.db}.${cursor.collection}`;
    return { cursor: { nextBatch: batch, id: Long.fromBigInt(id), ns }, ok: new Double(1) };
  }

  /**
   * Forgets the shim cursors a `killCursors` names. Returns the reply when it named only shim cursors; otherwise
   * undefined, and the request goes upstream unchanged (FerretDB lists the shim's ids as not found).
   */
  kill(command: BSON.Document): BSON.Document | undefined {
    const ids: unknown[] = Array.isArray(command.cursors) ? command.cursors : [];
    const killed = ids.filter((id) => this.cursors.delete(cursorId(id) ?? -1n));
    if (killed.length === 0 || killed.length < ids.length) return undefined;
    return { cursorsKilled: killed, cursorsNotFound: [], cursorsAlive: [], cursorsUnknown: [], ok: new Double(1) };
  }

  clear(): void {
    this.cursors.clear();
  }

  /** Appends the matches past the last one seen to the buffer; returns the upstream error reply if any. */
  private async refill(cursor: TailCursor, exchange: Exchange): Promise<BSON.Document | undefined> {
    const window = cursor.lastIdSec === undefined ? [] : [{ _id: { $gte: ObjectId.createFromTime(Math.max(0, cursor.lastIdSec - ID_SLACK_SEC)) } }];
    const filter = window.length ? { $and: [cursor.filter, ...window] } : cursor.filter;
    let reply = await exchange({
      find: cursor.collection,
      filter,
      ...(cursor.projection ? { projection: cursor.projection } : {}),
      sort: { $natural: 1 },
      showRecordId: true,
      $db: cursor.db,
    });
    for (;;) {
      if (!isOk(reply)) return reply;
      const batch: BSON.Document[] = reply.cursor.firstBatch ?? reply.cursor.nextBatch ?? [];
      for (const doc of batch) {
        const recordId = doc.$recordId;
        if (recordId === undefined) return shimError(`FerretDB returned no $recordId for ${cursor.db}.${cursor.collection}`);
        const n = BigInt(recordId.toString());
        if (cursor.lastRecordId !== undefined && n <= cursor.lastRecordId) continue;
        cursor.lastRecordId = n;
        if (doc._id instanceof ObjectId) cursor.lastIdSec = doc._id.getTimestamp().getTime() / 1000;
        if (!cursor.showRecordId) delete doc.$recordId;
        cursor.buffer.push(doc);
      }
      const more = cursorId(reply.cursor.id);
      if (!more) return undefined;
      reply = await exchange({ getMore: Long.fromBigInt(more), collection: cursor.collection, $db: cursor.db });
    }
  }

  private sweep(): void {
    const cutoff = Date.now() - IDLE_MS;
    for (const [id, c] of this.cursors) if (c.usedAt < cutoff) this.cursors.delete(id);
  }
}

/** true when the collection is capped; otherwise the error reply mongod and FerretDB give a tailable find. */
async function isCapped(db: string, collection: string, exchange: Exchange): Promise<true | BSON.Document> {
  const reply = await exchange({ listCollections: 1, filter: { name: collection }, $db: db });
  if (!isOk(reply)) return reply;
  const info = (reply.cursor.firstBatch as BSON.Document[])[0];
  if (info && truthy(info.options?.capped)) return true;
  return { ok: new Double(0), errmsg: "tailable cursor requested on non capped collection", code: 2, codeName: "BadValue" };
}

function isOk(reply: BSON.Document): boolean {
  return numberOf(reply.ok) === 1;
}

function shimError(errmsg: string): BSON.Document {
  return { ok: new Double(0), errmsg: `wire shim: ${errmsg}`, code: 1, codeName: "InternalError" };
}

/** A cursor id as a bigint (ids arrive as Long, Int32 or numbers); undefined for 0 or not a number. */
function cursorId(id: unknown): bigint | undefined {
  if (id === undefined || id === null) return undefined;
  try {
    const n = BigInt(typeof id === "object" && "toString" in id ? String(id) : (id as number));
    return n === 0n ? undefined : n;
  } catch {
    return undefined;
  }
}

/** A BSON number (decoded without promotion: Int32, Long, Double) as a number. */
function numberOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(typeof v === "object" ? (v as { valueOf(): unknown }).valueOf() : v);
  return Number.isFinite(n) ? n : undefined;
}

/** Removes and returns the buffer's first documents: at most `max`, and at least one, under MAX_BATCH_BYTES. */
function takeBatch(buffer: BSON.Document[], max: number): BSON.Document[] {
  let n = 0;
  for (let bytes = 0; n < Math.min(max, buffer.length); n++) {
    bytes += BSON.calculateObjectSize(buffer[n]);
    if (n > 0 && bytes > MAX_BATCH_BYTES) break;
  }
  return buffer.splice(0, n);
}

function batchSize(v: unknown): number | undefined {
  const n = numberOf(v);
  return n && n > 0 ? n : undefined;
}

function truthy(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  const n = numberOf(v);
  return n !== undefined && n !== 0;
}
