// `npm run bench`: issue 10's figures in one run, each printed as a ratio to its floor measured in the same run.
//   - engine floor: the same program shape with no-op dynamic resources (test/fixtures/scale-stack, `noop: true`),
//     through the same `pulumi` command, provider host and serialisation;
//   - pbm floor: the pbm calls the provider made (recorded by the sandbox's wrapper, PBM_RECORD) replayed
//     directly with the real pbm CLI, read calls only, all at once (the operation ran at most as many at once as
//     pulumi's --parallel lets resources be read at once: 8 on this machine);
//   - cold start: node loading the sdk / the provider, against node loading @pulumi/pulumi alone.
// Sections: fleet (N clusters x 4 resources: create, no-change up, preview, refresh, destroy), inventory
// (PITR ranges: pbm status, the provider's inventory, state size, up and refresh), cold start, and the scheduler
// (1,000 schedules: the first pass after declaring them, a pass with nothing due, a pass with a handful due;
// floor: connect plus one find of the registry). Only the selected sections' clusters start.
//   npm run bench                      issue 10's sizes: 50 clusters, ranges 2,000 / 100,000 / 200,000 with 10,000
//                                      snapshots, 1,000 schedules (about 15 minutes on the 2-core machine)
//   BENCH_QUICK=1 npm run bench        a quicker look: 10 clusters, ranges 2,000 / 20,000 with 1,000 snapshots,
//                                      medians of 3 (about 4 minutes)
//   BENCH_CLUSTERS, BENCH_RANGES=2000,100000, BENCH_SNAPSHOTS, BENCH_SCHEDULES   each size on its own
//   BENCH_REPEAT=5                     runs of no-change up and preview (medians shown); refresh, the goal's figure
//                                      and the cheapest, runs 2 x BENCH_REPEAT - 1 times (BENCH_REFRESH_REPEAT)
//   BENCH_SECTIONS=fleet,inventory,coldstart,scheduler   the sections to run
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { MongoClient, Timestamp } from "mongodb";
import { closePbmClients, inventoryOutputs, readInventory, runDueJobs, SCHEDULES, upsertEntry, withPbmClient } from "pulumi-pbm/provider";
import { clock } from "../pbm-sim/control";
import { DEFAULT_MONGODB_VERSION } from "../pbm-sim/world";
import { PulumiStackCli, sandboxCliEnv } from "../stack/cli";
import { readPbmCalls, REPO_ROOT, startSandbox, type Sandbox } from "../testbed";

const QUICK = process.env.BENCH_QUICK === "1";
const N = Number(process.env.BENCH_CLUSTERS ?? (QUICK ? 10 : 50));
// pbm status over FerretDB + the wire shim takes about 20 s at 100,000 ranges and 40 s at 200,000 (with 10,000
// snapshots): most of the inventory section's 6 minutes.
const RANGES = (process.env.BENCH_RANGES ?? (QUICK ? "2000,20000" : "2000,100000,200000")).split(",").map(Number);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? (QUICK ? 1000 : 10000));
/** How many times the fleet's no-change up and preview run; medians are reported. */
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? (QUICK ? 3 : 5)));
/** The refresh's runs: more, since one run varies by 10 to 20% on this machine and a round costs seconds. */
const REFRESH_REPEAT = Math.max(1, Number(process.env.BENCH_REFRESH_REPEAT ?? 2 * REPEAT - 1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? "fleet,inventory,coldstart,scheduler").split(","));
const PROGRAM = "test/fixtures/scale-stack";

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (x: number, floor: number) => (floor > 0 ? `${(x / floor).toFixed(2)}x` : "n/a");
const rows: string[] = [];
function report(line: string) {
  rows.push(line);
  console.log(line);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

function newStack(sb: Sandbox, name: string, names: string[], extra: Record<string, string>, record: string) {
  const stack = new PulumiStackCli({
    projectDir: path.join(REPO_ROOT, PROGRAM),
    stack: name,
    env: sandboxCliEnv(sb, { PBM_RECORD: record }),
    configFile: path.join(sb.dataDir, "pulumi-config", `Pulumi.${name}.yaml`),
  });
  return {
    stack,
    async init() {
      await stack.init();
      await stack.setConfig({
        clusters: { value: JSON.stringify(names.map((n) => ({ name: n, uri: sb.clusters[n].mongodbUri }))), secret: true },
        s3: { value: JSON.stringify({ endpoint: sb.s3.endpoint, accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey }), secret: true },
        count: { value: String(names.length) },
        bucket: { value: "pbm-bench" },
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { value: v }])),
      });
    },
  };
}

