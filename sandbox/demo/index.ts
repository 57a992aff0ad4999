// The README's main command: the quickstart stack end to end against the sandbox, with the pbm simulator's
// clock running 60× faster than real time (one real second is one simulated minute).
import { spawn } from "node:child_process";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { readInventory, type Inventory } from "../../provider/inventory";
import { restoreToPointInTime } from "../../provider/ops/restore";
import { clock, configureSimulator, pathWithSimulator } from "../pbm-sim/control";
import { openStack } from "../stack";
import { REPO_ROOT, startSandbox, type Sandbox } from "../testbed";

// The AWS SDK warns on every process that Node 20 support ends in 2027; the demo's output is for people.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s`;
const say = (msg: string) => console.log(`[${elapsed()}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(inv: Inventory): string {
  const done = inv.snapshots.filter((s) => s.status === "done").length;
  const w = inv.restorableWindow;
  return `${inv.snapshots.length} snapshot(s) (${done} done), ${inv.pitrRanges.length} PITR range(s)${w ? `, restorable ${w.earliest} … ${w.latest}` : ", nothing restorable yet"}`;
}

async function main(): Promise<void> {
  say("Starting the sandbox: FerretDB (MongoDB wire), MinIO (S3), and the Go-built Pulumi CLI (first run builds them, ~7 min)");
  const sb: Sandbox = await startSandbox({ pulumi: true });
  const summary: string[] = [];
  try {
    const uri = sb.cluster.mongodbUri;
    process.env.PATH = pathWithSimulator(process.env.PATH);
    const s3 = new S3Client({ endpoint: sb.s3.endpoint, region: sb.s3.region, forcePathStyle: true, credentials: { accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: "pbm-backups" }));
    await configureSimulator(uri, { timings: { backupSec: 120, restoreSec: 60 } });
    await clock.run(uri, 60);
    say(`Sandbox up: replica set "${sb.cluster.replSetName}" on 127.0.0.1:${sb.cluster.port}, S3 at ${sb.s3.endpoint}; pbm is the SIMULATOR in sandbox/pbm-sim (clock ×60)`);

    const stack = await openStack({
      workDir: path.join(REPO_ROOT, "examples", "quickstart"),
      programModule: path.join(REPO_ROOT, "dist", "examples", "quickstart", "index.js"),
      stackName: "demo",
      pulumiBinDir: sb.pulumiBinDir!,
      env: { ...sb.pulumiEnv(), PATH: pathWithSimulator(sb.pulumiEnv().PATH) },
      config: {
        mongodbUri: { value: uri, secret: true },
        bucket: { value: "pbm-backups" },
        prefix: { value: "rs0" },
        endpointUrl: { value: sb.s3.endpoint },
        accessKeyId: { value: sb.s3.accessKeyId, secret: true },
        secretAccessKey: { value: sb.s3.secretAccessKey, secret: true },
        oplogSpanMin: { value: "1" },
        // Real-time cron with seconds: the runner takes a fresh PITR base snapshot every 8 seconds.
        baseSnapshotSchedule: { value: "*/8 * * * * *" },
      },
    });
    say("pulumi up (examples/quickstart): BackupLocation + PitrPolicy + BackupInventory");
    const up = await stack.up({ onOutput: (l) => process.stdout.write(`        │ ${l}`.replace(/\n(?!$)/g, "\n        │ ")) });
    summary.push(`pulumi up: ${up.summary.result}, ${Object.entries(up.summary.resourceChanges ?? {}).map(([k, v]) => `${v} ${k}`).join(", ")}`);
    say(`Base snapshot ${up.outputs.baseSnapshot?.value ?? "(already present)"} started by the PitrPolicy; watching the inventory fill`);

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

    say("pulumi up again: the stack's outputs now carry the inventory");
    const again = await stack.up();
    const window = again.outputs.restorableWindow?.value as { earliest: string; latest: string } | null;
    say(`stack output restorableWindow = ${JSON.stringify(window)}`);

    if (!window) throw new Error("nothing became restorable; see the inventory lines above");
    const target = new Date(Math.max(Date.parse(window.earliest) + 60_000, Date.parse(window.latest) - 5 * 60_000));
    say(`Restoring to a point in time: ${target.toISOString()}`);
    const restored = await restoreToPointInTime({ mongodbUri: uri, to: target, onProgress: (l) => say(`  ${l}`) });
    summary.push(`point-in-time restore to ${restored.target}: ${restored.status}${restored.error ? ` (${restored.error})` : ""}`);

    say("pulumi destroy: PITR off, storage config kept, every backup object kept in the bucket");
    const destroyed = await stack.destroy();
    summary.push(`pulumi destroy: ${destroyed.summary.result}`);
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
