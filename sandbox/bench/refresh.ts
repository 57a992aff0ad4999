// Benchmark: pbm calls per operation (recorded by the sandbox's wrapper around the real pbm) and the wall time of
// `pulumi up`/`refresh` over N clusters, plus the inventory over a large history. Prints figures; asserts nothing.
//   npm run bench            (BENCH_CLUSTERS=20, BENCH_CHUNKS=100000, BENCH_SNAPSHOTS=2000)
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { MongoClient, Timestamp } from "mongodb";
import { readInventory } from "../../provider/inventory";
import { clock } from "../pbm-sim/control";
import { openStack } from "../stack";
import { readPbmCalls, REPO_ROOT, startSandbox } from "../testbed";

const N = Number(process.env.BENCH_CLUSTERS ?? 20);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 2000);

function countCalls(file: string): string {
  const calls = readPbmCalls(file);
  const by = new Map<string, number>();
  for (const c of calls) {
    const k = c.argv.filter((a) => !a.startsWith("-")).slice(0, c.argv[0] === "config" ? 1 : 1).join(" ") + (c.argv.some((a) => a.startsWith("--file")) ? " --file" : c.argv.includes("--set") ? " --set" : "");
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  rmSync(file, { force: true });
  return `${calls.length} pbm calls (${[...by].map(([k, v]) => `${k}: ${v}`).join(", ")})`;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await fn();
  console.log(`${label}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return r;
}

async function main() {
  console.log(`starting ${N} FerretDB clusters and MinIO...`);
  const names = Array.from({ length: N }, (_, i) => `bench${i}`);
  const sb = await startSandbox({ replSets: names, pulumi: true });
  process.env.PATH = `${sb.pbmBinDir}${path.delimiter}${process.env.PATH}`;
  console.log(`real pbm ${sb.pbmRelease}`);
  const record = path.join(tmpdir(), `pbm-bench-${process.pid}.jsonl`);
  try {
    const s3 = new S3Client({ endpoint: sb.s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: "pbm-bench" }));
    // Simulated time runs 60× real time, so base snapshots finish within seconds.
    for (const n of names) await clock.run(sb.clusters[n].mongodbUri, 60);
    const stack = await openStack({
      workDir: path.join(REPO_ROOT, "sandbox", "bench", "program"),
      programModule: path.join(REPO_ROOT, "dist", "sandbox", "bench", "program", "index.js"),
      stackName: "bench",
      pulumiBinDir: sb.pulumiBinDir!,
      env: { ...sb.pulumiEnv(), PATH: `${sb.pbmBinDir}${path.delimiter}${sb.pulumiEnv().PATH}`, PBM_RECORD: record },
      config: {
        clusters: { value: JSON.stringify(names.map((n) => ({ name: n, uri: sb.clusters[n].mongodbUri }))), secret: true },
        s3: { value: JSON.stringify({ endpoint: sb.s3.endpoint, accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey }), secret: true },
        count: { value: String(N) },
      },
    });
    await timed(`pulumi up, ${N} clusters (create)`, () => stack.up());
    console.log(`  create: ${countCalls(record)}  [per cluster: BackupLocation create ≤ 2 incl. version check; PitrPolicy create ≤ 2 + version; ScheduledBackup 0]`);
    await timed(`pulumi refresh, ${N} clusters`, () => stack.refresh());
    console.log(`  refresh: ${countCalls(record)}  [per cluster: BackupLocation read 0, PitrPolicy read 1, ScheduledBackup read 0, BackupInventory read 1, + 1 version check per URI and process]`);
    await timed(`pulumi up, ${N} clusters (no changes)`, () => stack.up());
    console.log(`  up without changes: ${countCalls(record)}`);
    await timed(`pulumi destroy, ${N} clusters`, () => stack.destroy());
    console.log(`  destroy: ${countCalls(record)}`);

    // A large history on one cluster: the inventory carries ranges, not chunks.
    const uri = sb.clusters[names[0]].mongodbUri;
    const client = new MongoClient(uri);
    const admin = client.db("admin");
    const t0 = Date.parse("2025-01-01T00:00:00Z") / 1000;
    await timed(`seeding ${SNAPSHOTS} snapshots and ${CHUNKS} chunks`, async () => {
      const snaps = Array.from({ length: SNAPSHOTS }, (_, i) => {
        const start = t0 + i * 3600;
        return { type: "logical", name: new Date(start * 1000).toISOString().replace(".000Z", "Z"), status: "done", start_ts: start, last_transition_ts: start + 60, last_write_ts: new Timestamp({ t: start + 55, i: 1 }), first_write_ts: new Timestamp({ t: start, i: 1 }), size: 1024, replsets: [], store: {}, pbm_version: "2.15.0", conditions: [] };
      });
      for (let i = 0; i < snaps.length; i += 1000) await admin.collection("pbmBackups").insertMany(snaps.slice(i, i + 1000));
      const span = (SNAPSHOTS * 3600) / CHUNKS;
      for (let i = 0; i < CHUNKS; i += 5000) {
        const batch = [];
        for (let j = i; j < Math.min(CHUNKS, i + 5000); j++) {
          const s = t0 + 55 + Math.floor(j * span);
          const e = t0 + 55 + Math.floor((j + 1) * span);
          batch.push({ rs: names[0], fname: `pbmPitr/${names[0]}/x/${j}.oplog.s2`, compression: "s2", start_ts: new Timestamp({ t: s, i: 1 }), end_ts: new Timestamp({ t: e, i: 1 }), size: 512 });
        }
        await admin.collection("pbmPITRChunks").insertMany(batch, { ordered: false });
      }
    });
    await client.close();
    const inv = await timed(`readInventory over ${SNAPSHOTS} snapshots and ${CHUNKS} chunks`, () => readInventory({ mongodbUri: uri }));
    console.log(`  inventory: ${inv.snapshots.length} snapshots, ${inv.pitrRanges.length} ranges, output ${(JSON.stringify(inv).length / 1024).toFixed(0)} KiB, window ${JSON.stringify(inv.latestRestorableWindow)}`);
  } finally {
    await sb.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