type Op = "create" | "up (no change)" | "preview" | "refresh" | "destroy";
async function runOp(stack: PulumiStackCli, op: Op) {
  const args: Record<Op, string[]> = {
    create: ["up", "--yes", "--skip-preview"],
    "up (no change)": ["up", "--yes", "--skip-preview"],
    preview: ["preview"],
    refresh: ["refresh", "--yes", "--skip-preview"],
    destroy: ["destroy", "--yes", "--skip-preview"],
  };
  return (await timed(() => stack.run(stack.withConfig(...args[op], "--color", "never"))))[1];
}

/** Replays the recorded read calls (status, list, describe-*, version) against the clusters, all at once. */
async function replayReads(sb: Sandbox, record: string, names: string[]): Promise<{ ms: number; calls: number; writes: number; summary: string; pbmSumMs: number; pbmPeak: number }> {
  const calls = readPbmCalls(record);
  rmSync(record, { force: true });
  const by = new Map<string, number>();
  for (const c of calls) by.set(c.argv.filter((a) => a !== "--out=json").slice(0, 2).join(" "), (by.get(c.argv.filter((a) => a !== "--out=json").slice(0, 2).join(" ")) ?? 0) + 1);
  const reads = calls.filter((c) => ["status", "list", "describe-backup", "describe-restore", "version"].includes(c.argv[0]));
  const pbmExe = path.join(sb.pbmBinDir, "pbm");
  const [, ms] = await timed(() =>
    Promise.all(
      reads.map(
        (c, i) =>
          new Promise<void>((resolve) =>
            execFile(pbmExe, c.argv, { env: { ...process.env, PBM_RECORD: "", PBM_MONGODB_URI: sb.clusters[names[i % names.length]].mongodbUri }, maxBuffer: 1 << 30 }, () => resolve()),
          ),
      ),
    ),
  );
  return { ms: reads.length ? ms : 0, calls: calls.length, writes: calls.length - reads.length, summary: [...by].map(([k, v]) => `${k}: ${v}`).join(", ") || "none", ...overlap(calls) };
}

/** How long the operation's own pbm calls ran in all, and how many ran at once at most: whether they overlapped. */
function overlap(calls: ReturnType<typeof readPbmCalls>): { pbmSumMs: number; pbmPeak: number } {
  const spans = calls.filter((c) => c.endedAt).map((c) => [Date.parse(c.startedAt), Date.parse(c.endedAt!)] as const);
  const edges = spans.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let pbmPeak = 0;
  for (const [, d] of edges) pbmPeak = Math.max(pbmPeak, (now += d));
  return { pbmSumMs: spans.reduce((t, [a, b]) => t + (b - a), 0), pbmPeak };
}

/** CPU the whole machine spends over `ms` while nothing runs but the sandbox, in cores (1 = one core busy). */
async function idleLoad(ms: number): Promise<number> {
  // /proc/stat's first line: user nice system idle iowait irq softirq steal ...; busy is all but idle and iowait.
  const jiffies = () => {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { busy: user + nice + system + irq + softirq + steal, all: user + nice + system + idle + iowait + irq + softirq + steal };
  };
  const a = jiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = jiffies();
  return ((b.busy - a.busy) / (b.all - a.all)) * availableParallelism();
}

