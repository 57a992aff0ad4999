// The wire shim (sandbox/wire-shim) in front of the sandbox's FerretDB, driven by the REAL pbm 2.14.0 CLI and by
// the mongodb Node driver. pbm runs with the URI only in PBM_MONGODB_URI and without AWS_CA_BUNDLE (it breaks real
// pbm's S3 client). The shim sits in front of `sandbox.cluster.port`: FerretDB itself, or the sandbox's own agent
// process when the testbed already runs a shim there (the outer shim's patches win either way).
// The emulations (tailable cursors, split createIndexes) are tested in front of a FerretDB of their own, with no
// simulated agents that could answer pbm's commands.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startFerret, startSandbox, type Sandbox } from "../../sandbox/testbed";
import { startWireShim, type ShimTopology, type WireShim } from "../../sandbox/wire-shim";

const pbmPath = (release: string) => path.join(homedir(), ".cache", "pulumi-pbm", `pbm-${release}-go1.26.8`, "bin", "pbm");
const PBM = pbmPath("2.14.0");

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Runs the real pbm with a clean environment: the URI only in PBM_MONGODB_URI, no AWS_CA_BUNDLE. */
async function pbm(uri: string, args: string[], stdin?: string, exe = PBM) {
  const { execa } = await import("execa");
  const r = await execa(exe, args, {
    env: { PBM_MONGODB_URI: uri, PATH: "/usr/bin:/bin", HOME: homedir() },
    extendEnv: false,
    input: stdin,
    timeout: 60_000,
    reject: false,
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function withPort(uri: string, port: number, drop: string[] = [], set: Record<string, string> = {}): string {
  const u = new URL(uri);
  u.port = String(port);
  for (const key of drop) u.searchParams.delete(key);
  for (const [key, value] of Object.entries(set)) u.searchParams.set(key, value);
  return u.toString();
}

describe("wire shim", () => {
  let sb: Sandbox;
  let shim: WireShim;
  let port: number;
  let topology: ShimTopology;
  /** Through the shim with replica set discovery: pbm dials every host that hello lists. */
  let discoveryUri: string;
  /** Through the shim with directConnection=true (the sandbox's URI may leave it out). */
  let directUri: string;
  let clock = { t: 1_750_000_000, i: 1 };

  beforeAll(async () => {
    await waitForFile(PBM, 15 * 60_000);
    sb = await startSandbox({ pulumi: false });
    port = await freePort();
    // Secondaries at other loopback addresses on the shim's port, so pbm can dial every host in hello.hosts;
    // a hidden member is not in hello.hosts (as on mongod), so its name need not resolve.
    topology = {
      setName: sb.cluster.replSetName,
      members: [
        { host: `127.0.0.1:${port}`, role: "P" },
        { host: `127.0.0.2:${port}`, role: "S" },
        { host: `127.0.0.3:${port}`, role: "S" },
        { host: "mongo4:27017", role: "H" },
      ],
    };
    shim = await startWireShim({
      upstream: { host: "127.0.0.1", port: sb.cluster.port },
      listenPort: port,
      clusterTime: () => clock,
      topology: () => topology,
      mongodbVersion: () => "8.0.4",
    });
    discoveryUri = withPort(sb.cluster.mongodbUri, shim.port, ["directConnection"]);
    directUri = withPort(sb.cluster.mongodbUri, shim.port, [], { directConnection: "true" });
  });

  afterAll(async () => {
    await shim?.close();
    await sb?.stop();
  });

  it("adds cluster time and the replica set's members to hello, speaking as the member dialled", async () => {
    // Given the simulated clock at a known time
    clock = { t: 1_750_000_100, i: 7 };
    const { MongoClient } = await import("mongodb");

    // When a client asks the primary's address and a secondary's address
    const primary = new MongoClient(directUri);
    const secondary = new MongoClient(directUri.replace("@127.0.0.1:", "@127.0.0.2:"));
    try {
      const p = await primary.db("admin").command({ hello: 1 });
      const s = await secondary.db("admin").command({ hello: 1 });

      // Then both carry the clock and the visible members; each names itself as `me`
      expect([p.$clusterTime.clusterTime.t, p.$clusterTime.clusterTime.i]).toEqual([1_750_000_100, 7]);
      expect(p.$clusterTime.signature.hash.length()).toBe(20);
      expect(p.operationTime.t).toBe(1_750_000_100);
      expect(p.hosts).toEqual([`127.0.0.1:${port}`, `127.0.0.2:${port}`, `127.0.0.3:${port}`]);
      expect(p).toMatchObject({ me: `127.0.0.1:${port}`, primary: `127.0.0.1:${port}`, isWritablePrimary: true, secondary: false });
      expect(p.lastWrite.opTime.ts.t).toBe(1_750_000_100);
      expect(s).toMatchObject({ me: `127.0.0.2:${port}`, primary: `127.0.0.1:${port}`, isWritablePrimary: false, secondary: true });
      expect((await primary.db("admin").command({ buildInfo: 1 })).versionArray).toEqual([8, 0, 4, 0]);
    } finally {
      await primary.close();
      await secondary.close();
    }
  });

  it("answers replSetGetStatus and replSetGetConfig from the topology", async () => {
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(directUri);
    try {
      const status = await client.db("admin").command({ replSetGetStatus: 1 });
      const config = await client.db("admin").command({ replSetGetConfig: 1 });
      expect(status.set).toBe(topology.setName);
      expect(status.members.map((m: { name: string; stateStr: string }) => `${m.name} ${m.stateStr}`)).toEqual([
        `127.0.0.1:${port} PRIMARY`,
        `127.0.0.2:${port} SECONDARY`,
        `127.0.0.3:${port} SECONDARY`,
        "mongo4:27017 SECONDARY",
      ]);
      expect(status.members[0].self).toBe(true);
      expect(config.config.members.map((m: { host: string; hidden: boolean }) => [m.host, m.hidden])).toEqual([
        [`127.0.0.1:${port}`, false],
        [`127.0.0.2:${port}`, false],
        [`127.0.0.3:${port}`, false],
        ["mongo4:27017", true],
      ]);
    } finally {
      await client.close();
    }
  });

  it("lets the real pbm 2.14.0 write config, list backups and print the full status with every member", async () => {
    // Given S3 storage on the sandbox's MinIO
    clock = { t: Math.floor(Date.now() / 1000), i: 1 };
    const yaml = [
      "storage:",
      "  type: s3",
      "  s3:",
      `    region: ${sb.s3.region}`,
      `    endpointUrl: ${sb.s3.endpoint}`,
      "    bucket: pbm-wire-shim",
      "    prefix: rs0",
      "    forcePathStyle: true",
      "    credentials:",
      `      access-key-id: ${sb.s3.accessKeyId}`,
      `      secret-access-key: ${sb.s3.secretAccessKey}`,
      "",
    ].join("\n");

    // When pbm runs through the shim
    const apply = await pbm(discoveryUri, ["config", "--file=-", "-o", "json"], yaml);
    const set = await pbm(discoveryUri, ["config", "--set", "pitr.oplogSpanMin=5", "-o", "json"]);
    const show = await pbm(discoveryUri, ["config", "-o", "json"]);
    const list = await pbm(discoveryUri, ["list", "-o", "json"]);
    const status = await pbm(discoveryUri, ["status", "-o", "json"]);

    // Then every command succeeds and the status lists the topology's members
    for (const r of [apply, set, show, list, status]) expect(r.stderr).toBe("");
    expect([apply, set, show, list, status].map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0]);
    expect(JSON.parse(apply.stdout).storage.s3.bucket).toBe("pbm-wire-shim");
    expect(JSON.parse(set.stdout)).toEqual([{ key: "pitr.oplogSpanMin", value: "5" }]);
    expect(JSON.parse(show.stdout).pitr.oplogSpanMin).toBe(5);
    expect(JSON.parse(list.stdout).pitr.on).toBe(false);
    const cluster = JSON.parse(status.stdout).cluster;
    expect(cluster.map((rs: { rs: string }) => rs.rs)).toEqual([topology.setName]);
    expect(cluster[0].nodes.map((n: { host: string }) => n.host)).toEqual(topology.members.map((m) => m.host));
    expect(JSON.stringify([apply, set, show, list, status])).not.toContain(sb.s3.secretAccessKey);
  });

  it("fails the full pbm status when the URI says directConnection=true and hello lists several hosts", async () => {
    // pbm's RSConfGetter reconnects to all of hello.hosts in one URI, keeping the URI's options.
    const r = await pbm(directUri, ["status", "-o", "json"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("a direct connection cannot be made if multiple hosts are specified");
  });

  it("makes a conditional single-document write atomic: one winner in each of 20 rounds of 8 racing clients", async () => {
    // FerretDB alone lets several findAndModify calls with the same condition all win (read, then write).
    const { MongoClient } = await import("mongodb");
    const clients = await Promise.all(Array.from({ length: 8 }, () => new MongoClient(discoveryUri).connect()));
    try {
      const col = (i: number) => clients[i].db("shimtest").collection<{ _id: number; holder: number | null }>("race");
      const winners: number[] = [];
      for (let round = 0; round < 20; round++) {
        await col(0).insertOne({ _id: round, holder: null });
        const results = await Promise.all(clients.map((_, i) => col(i).findOneAndUpdate({ _id: round, holder: null }, { $set: { holder: i } }, { returnDocument: "after" })));
        winners.push(results.filter((r) => r !== null).length);
      }
      expect(winners).toEqual(Array(20).fill(1));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("carries the Node driver's reads, writes, indexes and a 20,000-document reply unchanged", async () => {
    const { MongoClient } = await import("mongodb");
    for (const uri of [discoveryUri, directUri]) {
      const client = new MongoClient(uri);
      try {
        const col = client.db("shimtest").collection("docs");
        await col.drop().catch(() => undefined);
        const docs = Array.from({ length: 20_000 }, (_, n) => ({ n, pad: "x".repeat(200) }));
        await col.insertMany(docs);
        await col.createIndex({ n: 1 });
        const all = await col.find({}, { batchSize: 20_000 }).sort({ n: 1 }).toArray();
        const [sum] = await col.aggregate([{ $group: { _id: null, total: { $sum: "$n" } } }]).toArray();
        expect(all.length).toBe(20_000);
        expect(all[19_999].n).toBe(19_999);
        expect(sum.total).toBe((19_999 * 20_000) / 2);
        expect(await col.drop()).toBe(true);
      } finally {
        await client.close();
      }
    }
  });
});

/** One FerretDB 1.24 (SQLite, SCRAM auth) under guard.js, with no agents: only what a test writes happens. */
async function startFerretDb(): Promise<{ port: number; uriFor(port: number): string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), "pulumi-pbm-wire-shim-"));
  const ferret = await startFerret("rs0", dir, false);
  const stop = async () => {
    const child = ferret.child;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.stdin?.end();
        setTimeout(() => (child.kill("SIGKILL"), resolve()), 8000).unref();
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { port: ferret.port, uriFor: (p) => ferret.uriFor(p, false), stop };
}

describe("wire shim emulations in front of a FerretDB without agents", () => {
  let ferret: Awaited<ReturnType<typeof startFerretDb>>;
  let shim: WireShim;
  /** Through the shim with replica set discovery (one member: the shim). */
  let uri: string;

  beforeAll(async () => {
    await waitForFile(PBM, 15 * 60_000);
    ferret = await startFerretDb();
    const port = await freePort();
    shim = await startWireShim({
      upstream: { host: "127.0.0.1", port: ferret.port },
      listenPort: port,
      clusterTime: () => ({ t: Math.floor(Date.now() / 1000), i: 1 }),
      topology: () => ({ setName: "rs0", members: [{ host: `127.0.0.1:${port}`, role: "P" }] }),
      mongodbVersion: () => "8.0.4",
    });
    uri = ferret.uriFor(shim.port);
    // pbmLog as pbm-agent creates it (setupNewDB): capped, 50 MiB.
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(uri);
    try {
      await client.db("admin").command({ create: "pbmLog", capped: true, size: 50 << 20 });
    } finally {
      await client.close();
    }
  });

  afterAll(async () => {
    await shim?.close();
    await ferret?.stop();
  });

  // Regression: FerretDB 1.24 closed a tailable cursor after its first batch (id 0), so pbm's log.Follow ended at
  // once, and failed a getMore with nothing new (`InternalError … iterator is read to the end or closed`).
  it("keeps a tailable awaitData cursor open, waits up to maxTimeMS and returns only new matches", async () => {
    // Given a capped collection with two matching documents and one that does not match
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(uri);
    try {
      const db = client.db("shimtest");
      await db.command({ create: "tail", capped: true, size: 1 << 20 });
      const col = db.collection("tail");
      await col.insertMany([{ n: 1, k: "a" }, { n: 2, k: "b" }, { n: 3, k: "a" }]);

      // When a client tails it with a filter
      const found = await db.command({ find: "tail", filter: { k: "a" }, tailable: true, awaitData: true });
      const id = found.cursor.id;
      const started = Date.now();
      const idle = await db.command({ getMore: id, collection: "tail", maxTimeMS: 600 });
      const idleMs = Date.now() - started;
      await col.insertMany([{ n: 4, k: "b" }, { n: 5, k: "a" }]);
      const next = await db.command({ getMore: id, collection: "tail", maxTimeMS: 600 });
      const killed = await db.command({ killCursors: "tail", cursors: [id] });

      // Then the cursor stays open, an idle getMore waits and comes back empty, and only new matches follow
      expect(String(id)).not.toBe("0");
      expect(found.cursor.firstBatch.map((d: { n: number }) => d.n)).toEqual([1, 3]);
      expect(found.cursor.firstBatch[0]).not.toHaveProperty("$recordId");
      expect(idle.cursor.nextBatch).toEqual([]);
      expect(String(idle.cursor.id)).toBe(String(id));
      expect(idleMs).toBeGreaterThanOrEqual(400);
      expect(next.cursor.nextBatch.map((d: { n: number }) => d.n)).toEqual([5]);
      expect(killed.cursorsKilled.map(String)).toEqual([String(id)]);
    } finally {
      await client.close();
    }
  });

  it("fails a tailable find on a collection that is not capped, as mongod does", async () => {
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(uri);
    try {
      const db = client.db("shimtest");
      await db.collection("plain").insertOne({ n: 1 });
      await expect(db.command({ find: "plain", filter: {}, tailable: true })).rejects.toThrow("tailable cursor requested on non capped collection");
    } finally {
      await client.close();
    }
  });

  /**
   * Starts `pbm config --force-resync --wait`, then, once it has written its resync command and still waits,
   * writes the entry an agent would log for that opid. Returns when the run ended and when the entry was written.
   */
  async function resyncAnsweredBy(entry: { s: number; msg: string }) {
    const { MongoClient, Long, Timestamp } = await import("mongodb");
    const client = new MongoClient(uri);
    try {
      const admin = client.db("admin");
      const before = await admin.collection("pbmCmd").countDocuments({ cmd: "resync" }).catch(() => 0);
      let exitedAt: number | undefined;
      const run = pbm(uri, ["config", "--force-resync", "--wait", "--wait-time=20s", "-o", "json"]).finally(() => (exitedAt = Date.now()));
      const deadline = Date.now() + 15_000;
      while ((await admin.collection("pbmCmd").countDocuments({ cmd: "resync" })) === before) {
        if (Date.now() > deadline || exitedAt) throw new Error(`pbm wrote no resync command: ${JSON.stringify(await run)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [cmd] = await admin.collection("pbmCmd").find({ cmd: "resync" }).sort({ _id: -1 }).limit(1).toArray();
      await new Promise((r) => setTimeout(r, 2000));
      const waitingAtInsert = exitedAt === undefined;
      const insertedAt = Date.now();
      await admin.collection("pbmLog").insertOne({
        ts: Long.fromNumber(Math.floor(insertedAt / 1000)),
        ns: 0,
        s: entry.s,
        rs: "rs0",
        node: "127.0.0.1:27017",
        e: "resync",
        eobj: "",
        ep: new Timestamp({ t: 0, i: 0 }),
        opid: cmd._id.toHexString(),
        msg: entry.msg,
      });
      const result = await run;
      return { ...result, waitingAtInsert, insertedAt, exitedAt: exitedAt! };
    } finally {
      await client.close();
    }
  }

  // Regression: with FerretDB's tailable cursors `pbm config --force-resync --wait` printed "Storage resync
  // finished" at once, though no agent had logged anything.
  it("lets the real pbm 2.14.0 wait for a resync until an agent logs succeed for its opid", async () => {
    // Given an earlier, unrelated success in the log
    const { MongoClient, Long } = await import("mongodb");
    const client = new MongoClient(uri);
    await client.db("admin").collection("pbmLog").insertOne({ ts: Long.fromNumber(Math.floor(Date.now() / 1000)), s: 3, rs: "rs0", node: "x", e: "resync", eobj: "", opid: "000000000000000000000000", msg: "succeed" });
    await client.close();

    // When pbm waits and an agent logs success for its command about 2 s later
    const r = await resyncAnsweredBy({ s: 3, msg: "succeed" });

    // Then pbm was still waiting at that moment and finishes with success after it
    expect(r.waitingAtInsert).toBe(true);
    expect(r.exitedAt).toBeGreaterThanOrEqual(r.insertedAt);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ msg: "Storage resync finished" });
  });

  it("lets the real pbm 2.14.0 fail a resync wait with the error an agent logs for its opid", async () => {
    // When pbm waits and an agent logs an error for its command about 2 s later
    const r = await resyncAnsweredBy({ s: 1, msg: "storage check failed with: boom" });

    // Then pbm fails with that error, and only after it was logged
    expect(r.waitingAtInsert).toBe(true);
    expect(r.exitedAt).toBeGreaterThanOrEqual(r.insertedAt);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("storage check failed with: boom");
  });

  // Regression: FerretDB 1.24 dropped the connection on a createIndexes naming several indexes that all exist.
  it("answers a repeated multi-index createIndexes as mongod does, one index at a time upstream", async () => {
    // Given a createIndexes naming two indexes
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(uri);
    try {
      const db = client.db("shimtest");
      const command = { createIndexes: "indexed", indexes: [{ key: { a: 1 }, name: "a_1" }, { key: { b: 1, c: -1 }, name: "b_c" }] };

      // When it runs twice
      const first = await db.command(command);
      const second = await db.command(command);

      // Then both succeed, the second saying that nothing was created
      expect(first).toMatchObject({ numIndexesBefore: 1, numIndexesAfter: 3, createdCollectionAutomatically: true, ok: 1 });
      expect(first).not.toHaveProperty("note");
      expect(second).toMatchObject({ numIndexesBefore: 3, numIndexesAfter: 3, note: "all indexes already exist", ok: 1 });
      expect((await db.collection("indexed").indexes()).map((i) => i.name).sort()).toEqual(["_id_", "a_1", "b_c"]);
    } finally {
      await client.close();
    }
  });

  it("fails a multi-index createIndexes with the first index's error", async () => {
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(uri);
    try {
      const db = client.db("shimtest");
      await db.command({ createIndexes: "clash", indexes: [{ key: { x: 1 }, name: "x" }] });
      const clash = { createIndexes: "clash", indexes: [{ key: { y: 1 }, name: "y" }, { key: { x: -1 }, name: "x" }] };
      await expect(db.command(clash)).rejects.toThrow("An existing index has the same name as the requested index");
    } finally {
      await client.close();
    }
  });

  // Regression: pbm 1.8.1's CLI creates its indexes on every connect, so every 1.8.1 command after the first failed
  // with `setup a new backups db: ensure pitr chunks index: … socket was unexpectedly closed: EOF`.
  it("lets the real pbm 1.8.1 set, show the config and list backups twice in a row", async () => {
    // Given filesystem storage (pbm 1.8.1 reads --file from a path, not stdin)
    const dir = mkdtempSync(path.join(tmpdir(), "pulumi-pbm-wire-shim-pbm181-"));
    const file = path.join(dir, "pbm.yaml");
    writeFileSync(file, ["storage:", "  type: filesystem", "  filesystem:", `    path: ${dir}`, ""].join("\n"));
    const pbm181 = (args: string[]) => pbm(uri, args, undefined, pbmPath("1.8.1"));
    try {
      // When 1.8.1 runs five commands against the same FerretDB
      const runs = [];
      for (const args of [["config", `--file=${file}`], ["config"], ["config"], ["list"], ["list"]]) runs.push(await pbm181([...args, "-o", "json"]));

      // Then each succeeds
      expect(runs.map((r) => [r.exitCode, r.stderr])).toEqual(runs.map(() => [0, ""]));
      expect(JSON.parse(runs[2].stdout).storage.filesystem.path).toBe(dir);
      expect(JSON.parse(runs[4].stdout).pitr.on).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
