// `pulumi-pbm`: the runner, restores, the health check and the inventory, for people and CI.
// The MongoDB URI comes from an environment variable (PBM_MONGODB_URI, or --mongodb-uri-env NAME), never argv.
import { Command, InvalidArgumentError, Option } from "commander";
import { ERROR_CODES, errors, exitCodeOf, PbmProviderError, redact } from "../errors";
import { bucketNameProblem, httpUrlProblem, mongodbUriProblem, TIMEOUT_RANGE } from "../schemas";
import { readInventoryOrEmpty, type Inventory } from "../inventory";
import { checkHealth, formatDuration, parseDuration } from "../ops/health";
import { restoreBackup, restoreToPointInTime } from "../ops/restore";
import { abortableSleep } from "../core/time";
import { runDueJobs, runScheduler } from "../ops/scheduler";
import { readInventoryFromStorage } from "../ops/storageInventory";

/**
 * Bad options or environment: PBMP-1001 before anything is connected to, and exit 2 like commander's own
 * refusals (the input errors of a command that ran exit 1, as `exitCodeOf` says).
 */
class UsageError extends PbmProviderError {
  constructor(what: string, command?: string) {
    super("INPUT", what, { advice: `See \`pulumi-pbm ${command ? `${command} ` : ""}--help\`.` });
  }
}

/** The connection string from the environment (never argv), checked before any connection is made. */
function uriFrom(opts: { mongodbUriEnv?: string }, command: string): string {
  const name = opts.mongodbUriEnv ?? "PBM_MONGODB_URI";
  const uri = process.env[name];
  if (!uri) throw new UsageError(`no MongoDB connection string: set ${name} (or name another variable with --mongodb-uri-env)`, command);
  const problem = mongodbUriProblem(uri);
  if (problem) throw new UsageError(`the MongoDB connection string in ${name} ${problem}`, command);
  return uri;
}

/** `--mongodb-uri-env`: the name of an environment variable. */
function envName(v: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(v)) throw new InvalidArgumentError(`expected an environment variable name (letters, digits and _), got "${v.slice(0, 60)}".`);
  return v;
}

/** `--max-pitr-lag`, `--max-snapshot-age`: a duration from 1 s to 366 days. */
function duration(v: string): number {
  let sec: number;
  try {
    sec = parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
  if (!Number.isFinite(sec) || sec < 1 || sec > 366 * 86_400) throw new InvalidArgumentError(`expected a duration from 1s to 366d, got "${v}".`);
  return sec;
}

/** `--backup`: a pbm backup name (pbm names them by their start time, e.g. 2026-06-20T11:00:00Z). */
function backupName(v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(v)) throw new InvalidArgumentError(`expected a backup name as \`pbm list\` shows it (e.g. 2026-06-20T11:00:00Z), got "${v.slice(0, 60)}".`);
  return v;
}

/** `--to`: a UTC time; without a zone it is read as UTC. */
function utcTime(v: string): Date {
  const to = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
  if (!/^\d{4}-\d\d-\d\d/.test(v.trim()) || Number.isNaN(to.getTime())) throw new InvalidArgumentError(`expected a time like 2026-06-20T11:00:00Z, got "${v.slice(0, 60)}".`);
  return to;
}

function bucket(v: string): string {
  const problem = bucketNameProblem(v);
  if (problem) throw new InvalidArgumentError(`${problem.replace(/^must be/, "expected")}, got "${v.slice(0, 70)}".`);
  return v;
}

function prefix(v: string): string {
  if (/^\/|\/\/|[\u0000-\u001f]/.test(v) || v.length > 1000) throw new InvalidArgumentError(`expected a folder path in the bucket without a leading "/", "//" or control characters, got "${v.slice(0, 60)}".`);
  return v;
}

/** `--force-path-style`: true or false. */
function trueOrFalse(v: string): boolean {
  if (v !== "true" && v !== "false") throw new InvalidArgumentError(`expected true or false, got "${v.slice(0, 60)}".`);
  return v === "true";
}

function region(v: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(v)) throw new InvalidArgumentError(`expected an S3 region such as us-east-1, got "${v.slice(0, 60)}".`);
  return v;
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
  const problem = httpUrlProblem(v);
  // The value is echoed only when it carries no credentials.
  if (problem) throw new InvalidArgumentError(`expected an http(s) URL such as https://s3.example.com${/must not carry/.test(problem) ? ", without credentials in it" : `, got "${v.slice(0, 80)}"`}.`);
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

