// MongoDB wire protocol framing for the wire shim: split a TCP byte stream into messages, read a message's
// header and command name without parsing its documents, and build or rewrite the few messages the shim
// patches. Only OP_MSG (2013), OP_QUERY (2004) and OP_REPLY (1) are understood; everything else (OP_COMPRESSED
// included) is an opaque frame.
import { BSON } from "mongodb";

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const HEADER_BYTES = 16;
/** OP_MSG flagBits. */
export const MSG_CHECKSUM_PRESENT = 1 << 0;
export const MSG_MORE_TO_COME = 1 << 1;
/** Larger than any frame a server accepts (48 MB maxMessageSizeBytes), to stop on garbage instead of buffering it. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export function readHeader(frame: Buffer): Header {
  return {
    length: frame.readInt32LE(0),
    requestId: frame.readInt32LE(4),
    responseTo: frame.readInt32LE(8),
    opCode: frame.readInt32LE(12),
  };
}

/**
 * Accumulates chunks from one direction of a connection and returns the complete frames in them. A chunk may
 * hold part of a frame or several frames; a frame's bytes are returned unchanged (a slice when it sits in one
 * chunk, so a 16 MB reply is not copied).
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const length = head.readInt32LE(0);
      if (length < HEADER_BYTES || length > MAX_FRAME_BYTES) throw new Error(`wire shim: bad frame length ${length}`);
      if (this.buffered < length) break;
      const first = this.chunks[0].length >= length ? this.chunks[0] : this.flatten();
      frames.push(first.subarray(0, length));
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      this.buffered -= length;
    }
    return frames;
  }

  private flatten(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }
}

/** Where an OP_MSG's kind-0 section (the command document) lies in the frame. */
function msgBody(frame: Buffer): { start: number; end: number } | undefined {
  const flags = frame.readUInt32LE(HEADER_BYTES);
  const end = frame.length - (flags & MSG_CHECKSUM_PRESENT ? 4 : 0);
  for (let at = HEADER_BYTES + 4; at < end; ) {
    const kind = frame[at];
    const size = frame.readInt32LE(at + 1);
    if (kind === 0) return { start: at + 1, end: at + 1 + size };
    at += 1 + size; // kind 1: the int32 size covers itself, the identifier and the documents
  }
  return undefined;
}

/** Where an OP_QUERY's query document lies in the frame. */
function queryBody(frame: Buffer): { start: number; end: number; collection: string } {
  const nameStart = HEADER_BYTES + 4;
  const nameEnd = frame.indexOf(0, nameStart);
  const start = nameEnd + 1 + 8; // numberToSkip, numberToReturn
  return { start, end: start + frame.readInt32LE(start), collection: frame.toString("latin1", nameStart, nameEnd) };
}

/** The first key of a BSON document that starts at `start`, read straight from the bytes. */
function firstKey(frame: Buffer, start: number): string {
  if (frame.readInt32LE(start) <= 5) return "";
  const keyStart = start + 5; // int32 size, element type byte
  return frame.toString("utf8", keyStart, frame.indexOf(0, keyStart));
}

/** An OP_MSG command's first value when it is a string (a write command's collection), else "". */
export function commandTarget(frame: Buffer): string {
  const body = msgBody(frame);
  if (!body || frame.readInt32LE(body.start) <= 5 || frame[body.start + 4] !== 0x02) return "";
  const keyEnd = frame.indexOf(0, body.start + 5);
  const size = frame.readInt32LE(keyEnd + 1);
  return frame.toString("utf8", keyEnd + 5, keyEnd + 5 + size - 1);
}

export interface CommandPeek {
  /** First key of the command document; for OP_QUERY, of `$query` when the query is wrapped. */
  name: string;
  /** OP_MSG flagBits, or 0 for OP_QUERY. */
  flags: number;
}