async function fleet(sb: Sandbox, names: string[]) {
  report(`\n## fleet: ${names.length} clusters x 4 resources (BackupLocation, PitrPolicy, disabled ScheduledBackup, BackupInventory); medians of ${REPEAT} runs for no-change up and preview, ${REFRESH_REPEAT} for refresh; each run: floor, provider, pbm replay in turn`);
  const record = path.join(tmpdir(), `pbm-bench-${process.pid}.jsonl`);
  const real = newStack(sb, "fleet", names, {}, record);
  const noop = newStack(sb, "floor", names, { noop: "true" }, record + ".noop");
  await real.init();
  await noop.init();
  report(`| operation | provider | engine floor | pbm floor (reads replayed) | vs engine | vs engine + pbm | each run vs engine + pbm (lowest to highest) | pbm calls | pbm time in the operation (sum, most at once) |`);
  report(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  let idle = 0;
  for (const op of ["create", "up (no change)", "preview", "refresh", "destroy"] as Op[]) {
    // Operations that leave the stack as it was run REPEAT times, floor and provider in turn; medians are shown.
    const runs = op === "create" || op === "destroy" ? 1 : op === "refresh" ? REFRESH_REPEAT : REPEAT;
    const floors: number[] = [];
    const times: number[] = [];
    const pbmFloors: Awaited<ReturnType<typeof replayReads>>[] = [];
    for (let i = 0; i < runs; i++) {
      floors.push(await runOp(noop.stack, op));
      rmSync(record + ".noop", { force: true });
      times.push(await runOp(real.stack, op));
      pbmFloors.push(await replayReads(sb, record, names));
    }
    const floor = median(floors);
    const t = median(times);
    const pbmFloor = [...pbmFloors].sort((a, b) => a.ms - b.ms)[Math.floor(runs / 2)];
    const each = times.map((x, i) => x / (floors[i] + pbmFloors[i].ms)).sort((a, b) => a - b);
    const spread = runs > 1 ? `${each[0].toFixed(2)}x to ${each[each.length - 1].toFixed(2)}x` : "";
    report(`| ${op} | ${sec(t)} | ${sec(floor)} | ${sec(pbmFloor.ms)} | ${ratio(t, floor)} | ${ratio(t, floor + pbmFloor.ms)} | ${spread} | ${pbmFloor.calls} (${pbmFloor.summary}) | ${sec(pbmFloor.pbmSumMs)}, ${pbmFloor.pbmPeak} |`);
    if (op === "create") idle = await idleLoad(10_000);
  }
  // What the clusters cost between operations (PITR on, no backup running): the load every figure above shares.
  report(`\nidle sandbox after create (${names.length} clusters, MinIO, 10 s): ${(idle * 100).toFixed(0)}% of one core, ${((idle * 100) / names.length).toFixed(1)}% per cluster`);
}

async function seed(uri: string, rs: string, from: number, to: number, snapshotsFrom: number, snapshotsTo: number) {
  const client = new MongoClient(uri);
  const admin = client.db("admin");
  const t0 = Date.parse("2024-01-01T00:00:00Z") / 1000;
  try {
    // Snapshots pbm counts as done, each a PITR base: pbm marks one failed without the server's version ("backup
    // mongo version is incompatible") or its replica set's part ("Backup has no data for the config server or sole
    // replicaset"), and then no range has a base and the inventory holds no window. As seeded, a range is backed
    // where a snapshot's last write falls in it (one in 30), and each snapshot is a window: about 10,000.
    const snaps = [];
    for (let i = snapshotsFrom; i < snapshotsTo; i++) {
      const start = t0 + i * 3600;
      const times = { start_ts: start, last_transition_ts: start + 60, first_write_ts: new Timestamp({ t: start, i: 1 }), last_write_ts: new Timestamp({ t: start + 55, i: 1 }) };
      snaps.push({
        type: "logical",
        name: new Date(start * 1000).toISOString().replace(".000Z", "Z"),
        status: "done",
        ...times,
        size: 1024,
        replsets: [{ name: rs, status: "done", ...times, size: 1024 }],
        store: {},
        pbm_version: "2.14.0",
        mongodb_version: DEFAULT_MONGODB_VERSION,
        fcv: DEFAULT_MONGODB_VERSION.split(".").slice(0, 2).join("."),
        conditions: [],
      });
    }
    for (let i = 0; i < snaps.length; i += 1000) await admin.collection("pbmBackups").insertMany(snaps.slice(i, i + 1000));
    // One chunk per range: 100 s of oplog, then a 20 s gap (pbm merges only touching chunks).
    for (let i = from; i < to; i += 5000) {
      const batch = [];
      for (let j = i; j < Math.min(to, i + 5000); j++) {
        const s = t0 + 55 + j * 120;
        batch.push({ rs, fname: `pbmPitr/${rs}/x/${j}.oplog.s2`, compression: "s2", start_ts: new Timestamp({ t: s, i: 1 }), end_ts: new Timestamp({ t: s + 100, i: 1 }), size: 512 });
      }
      await admin.collection("pbmPITRChunks").insertMany(batch, { ordered: false });
    }
  } finally {
    await client.close();
  }
}

async function inventory(sb: Sandbox, name: string) {
  report(`\n## inventory: one cluster, ${SNAPSHOTS} snapshots, PITR ranges ${RANGES.join(" / ")}`);
  const uri = sb.clusters[name].mongodbUri;
  const record = path.join(tmpdir(), `pbm-bench-inv-${process.pid}.jsonl`);
  const one = newStack(sb, "inventory", [name], {}, record);
  await one.init();
  await runOp(one.stack, "create");
  const pbmExe = path.join(sb.pbmBinDir, "pbm");
  const pbmStatus = () =>
    timed(() => new Promise<string>((resolve, reject) => execFile(pbmExe, ["status", "-s", "backups", "-s", "pitr", "--out=json"], { env: { ...process.env, PBM_RECORD: "", PBM_MONGODB_URI: uri }, maxBuffer: 1 << 30 }, (e, out) => (e ? reject(e) : resolve(out)))));
  rmSync(record, { force: true });
  // Each operation with the time its own pbm status calls ran, from the pbm-call record of that operation.
  const op = async (which: "up (no change)" | "refresh") => {
    const ms = await runOp(one.stack, which);
    return { ms, pbmMs: ownStatusMs(record) };
  };
  const vsSmall = (x: { ms: number; pbmMs: number }, base: { ms: number; pbmMs: number }) => ratio(x.ms, base.ms + Math.max(0, x.pbmMs - base.pbmMs));
  const small = { up: await op("up (no change)"), refresh: await op("refresh") };
  report(`small history: up ${sec(small.up.ms)} (pbm ${sec(small.up.pbmMs)}), refresh ${sec(small.refresh.ms)} (pbm ${sec(small.refresh.pbmMs)}) (the baseline for the ratios below)`);
  report(
    `"vs small" divides by the small history's time plus how much longer the operation's own pbm status ran than it did with the small history (pbm's floor, from the pbm-call record of that same operation: a separate pbm status varies by a quarter between runs at 100,000 ranges and more).`,
  );
  report(`"inventory alone" is a fresh process that parses pbm status's output, checks its shape and builds the inventory and its bounded outputs, against one that only JSON.parses it: wall time, peak RSS (sandbox/bench/inventoryChild.ts).`);
  report(`| ranges | pbm status (floor) | readInventory | vs pbm | inventory alone | JSON.parse alone | heap kept | full inventory | state summary | up (its own pbm status) | vs small | refresh (its own pbm status) | vs small |`);
  report(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  let seeded = 0;
  for (const target of RANGES) {
    const [, seedMs] = await timed(() => seed(uri, name, seeded, target, seeded ? SNAPSHOTS : 0, SNAPSHOTS));
    seeded = target;
    console.log(`seeded to ${target} ranges in ${sec(seedMs)}`);
    const [stdout, pbmMs] = await pbmStatus();
    const [inv, invMs] = await timed(() => readInventory({ mongodbUri: uri }));
    const statusFile = path.join(tmpdir(), `pbm-bench-status-${process.pid}.json`);
    writeFileSync(statusFile, stdout);
    const alone = inventoryAlone(statusFile, "inventory");
    const parseOnly = inventoryAlone(statusFile, "parse");
    rmSync(statusFile, { force: true });
    const up = await op("up (no change)");
    const refresh = await op("refresh");
    report(
      `| ${inv.pitrRanges.length} | ${sec(pbmMs)} | ${sec(invMs)} | ${ratio(invMs, pbmMs)} | ${alone.ms} ms, ${alone.peakRssMB} MB | ${parseOnly.ms} ms, ${parseOnly.peakRssMB} MB | ${alone.heapMB} MB | ${(JSON.stringify(inv).length / 1e6).toFixed(1)} MB | ${(JSON.stringify(inventoryOutputs(inv)).length / 1024).toFixed(1)} KiB | ${sec(up.ms)} (pbm ${sec(up.pbmMs)}) | ${vsSmall(up, small.up)} | ${sec(refresh.ms)} (pbm ${sec(refresh.pbmMs)}) | ${vsSmall(refresh, small.refresh)} |`,
    );
  }
  await runOp(one.stack, "destroy");
}

/** How long the `pbm status` calls in `record` ran in all (the operation that wrote it), then empties it. */
function ownStatusMs(record: string): number {
  const statuses = readPbmCalls(record).filter((c) => c.argv[0] === "status");
  rmSync(record, { force: true });
  return overlap(statuses).pbmSumMs;
}

/** One inventoryChild.js measurement in a fresh node process (so peak RSS is that work's own). */
function inventoryAlone(statusFile: string, mode: "inventory" | "parse"): { ms: number; cpuMs: number; heapMB: number; peakRssMB: number } {
  const out = execFileSync(process.execPath, ["--expose-gc", path.join(__dirname, "inventoryChild.js"), statusFile, mode], { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").pop()!);
}

function coldStart() {
  report(`\n## cold start (fresh node process, median of 5)`);
  /** Median of 5 fresh node processes running `code`. */
  const loadTime = (code: string) => {
    const ts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      execFileSync(process.execPath, ["-e", code], { cwd: REPO_ROOT });
      ts.push(performance.now() - t);
    }
    return median(ts);
  };
  const bare = loadTime("");
  const pulumi = loadTime(`require("@pulumi/pulumi")`);
  const sdk = loadTime(`require("pulumi-pbm")`);
  const provider = loadTime(`require("pulumi-pbm/provider")`);
  report(`| load | time | vs floor |`);
  report(`| --- | --- | --- |`);
  report(`| node alone | ${bare.toFixed(0)} ms | |`);
  report(`| @pulumi/pulumi (floor for the sdk) | ${pulumi.toFixed(0)} ms | |`);
  report(`| pulumi-pbm (sdk) | ${sdk.toFixed(0)} ms | ${ratio(sdk, pulumi)} |`);
  report(`| pulumi-pbm/provider | ${provider.toFixed(0)} ms | ${ratio(provider, bare)} vs node alone |`);
}

const SCHEDULES_N = Number(process.env.BENCH_SCHEDULES ?? 1000);

/**
 * The runner (`runDueJobs`, as `pulumi-pbm scheduler --once` runs it) over 1,000 declared schedules on one
 * cluster. Floor: connect plus one `find` of the registry (a new client each time, as each pass connects).
 * Every pass starts with no shared client, so it pays the same connect. Daily crons at distinct times, none
 * firing within two hours of the run; "a handful due" backdates 5 entries by a day while a PitrPolicy is
 * enabled, so each is due, leased, checked against PMM's rule and recorded as skipped (no pbm backup runs).
 */
async function scheduler(sb: Sandbox, name: string) {
  report(`\n## scheduler: ${SCHEDULES_N} schedules on one cluster (runDueJobs, a fresh connection per pass)`);
  const uri = sb.clusters[name].mongodbUri;
  const client = new MongoClient(uri);
  const registry = client.db("admin").collection<{ _id: string }>(SCHEDULES);
  const hour = new Date().getUTCHours();
  // As ScheduledBackup declares them (upsertEntry: each entry carries its next run), or, with `withoutNextRun`,
  // as entries of older releases (none: the runner's first pass writes them).
  const declare = async (withoutNextRun = false) => {
    await registry.deleteMany({});
    await withPbmClient(uri, async (admin) => {
      for (let i = 0; i < SCHEDULES_N; i++)
        await upsertEntry(admin, {
          kind: "schedule",
          name: `s${i}`,
          enabled: true,
          cron: `${i % 60} ${(hour + 2 + Math.floor(i / 60)) % 24} * * *`,
          backup: { type: "logical", compression: "s2" },
          retention: { count: 7 },
          declaredBy: { project: "bench", stack: "scheduler", urn: `urn:pulumi:scheduler::bench::pulumi-nodejs:dynamic/pbm:ScheduledBackup::s${i}` },
        });
    });
    if (withoutNextRun) await registry.updateMany({}, { $unset: { run: "" } });
  };
  const floor = async () =>
    (
      await timed(async () => {
        const c = new MongoClient(uri);
        await c.connect();
        await c.db("admin").collection(SCHEDULES).find({}).toArray();
        await c.close();
      })
    )[1];
  const pass = async () => {
    await closePbmClients();
    return timed(() => runDueJobs({ mongodbUri: uri, holder: "bench" }));
  };
  const row = (what: string, ms: number, fl: number, note = "") => report(`| ${what} | ${ms.toFixed(0)} ms | ${fl.toFixed(0)} ms | ${(ms - fl).toFixed(0)} ms | ${ratio(ms, fl)} | ${note} |`);
  try {
    await client.connect();
    await declare();
    await floor(); // warm up both paths once (module loading, first connection)
    await pass();
    report(`| pass | time (median) | floor (connect + find) | beyond floor | vs floor | |`);
    report(`| --- | --- | --- | --- | --- | --- |`);
    // The first pass after declaring: entries declared as ScheduledBackup does carry their next run; entries of
    // older releases get it from this pass, in bulk writes.
    for (const withoutNextRun of [false, true]) {
      const first: number[] = [];
      const firstFloor: number[] = [];
      for (let k = 0; k < 3; k++) {
        await declare(withoutNextRun);
        firstFloor.push(await floor());
        const [r, ms] = await pass();
        if (r.length) throw new Error(`bench: nothing should be due, got ${JSON.stringify(r[0])}`);
        first.push(ms);
      }
      if (withoutNextRun) row("first pass over entries without a next run (older releases)", median(first), median(firstFloor), `${SCHEDULES_N} nextRunAt written in bulk`);
      else row("first pass after declaring", median(first), median(firstFloor), "nothing written: each declaration carries its next run");
    }
    await declare();
    // Nothing due.
    const idle: number[] = [];
    const idleFloor: number[] = [];
    for (let k = 0; k < 7; k++) {
      idleFloor.push(await floor());
      const [r, ms] = await pass();
      if (r.length) throw new Error(`bench: nothing should be due, got ${JSON.stringify(r[0])}`);
      idle.push(ms);
    }
    row("nothing due", median(idle), median(idleFloor));
    // A handful due, each skipped under PMM's rule (an enabled PitrPolicy on the cluster).
    await withPbmClient(uri, (admin) => upsertEntry(admin, { kind: "pitrPolicy", name: "bench-pitr", enabled: true, declaredBy: { project: "bench", stack: "pitr" } }));
    const due: number[] = [];
    const dueFloor: number[] = [];
    const handful = Array.from({ length: 5 }, (_, i) => `schedule/s${i * 97}`);
    for (let k = 0; k < 3; k++) {
      await registry.updateMany({ _id: { $in: handful } }, { $set: { createdAt: new Date(Date.now() - 25 * 3600_000) }, $unset: { "run.lastFireTime": "" } });
      dueFloor.push(await floor());
      const [r, ms] = await pass();
      if (r.length !== handful.length || r.some((x) => x.result !== "skipped")) throw new Error(`bench: expected ${handful.length} skips, got ${JSON.stringify(r)}`);
      due.push(ms);
    }
    row(`${handful.length} due (skipped under PMM's rule)`, median(due), median(dueFloor), "lease, rule check and record per due job");
  } finally {
    await registry.deleteMany({}).catch(() => undefined);
    await client.close();
    await closePbmClients();
  }
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const started = performance.now();
  const names = Array.from({ length: N }, (_, i) => `bench${i}`);
  const all = [...(SECTIONS.has("fleet") ? names : []), ...(SECTIONS.has("inventory") ? ["benchinv"] : []), ...(SECTIONS.has("scheduler") ? ["benchsched"] : [])];
  console.log(`starting ${all.length} clusters (FerretDB + simulated agents each) and MinIO...`);
  const [sb, startMs] = await timed(() => startSandbox({ replSets: all, pulumi: true }));
  process.env.PATH = `${sb.pbmBinDir}${path.delimiter}${process.env.PATH}`;
  report(`# pulumi-pbm bench: real pbm ${sb.pbmRelease}, ${all.length} clusters started in ${sec(startMs)}`);
  try {
    const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3");
    const s3 = new S3Client({ endpoint: sb.s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: "pbm-bench" }));
    // Simulated time runs at the wall clock's pace (the default, said here so no earlier setting lingers): a faster
    // clock makes the agents write heartbeats on every tick, load that every figure here would pay.
    for (const n of all) await clock.run(sb.clusters[n].mongodbUri, 1);
    if (SECTIONS.has("fleet")) await fleet(sb, names);
    if (SECTIONS.has("inventory")) await inventory(sb, "benchinv");
    if (SECTIONS.has("coldstart")) coldStart();
    if (SECTIONS.has("scheduler")) await scheduler(sb, "benchsched");
  } finally {
    await sb.stop();
  }
  report(`\ntotal ${sec(performance.now() - started)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
