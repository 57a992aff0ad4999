// The wire shim (sandbox/wire-shim) in front of the sandbox's FerretDB, driven by the REAL pbm 2.14.0 CLI and by
// the mongodb Node driver. pbm runs with the URI only in PBM_MONGODB_URI and without AWS_CA_BUNDLE (it breaks real
// pbm's S3 client). The shim sits in front of `sandbox.cluster.port`: FerretDB itself, or the sandbox's own agent
// process when the testbed already runs a shim there (the outer shim's patches win either way).
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startSandbox, type Sandbox } from "../../sandbox/testbed";
import { startWireShim, type ShimTopology, type WireShim } from "../../sandbox/wire-shim";

const PBM = path.join(homedir(), ".cache", "pulumi-pbm", "pbm-2.14.0-go1.26.8", "bin", "pbm");

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Runs the real pbm with a clean environment: the URI only in PBM_MONGODB_URI, no AWS_CA_BUNDLE. */
async function pbm(uri: string, args: string[], stdin?: string) {
  const { execa } = await import("execa");
  const r = await execa(PBM, args, {
    env: { PBM_MONGODB_URI: uri, PATH: "/usr/bin:/bin", HOME: homedir() },
    extendEnv: false,
    input: stdin,
    timeout: 60_000,
    reject: false,
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function withPort(uri: string, port: number, drop: string[] = []): string {
  const u = new URL(uri);
  u.port = String(port);
  for (const key of drop) u.searchParams.delete(key);
  return u.toString();
}

describe("wire shim", () => {
  let sb: Sandbox;
  let shim: WireShim;
  let port: number;
  let topology: ShimTopology;
  /** Through the shim with replica set discovery: pbm dials every host that hello lists. */
  let discoveryUri: string;
  /** Through the shim with the sandbox's own options (directConnection=true). */
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
    directUri = withPort(sb.cluster.mongodbUri, shim.port);
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
