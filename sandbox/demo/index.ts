// The README's main command: the quickstart stack end to end against the sandbox, deployed the way users deploy
// it: the `pulumi` command run from the repository root, whose Pulumi.yaml points at examples/quickstart. The
// simulated agents' clock runs 60× faster than real time (one real second is one simulated minute).
import { spawn } from "node:child_process";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { readInventory, restoreToPointInTime, type Inventory } from "pulumi-pbm/provider";
import { clock, configureSimulator } from "../pbm-sim/control";
import { PulumiStackCli, pbmPathFor, quickstartConfig, resourceCounts, sandboxCliEnv, type CliResult } from "../stack/cli";
import { REPO_ROOT, startSandbox, type Sandbox } from "../testbed";

// The AWS SDK warns on every process that Node 20 support ends in 2027; the demo's output is for people.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s`;
const say = (msg: string) => console.log(`[${elapsed()}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prints pulumi's output indented under the current step, whole lines at a time. */
function indented(): (chunk: string) => void {
  let pending = "";
  return (chunk) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop()!;
    for (const l of lines) process.stdout.write(`        │ ${l}\n`);
  };
}

const changes = (r: CliResult) =>
  Object.entries(resourceCounts(r.stdout))
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");

function describe(inv: Inventory): string {
  const done = inv.snapshots.filter((s) => s.status === "done").length;
  const w = inv.latestRestorableWindow;
  return `${inv.snapshots.length} snapshot(s) (${done} done), ${inv.pitrRanges.length} PITR range(s)${w ? `, restorable ${w.start} … ${w.end}` : ", nothing restorable yet"}`;
}

async function main(): Promise<void> {
  say("Starting the sandbox: FerretDB (MongoDB wire), MinIO (S3), and the Go-built Pulumi CLI (first run builds them, ~7 min)");
  const sb: Sandbox = await startSandbox({ pulumi: true });
  const summary: string[] = [];
  try {
    const uri = sb.cluster.mongodbUri;
    // The runner and the restore below run pbm from this process's PATH, as the provider does from pulumi's.
    process.env.PATH = [pbmPathFor(sb), process.env.PATH].join(path.delimiter);
    const s3 = new S3Client({ endpoint: sb.s3.endpoint, region: sb.s3.region, forcePathStyle: true, credentials: { accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: "pbm-backups" }));
    await configureSimulator(uri, { timings: { backupSec: 120, restoreSec: 60 } });
    await clock.run(uri, 60);
    say(`Sandbox up: replica set "${sb.cluster.replSetName}" on 127.0.0.1:${sb.cluster.port}, S3 at ${sb.s3.endpoint}; pbm ${sb.pbmRelease} from ${pbmPathFor(sb)} against simulated agents (clock ×60)`);

    // `pulumi` from the repository root, as a user would: ./Pulumi.yaml (main: examples/quickstart), stack "demo".
    // Its config goes to a file in the sandbox (--config-file), so the demo leaves the working tree as it was.
    const configFile = path.join(sb.dataDir, "Pulumi.demo.yaml");
    const stack = new PulumiStackCli({ projectDir: REPO_ROOT, stack: "demo", env: sandboxCliEnv(sb), onOutput: indented(), configFile });
    say("pulumi stack init demo; pulumi config set (secrets on stdin), from the repository root");
    await stack.init();
    await stack.setConfig(
      // Real-time cron with seconds: the runner takes a fresh PITR base snapshot every 8 seconds.
      quickstartConfig(sb, uri, { baseSnapshotSchedule: { value: "*/8 * * * * *" } }),
    );
    say("pulumi up --yes (./Pulumi.yaml → examples/quickstart/index.ts): BackupLocation + PitrPolicy + BackupInventory");
    const up = await stack.up();
    summary.push(`pulumi up: exit ${up.exitCode}, ${changes(up)} (${(up.durationMs / 1000).toFixed(1)} s)`);
    say(`Base snapshot ${(await stack.outputs()).baseSnapshot ?? "(already present)"} started by the PitrPolicy; watching the inventory fill`);

    say("Starting the runner: pulumi-pbm scheduler (runs the PitrPolicy's base-snapshot cadence from the cluster's registry)");
    const runner = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "pulumi-pbm"), "scheduler", "--interval", "1"], {
      env: { ...process.env, PBM_MONGODB_URI: uri },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let runnerLines = 0;
    runner.stderr.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n").filter(Boolean)) {
        runnerLines++;
        say(`  runner │ ${line.replace(/^\S+ /, "")}`);
      }
    });
    let inv = await readInventory({ mongodbUri: uri });
    try {
      for (let i = 0; i < 12; i++) {
        await sleep(2000);
        inv = await readInventory({ mongodbUri: uri });
        say(`inventory: ${describe(inv)}`);
        if (inv.snapshots.filter((s) => s.schedule).length >= 2 && inv.pitrRanges.some((r) => r.backed)) break;
      }
    } finally {
      runner.kill("SIGTERM");
    }
    const byRunner = inv.snapshots.filter((s) => s.schedule).length;
    summary.push(`runner: ${byRunner} base snapshot(s) taken on schedule (${runnerLines} runner log lines)`);
    summary.push(`inventory: ${describe(inv)}`);

    say("pulumi up --yes again: the stack's outputs now carry the inventory");
    await stack.up();
    const window = (await stack.outputs()).latestRestorableWindow as { start: string; end: string } | null;
    say(`pulumi stack output --json: latestRestorableWindow = ${JSON.stringify(window)}`);

    say("pulumi preview --refresh --expect-no-changes: the drift gate CI runs");
    const gate = await stack.driftGate();
    summary.push(`drift gate: exit ${gate.exitCode} (${gate.exitCode === 0 ? "no drift" : "drift"})`);

    if (!window) throw new Error("nothing became restorable; see the inventory lines above");
    const target = new Date(Math.max(Date.parse(window.start) + 60_000, Date.parse(window.end) - 5 * 60_000));
    say(`Restoring to a point in time: ${target.toISOString()}`);
    const restored = await restoreToPointInTime({ mongodbUri: uri, to: target, onProgress: (l) => say(`  ${l}`) });
    summary.push(`point-in-time restore to ${restored.target}: ${restored.status}${restored.error ? ` (${restored.error})` : ""}`);

    say("pulumi destroy --yes: PITR off, storage config kept, every backup object kept in the bucket");
    const destroyed = await stack.destroy();
    summary.push(`pulumi destroy: exit ${destroyed.exitCode}, ${changes(destroyed)}`);
  } finally {
    say("Stopping the sandbox");
    await sb.stop();
  }
  console.log(`\nSummary (${elapsed().trim()}):\n${summary.map((s) => `  - ${s}`).join("\n")}`);
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