/** Names the command an OP_MSG or OP_QUERY request carries, reading only the bytes up to the first key. */
export function peekCommand(frame: Buffer, opCode: number): CommandPeek | undefined {
  if (opCode === OP_MSG) {
    const body = msgBody(frame);
    return body ? { name: firstKey(frame, body.start), flags: frame.readUInt32LE(HEADER_BYTES) } : undefined;
  }
  if (opCode === OP_QUERY) {
    const body = queryBody(frame);
    if (!body.collection.endsWith(".$cmd")) return undefined;
    let name = firstKey(frame, body.start);
    if (name === "$query" || name === "query") name = Object.keys(decodeQuery(frame).command)[0] ?? "";
    return { name, flags: 0 };
  }
  return undefined;
}

const bsonOptions = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** The command document of an OP_MSG, decoded without promoting values (so it re-encodes byte-identically). */
export function decodeMsgBody(frame: Buffer): BSON.Document {
  const body = msgBody(frame);
  if (!body) throw new Error("wire shim: OP_MSG without a body section");
  return BSON.deserialize(frame.subarray(body.start, body.end), bsonOptions);
}

/** Returns the frame with its OP_MSG command document replaced; drops the checksum (it would no longer match). */
export function replaceMsgBody(frame: Buffer, doc: BSON.Document): Buffer {
  const body = msgBody(frame)!;
  const flags = frame.readUInt32LE(HEADER_BYTES);
  const end = frame.length - (flags & MSG_CHECKSUM_PRESENT ? 4 : 0);
  const out = Buffer.concat([frame.subarray(0, body.start), BSON.serialize(doc), frame.subarray(body.end, end)]);
  out.writeInt32LE(out.length, 0);
  out.writeUInt32LE(flags & ~MSG_CHECKSUM_PRESENT, HEADER_BYTES);
  return out;
}

/** An OP_QUERY's command: the query document, unwrapped from `$query` when needed. */
export function decodeQuery(frame: Buffer): { command: BSON.Document; wrapped: BSON.Document | undefined } {
  const body = queryBody(frame);
  const doc = BSON.deserialize(frame.subarray(body.start, body.end), bsonOptions);
  const inner = doc.$query ?? doc.query;
  return inner && typeof inner === "object" ? { command: inner, wrapped: doc } : { command: doc, wrapped: undefined };
}

/** The single document of an OP_REPLY (command replies always carry exactly one). */
export function decodeReply(frame: Buffer): BSON.Document {
  return BSON.deserialize(frame.subarray(HEADER_BYTES + 20), bsonOptions);
}

/** Rebuilds an OP_REPLY frame with a new document, keeping its header ids and flags. */
export function replaceReplyDoc(frame: Buffer, doc: BSON.Document): Buffer {
  const out = Buffer.concat([frame.subarray(0, HEADER_BYTES + 20), BSON.serialize(doc)]);
  out.writeInt32LE(out.length, 0);
  return out;
}

/** A frame of `bodyBytes` after the standard header, with the header filled in. */
function frameWithHeader(bodyBytes: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + bodyBytes);
  out.writeInt32LE(out.length, 0);
  out.writeInt32LE(requestId, 4);
  out.writeInt32LE(responseTo, 8);
  out.writeInt32LE(opCode, 12);
  return out;
}

/** A new OP_MSG reply frame carrying one command document. */
export function buildMsg(requestId: number, responseTo: number, doc: BSON.Document): Buffer {
  const body = BSON.serialize(doc);
  const out = frameWithHeader(5 + body.length, requestId, responseTo, OP_MSG);
  out.writeUInt32LE(0, 16);
  out[20] = 0;
  out.set(body, 21);
  return out;
}

/** A new OP_REPLY frame carrying one document (the answer to a legacy OP_QUERY command). */
export function buildReply(requestId: number, responseTo: number, doc: BSON.Document): Buffer {
  const body = BSON.serialize(doc);
  const out = frameWithHeader(20 + body.length, requestId, responseTo, OP_REPLY);
  out.writeInt32LE(8, 16); // responseFlags: AwaitCapable, as mongod sets it
  out.writeBigInt64LE(0n, 20); // cursorID
  out.writeInt32LE(0, 28); // startingFrom
  out.writeInt32LE(1, 32); // numberReturned
  out.set(body, 36);
  return out;
}
