// `createIndexes` naming several indexes, sent to FerretDB one index at a time. FerretDB 1.24 drops the connection
// when every index of a multi-index createIndexes exists already (measured: a second identical request →
// `connection … closed`), and pbm 1.8.1's CLI sends such a request on every connect (setupNewDB), so every 1.8.1
// command after the first failed with `ensure pitr chunks index: … socket was unexpectedly closed: EOF`.
// Single-index requests are fine, so the shim sends those one after another and merges their replies.
import { Double, type BSON } from "mongodb";
import type { Exchange } from "./tailable";

/** Whether this createIndexes needs splitting: more than one index in its body. */
export function needsSplit(command: BSON.Document): boolean {
  return Array.isArray(command.indexes) && command.indexes.length > 1;
}

/**
 * Runs each index of a createIndexes as its own request (every other field kept) and merges the replies as
 * mongod would answer the whole: numIndexesBefore from the first, numIndexesAfter from the last,
 * createdCollectionAutomatically if any created it, and the "all indexes already exist" note when none was
 * created. The first error is the reply, and no later index is sent.
 */
export async function createIndexesOneByOne(command: BSON.Document, exchange: Exchange): Promise<BSON.Document> {
  const replies: BSON.Document[] = [];
  for (const index of command.indexes as BSON.Document[]) {
    const reply = await exchange({ ...command, indexes: [index] });
    if (Number(reply.ok?.valueOf()) !== 1) return reply;
    replies.push(reply);
  }
  return mergeCreateIndexesReplies(replies);
}

export function mergeCreateIndexesReplies(replies: BSON.Document[]): BSON.Document {
  const first = replies[0];
  const last = replies[replies.length - 1];
  const created = replies.some((r) => r.note === undefined);
  const auto = replies.filter((r) => r.createdCollectionAutomatically !== undefined);
  return {
    numIndexesBefore: first.numIndexesBefore,
    numIndexesAfter: last.numIndexesAfter,
    ...(auto.length ? { createdCollectionAutomatically: auto.some((r) => r.createdCollectionAutomatically === true) } : {}),
    ...(created ? {} : { note: "all indexes already exist" }),
    ok: new Double(1),
  };
}
