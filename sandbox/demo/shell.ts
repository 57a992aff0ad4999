// `npm run sandbox`: starts the sandbox and keeps it running so you can drive the quickstart by hand with the
// `pulumi` command from the repository root. It creates the bucket, runs `pulumi stack init sandbox` and
// `pulumi config set` (secrets on stdin) in the root (Pulumi.<stack>.yaml, as users keep it), and writes the
// environment to source into .pulumi-pbm-run/sandbox.env (mode 600: it holds the sandbox's passphrase and keys).
// Ctrl-C stops the servers and removes both files.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { clock, configureSimulator } from "../pbm-sim/control";
import { PulumiStackCli, quickstartConfig, sandboxCliEnv } from "../stack/cli";
import { REPO_ROOT, startSandbox } from "../testbed";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const STACK = process.env.PULUMI_PBM_SANDBOX_STACK ?? "sandbox";
const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

async function main(): Promise<void> {
  console.log("Starting the sandbox: FerretDB (MongoDB wire), MinIO (S3), the Go-built Pulumi CLI (first run builds them)");
  const sb = await startSandbox({ pulumi: true });
  const envFile = path.join(REPO_ROOT, ".pulumi-pbm-run", "sandbox.env");
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping the sandbox (its state, stacks and backups are deleted)");
    rmSync(envFile, { force: true });
    rmSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), { force: true });
    await sb.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  try {
    const uri = sb.cluster.mongodbUri;
    const s3 = new S3Client({ endpoint: sb.s3.endpoint, region: sb.s3.region, forcePathStyle: true, credentials: { accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: "pbm-backups" }));
    await configureSimulator(uri, { timings: { backupSec: 120, restoreSec: 60 } });
    await clock.run(uri, 60);

    const env = sandboxCliEnv(sb);
    // Pulumi.<stack>.yaml in the root, as users keep it; one left by an earlier session belongs to a sandbox that
    // is gone (and perhaps another passphrase), so it goes first.
    rmSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), { force: true });
    const stack = new PulumiStackCli({ projectDir: REPO_ROOT, stack: STACK, env });
    await stack.init();
    await stack.setConfig(quickstartConfig(sb, uri));

    mkdirSync(path.dirname(envFile), { recursive: true });
    const lines = [
      "# pulumi-pbm sandbox: source this file, then run pulumi from the repository root.",
      ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
      `export PBM_MONGODB_URI=${shellQuote(uri)}`,
      `export AWS_ACCESS_KEY_ID=${shellQuote(sb.s3.accessKeyId)}`,
      `export AWS_SECRET_ACCESS_KEY=${shellQuote(sb.s3.secretAccessKey)}`,
      "",
    ];
    writeFileSync(envFile, lines.join("\n"), { mode: 0o600 });
    console.log(`
Sandbox up: replica set "${sb.cluster.replSetName}" on 127.0.0.1:${sb.cluster.port}, S3 at ${sb.s3.endpoint} (bucket pbm-backups),
pbm from ${env.PATH.split(path.delimiter)[0]}. Stack "${STACK}" of ./Pulumi.yaml is initialised and configured.
In another shell, from ${REPO_ROOT}:

  source .pulumi-pbm-run/sandbox.env
  pulumi up --yes --stack ${STACK}
  pulumi preview --diff --stack ${STACK}
  pulumi stack output --stack ${STACK}
  pulumi preview --refresh --expect-no-changes --stack ${STACK}
  npx pulumi-pbm inventory
  pulumi destroy --yes --stack ${STACK}

Ctrl-C here stops the sandbox.`);
  } catch (err) {
    console.error(`sandbox failed: ${err instanceof Error ? err.message : err}`);
    await stop(1);
  }
  await new Promise(() => {}); // until Ctrl-C
}

void main();
