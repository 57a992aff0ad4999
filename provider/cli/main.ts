// `pulumi-pbm`: the runner, restores, the health check and the inventory, for people and CI.
// The MongoDB URI comes from an environment variable (PBM_MONGODB_URI, or --mongodb-uri-env NAME), never argv.
import { Command, InvalidArgumentError, Option } from "commander";
import { PbmProviderError, redact } from "../errors";
import { readInventoryOrEmpty, type Inventory } from "../inventory";
import { checkHealth, formatDuration, parseDuration } from "../ops/health";
import { restoreBackup, restoreToPointInTime } from "../ops/restore";
import { abortableSleep } from "../ops/clock";
import { runDueJobs, runScheduler } from "../ops/scheduler";
import { readInventoryFromStorage } from "../ops/storageInventory";

class UsageError extends Error {}

function uriFrom(opts: { mongodbUriEnv?: string }): string {
  const name = opts.mongodbUriEnv ?? "PBM_MONGODB_URI";
  const uri = process.env[name];
  if (!uri) throw new UsageError(`no MongoDB connection string: set ${name} (or name another variable with --mongodb-uri-env)`);
  return uri;
}

const progress = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

/** The restorable windows, oldest first, with the length of each gap between them (pure). */
export function windowLines(inv: Pick<Inventory, "restorableWindows" | "gaps">): string[] {
  if (!inv.restorableWindows.length) return ["  (none: nothing is restorable yet)"];
  const last = inv.restorableWindows.length - 1;
  return inv.restorableWindows.flatMap((w, i) => [
    ...(i > 0 ? [`  gap ${formatDuration((Date.parse(inv.gaps[i - 1].end) - Date.parse(inv.gaps[i - 1].start)) / 1000)}: nothing restorable between ${inv.gaps[i - 1].start} and ${inv.gaps[i - 1].end}`] : []),
    `  ${w.start === w.end ? `${w.start} (snapshot)` : `${w.start} … ${w.end}`}${i === last ? "  latest" : ""}`,
  ]);
}

export function table(inv: Inventory): string {
  if (!inv.configured) return `cluster ${inv.cluster}: pbm is not configured yet (no BackupLocation has set its storage): no backups, nothing restorable`;
  const rows = [
    `cluster ${inv.cluster}: PITR ${inv.pitr.enabled ? (inv.pitr.running ? "on, slicing" : "on, NOT slicing") : "off"}${inv.pitr.error ? ` — ${inv.pitr.error}` : ""}`,
    `RESTORABLE WINDOWS (${inv.restorableWindows.length}, ${inv.gaps.length} gap${inv.gaps.length === 1 ? "" : "s"})`,
    ...windowLines(inv),
    "",
    "SNAPSHOT               TYPE         STATUS     SIZE        RESTORE TO             SCHEDULE",
    ...inv.snapshots.map((s) => `${s.name.padEnd(22)} ${s.type.padEnd(12)} ${s.status.padEnd(10)} ${String(s.sizeBytes).padEnd(11)} ${s.restoreToTime.padEnd(22)} ${s.schedule ?? ""}`),
    "",
    "PITR TIMELINE",
    ...(inv.pitrRanges.length ? inv.pitrRanges.map((r) => `${r.start} … ${r.end}${r.backed ? "" : "  (no base snapshot: not restorable)"}`) : ["(no oplog chunks)"]),
  ];
  return rows.join("\n");
}

/** A whole number of seconds within [min, max], for commander options. */
const seconds = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected whole seconds from ${min} to ${max}, got "${v}".`);
  return n;
};

function httpUrl(v: string): string {
  let u: URL | undefined;
  try {
    u = new URL(v);
  } catch {
    /* reported below */
  }
  if (!u || !/^https?:$/.test(u.protocol)) throw new InvalidArgumentError(`expected an http(s) URL such as https://s3.example.com, got "${v}".`);
  return v;
}

/** `--ns`: db.collection or db.*, never pbm's or MongoDB's own databases (pbm refuses those too, later). */
function namespaces(v: string): string[] {
  const list = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const ns of list) {
    const [db, coll] = [ns.slice(0, ns.indexOf(".")), ns.slice(ns.indexOf(".") + 1)];
    if (!ns.includes(".") || !db || !coll) throw new InvalidArgumentError(`"${ns}" is not db.collection or db.*.`);
    if (["admin", "config", "local"].includes(db)) throw new InvalidArgumentError(`"${ns}": the ${db} database cannot be restored selectively; name your own databases.`);
  }
  if (!list.length) throw new InvalidArgumentError("expected db.collection or db.*, comma-separated.");
  return list;
}

