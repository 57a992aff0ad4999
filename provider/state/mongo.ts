// Direct reads of pbm's control collections and our registry, so reads need no pbm call.
import type { Db, MongoClient } from "mongodb";
import { PbmStateError, redact } from "../errors";

/** Opens a client, runs `fn` against the `admin` database, always closes. */
export async function withPbmClient<T>(mongodbUri: string, fn: (admin: Db, client: MongoClient) => Promise<T>): Promise<T> {
  const { MongoClient } = await import("mongodb");
  // Defaults only: timeouts the URI sets (serverSelectionTimeoutMS, connectTimeoutMS) win.
  const client = new MongoClient(mongodbUri, { ...timeoutDefaults(mongodbUri), appName: "pulumi-pbm" });
  try {
    await client.connect();
  } catch (cause) {
    throw new PbmStateError("MONGO_UNREACHABLE", `cannot connect to ${redact(mongodbUri)}: ${redact((cause as Error).message, [mongodbUri])}`, { cause });
  }
  try {
    return await fn(client.db("admin"), client);
  } finally {
    await client.close();
  }
}

/** The README's defaults: 15 s to find a server, 10 s to connect, unless the URI says otherwise. */
export function timeoutDefaults(mongodbUri: string): { serverSelectionTimeoutMS?: number; connectTimeoutMS?: number } {
  const query = mongodbUri.includes("?") ? mongodbUri.slice(mongodbUri.indexOf("?") + 1).toLowerCase() : "";
  const given = (k: string) => query.split("&").some((kv) => kv.startsWith(`${k.toLowerCase()}=`));
  return { ...(given("serverSelectionTimeoutMS") ? {} : { serverSelectionTimeoutMS: 15_000 }), ...(given("connectTimeoutMS") ? {} : { connectTimeoutMS: 10_000 }) };
}

/** The main pbm config document (`admin.pbmConfig`, `{profile: null}`), or null. Secrets in it are clear text. */
export async function readPbmConfig(admin: Db): Promise<Record<string, any> | null> {
  return admin.collection("pbmConfig").findOne({ profile: null }, { projection: { _id: 0, epoch: 0 } });
}

/** The replica set (or config server replica set) name the URI reaches; identifies the cluster. */
export async function clusterName(admin: Db): Promise<string> {
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