/** `scheduler --once`: 0 every due job ran (or none was due), 1 a due job failed, 3 a due job was skipped (PMM's rule, or pbm busy) and none failed. 2 is bad options or an unreachable cluster, as for every command. */
export function schedulerExitCode(reports: { result: string }[]): number {
  if (reports.some((r) => r.result === "error")) return 1;
  return reports.some((r) => r.result === "skipped") ? 3 : 0;
}

export function program(): Command {
  const cli = new Command("pulumi-pbm").description("Operations for pulumi-pbm: run schedules, restore, check backup health, show the inventory").exitOverride();
  // Commander's own refusals (unknown options, bad values) read like ours: the code, the reason, where to look.
  cli.configureOutput({
    writeErr: (str) => process.stderr.write(str),
    // Commander echoes the refused value: credentials in a URL given as a value are cut out of it.
    outputError: (str, write) =>
      write(`pulumi-pbm: [${ERROR_CODES.INPUT.code}] ${redact(str.replace(/^error: /, "").trim().replace(/\.?$/, "."), envSecrets()).replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s'"/@]*@/gi, "$1<credentials>@")} See \`pulumi-pbm --help\`.\n`),
  });
  const uriOpt = () => new Option("--mongodb-uri-env <name>", "environment variable holding the MongoDB connection string").default(undefined, "PBM_MONGODB_URI").argParser(envName);
  const timeoutOpt = (dflt: number, what: string) =>
    new Option("--timeout <seconds>", `${what}, ${TIMEOUT_RANGE[0]} to ${TIMEOUT_RANGE[1]}`).argParser(seconds(TIMEOUT_RANGE[0], TIMEOUT_RANGE[1])).default(dflt);
  /** A command on one cluster: its connection string from the environment (--mongodb-uri-env). */
  const clusterCommand = (name: string, description: string) => cli.command(name).description(description).addOption(uriOpt());

  clusterCommand("scheduler", "run due ScheduledBackups and PitrPolicy base snapshots from the cluster's registry")
    .option("--once", "one pass, for cron, systemd timers or Kubernetes CronJobs")
    .option("--interval <seconds>", "seconds between passes in long-running mode (1 to 86400)", seconds(1, 86_400), 30)
    .option("--lease <seconds>", "how long a job stays claimed without renewal, 1 to 86400 (a crashed runner's jobs free up after it)", seconds(1, 86_400), 120)
    .addOption(timeoutOpt(120, "seconds one pbm call may take"))
    .option("--json", "print the pass's report as JSON (with --once)")
    .action(async (o) => {
      if (o.json && !o.once) throw new UsageError("--json needs --once (the long-running scheduler reports progress lines)", "scheduler");
      const mongodbUri = uriFrom(o, "scheduler");
      const run = { mongodbUri, onEvent: progress, leaseSec: Number(o.lease), timeoutSec: Number(o.timeout) };
      if (o.once) {
        const reports = await runDueJobs(run);
        if (o.json) process.stdout.write(JSON.stringify(reports) + "\n");
        process.exitCode = schedulerExitCode(reports);
        return;
      }
      const ac = new AbortController();
      for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => ac.abort());
      progress(`scheduler running (a pass every ${o.interval}s); Ctrl-C to stop`);
      await runScheduler({ ...run, intervalSec: Number(o.interval), signal: ac.signal, clock: { now: async () => new Date(), sleep: (ms) => abortableSleep(ms, ac.signal) } });
    });

  clusterCommand("restore", "restore to a point in time (--to) or from a snapshot (--backup), after checking it is restorable")
    .option("--to <time>", "UTC time, e.g. 2026-06-20T11:00:00Z", utcTime)
    .option("--backup <name>", "snapshot name", backupName)
    .option("--ns <namespaces>", "selective restore: db.collection,db.*", namespaces)
    .addOption(timeoutOpt(3600, "seconds to wait for the restore to finish (and for each pbm call)"))
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      if (!o.to === !o.backup) throw new UsageError("give exactly one of --to <time> or --backup <name>", "restore");
      const mongodbUri = uriFrom(o, "restore");
      const namespaces: string[] | undefined = o.ns;
      const common = { mongodbUri, namespaces, onProgress: progress, timeoutSec: Number(o.timeout) };
      const result = o.to ? await restoreToPointInTime({ ...common, to: o.to as Date }) : await restoreBackup({ ...common, backup: o.backup });
      process.stdout.write(o.json ? JSON.stringify(result) + "\n" : `restore ${result.name} to ${result.target}: ${result.status}${result.error ? ` (${result.error})` : ""}\n${result.note ? `${result.note}\n` : ""}`);
      process.exitCode = result.status === "done" ? 0 : 1;
    });

  clusterCommand("check", "backup health for CI and monitoring; exit 0 healthy, 1 unhealthy, 2 cannot check")
    .option("--max-pitr-lag <duration>", "oldest allowed last PITR chunk, e.g. 15m (1s to 366d)", duration)
    .option("--max-snapshot-age <duration>", "oldest allowed last successful snapshot, e.g. 26h (1s to 366d)", duration)
    .addOption(timeoutOpt(120, "seconds one pbm call may take"))
    .option("--json", "machine-readable report")
    .action(async (o) => {
      const r = await checkHealth({ mongodbUri: uriFrom(o, "check"), maxPitrLagSec: o.maxPitrLag, maxSnapshotAgeSec: o.maxSnapshotAge, timeoutSec: Number(o.timeout) });
      process.stdout.write(o.json ? JSON.stringify(r) + "\n" : r.ok ? `OK: cluster ${r.cluster} backups are healthy\n` : `UNHEALTHY: cluster ${r.cluster}: ${r.problems.join("; ")}\n`);
      process.exitCode = r.ok ? 0 : 1;
    });

  clusterCommand("inventory", "snapshots, PITR timeline, restorable windows and the gaps between them (from the cluster, or --from-storage)")
    .option("--json", "machine-readable output")
    .option("--from-storage", "read pbm's metadata straight from the bucket (cluster unreachable); S3 keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)")
    .option("--bucket <bucket>", "with --from-storage", bucket)
    .option("--prefix <prefix>", "with --from-storage", prefix)
    .option("--endpoint-url <url>", "with --from-storage, for S3-compatible storage", httpUrl)
    .option("--region <region>", "with --from-storage (default us-east-1)", region)
    .option("--force-path-style <bool>", "with --from-storage: path-style requests, as the BackupLocation's forcePathStyle (default true)", trueOrFalse)
    .addOption(timeoutOpt(120, "seconds one pbm call may take"))
    .action(async (o) => {
      let inv: Inventory;
      if (o.fromStorage) {
        if (!o.bucket) throw new UsageError("--from-storage needs --bucket", "inventory");
        if (o.mongodbUriEnv) throw new UsageError("--mongodb-uri-env does not apply with --from-storage (it reads the bucket, not the cluster)", "inventory");
        const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
        const location = { bucket: o.bucket, prefix: o.prefix, endpointUrl: o.endpointUrl, region: o.region ?? "us-east-1", forcePathStyle: o.forcePathStyle, accessKeyId, secretAccessKey, sessionToken };
        inv = await readInventoryFromStorage(location).catch((err: unknown) => {
          if (err instanceof PbmProviderError) throw err;
          // The AWS SDK's own error (e.g. SignatureDoesNotMatch for a wrong secret key): say where and what to check.
          const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
          const status = e.$metadata?.httpStatusCode ? `, HTTP ${e.$metadata.httpStatusCode}` : "";
          throw errors.storage(`cannot read pbm's metadata from s3://${[o.bucket, o.prefix].filter(Boolean).join("/")}${o.endpointUrl ? ` at ${o.endpointUrl}` : ""} (${e.name ?? "error"}${status}): ${e.message ?? String(err)}`, {
            cause: err,
            advice: "Check --bucket, --prefix, --region, --endpoint-url and --force-path-style, and that AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary keys) may list and read the bucket.",
          });
        });
      } else {
        const stray = ["bucket", "prefix", "endpointUrl", "region", "forcePathStyle"].filter((k) => o[k] !== undefined);
        if (stray.length) throw new UsageError(`${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")} only apply with --from-storage`, "inventory");
        inv = await readInventoryOrEmpty({ mongodbUri: uriFrom(o, "inventory"), timeoutSec: Number(o.timeout) });
      }
      process.stdout.write(o.json ? JSON.stringify(inv) + "\n" : table(inv) + "\n");
    });
  return cli;
}

/** Every secret this process holds: connection strings in the environment and S3 keys. */
function envSecrets(): string[] {
  return Object.entries(process.env)
    .filter(([k, v]) => !!v && (/^mongodb(\+srv)?:\/\//.test(v) || /SECRET|PASSWORD|TOKEN/i.test(k)))
    .map(([, v]) => v as string);
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    // Commander has printed its refusal already (configureOutput above).
    if (e.code?.startsWith("commander.")) return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help" ? 0 : 2;
    // The resources' timeoutSec is this command's --timeout.
    const message = redact(e.message ?? String(err), envSecrets()).replace(/raise timeoutSec\b/, "raise --timeout");
    process.stderr.write(`pulumi-pbm: ${message}\n`);
    return err instanceof UsageError ? 2 : exitCodeOf(err);
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