export function program(): Command {
  const cli = new Command("pulumi-pbm").description("Operations for pulumi-pbm: run schedules, restore, check backup health, show the inventory").exitOverride();
  const uriOpt = () => new Option("--mongodb-uri-env <name>", "environment variable holding the MongoDB connection string").default(undefined, "PBM_MONGODB_URI");

  cli
    .command("scheduler")
    .description("run due ScheduledBackups and PitrPolicy base snapshots from the cluster's registry")
    .addOption(uriOpt())
    .option("--once", "one pass, for cron, systemd timers or Kubernetes CronJobs")
    .option("--interval <seconds>", "seconds between passes in long-running mode (1 to 86400)", seconds(1, 86_400), 30)
    .option("--lease <seconds>", "how long a job stays claimed without renewal, 1 to 86400 (a crashed runner's jobs free up after it)", seconds(1, 86_400), 120)
    .option("--json", "print the pass's report as JSON (with --once)")
    .action(async (o) => {
      const mongodbUri = uriFrom(o);
      if (o.once) {
        const reports = await runDueJobs({ mongodbUri, onEvent: progress, leaseSec: Number(o.lease) });
        if (o.json) process.stdout.write(JSON.stringify(reports) + "\n");
        process.exitCode = reports.some((r) => r.result === "error") ? 1 : 0;
        return;
      }
      const ac = new AbortController();
      for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => ac.abort());
      progress(`scheduler running (a pass every ${o.interval}s); Ctrl-C to stop`);
      await runScheduler({ mongodbUri, onEvent: progress, intervalSec: Number(o.interval), leaseSec: Number(o.lease), signal: ac.signal, clock: { now: async () => new Date(), sleep: (ms) => abortableSleep(ms, ac.signal) } });
    });

  cli
    .command("restore")
    .description("restore to a point in time (--to) or from a snapshot (--backup), after checking it is restorable")
    .addOption(uriOpt())
    .option("--to <time>", "UTC time, e.g. 2026-06-20T11:00:00Z")
    .option("--backup <name>", "snapshot name")
    .option("--ns <namespaces>", "selective restore: db.collection,db.*", namespaces)
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      if (!o.to === !o.backup) throw new UsageError("give exactly one of --to <time> or --backup <name>");
      const mongodbUri = uriFrom(o);
      const namespaces: string[] | undefined = o.ns;
      let result;
      if (o.to) {
        const to = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(o.to) ? o.to : `${o.to}Z`);
        if (Number.isNaN(to.getTime())) throw new UsageError(`--to "${o.to}" is not a time like 2026-06-20T11:00:00Z`);
        result = await restoreToPointInTime({ mongodbUri, to, namespaces, onProgress: progress });
      } else result = await restoreBackup({ mongodbUri, backup: o.backup, namespaces, onProgress: progress });
      process.stdout.write(o.json ? JSON.stringify(result) + "\n" : `restore ${result.name} to ${result.target}: ${result.status}${result.error ? ` (${result.error})` : ""}\n${result.note ? `${result.note}\n` : ""}`);
      process.exitCode = result.status === "done" ? 0 : 1;
    });

  cli
    .command("check")
    .description("backup health for CI and monitoring; exit 0 healthy, 1 unhealthy, 2 cannot check")
    .addOption(uriOpt())
    .option("--max-pitr-lag <duration>", "oldest allowed last PITR chunk, e.g. 15m")
    .option("--max-snapshot-age <duration>", "oldest allowed last successful snapshot, e.g. 26h")
    .option("--json", "machine-readable report")
    .action(async (o) => {
      let maxPitrLagSec: number | undefined;
      let maxSnapshotAgeSec: number | undefined;
      try {
        maxPitrLagSec = o.maxPitrLag ? parseDuration(o.maxPitrLag) : undefined;
        maxSnapshotAgeSec = o.maxSnapshotAge ? parseDuration(o.maxSnapshotAge) : undefined;
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const r = await checkHealth({ mongodbUri: uriFrom(o), maxPitrLagSec, maxSnapshotAgeSec });
      process.stdout.write(o.json ? JSON.stringify(r) + "\n" : r.ok ? `OK: cluster ${r.cluster} backups are healthy\n` : `UNHEALTHY: cluster ${r.cluster}: ${r.problems.join("; ")}\n`);
      process.exitCode = r.ok ? 0 : 1;
    });

  cli
    .command("inventory")
    .description("snapshots, PITR timeline, restorable windows and the gaps between them (from the cluster, or --from-storage)")
    .addOption(uriOpt())
    .option("--json", "machine-readable output")
    .option("--from-storage", "read pbm's metadata straight from the bucket (cluster unreachable); S3 keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    .option("--bucket <bucket>", "with --from-storage")
    .option("--prefix <prefix>", "with --from-storage")
    .option("--endpoint-url <url>", "with --from-storage, for S3-compatible storage", httpUrl)
    .option("--region <region>", "with --from-storage", "us-east-1")
    .action(async (o) => {
      let inv: Inventory;
      if (o.fromStorage) {
        if (!o.bucket) throw new UsageError("--from-storage needs --bucket");
        inv = await readInventoryFromStorage({ bucket: o.bucket, prefix: o.prefix, endpointUrl: o.endpointUrl, region: o.region, accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY });
      } else inv = await readInventoryOrEmpty({ mongodbUri: uriFrom(o) });
      process.stdout.write(o.json ? JSON.stringify(inv) + "\n" : table(inv) + "\n");
    });
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code?.startsWith("commander.")) return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
    const secrets = Object.values(process.env).filter((v): v is string => !!v && /^mongodb(\+srv)?:\/\//.test(v));
    const message = redact(e.message ?? String(err), secrets);
    process.stderr.write(`pulumi-pbm: ${message}\n`);
    return err instanceof UsageError ? 2 : err instanceof PbmProviderError && /PBMP-1/.test(err.code) ? 1 : 2;
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
