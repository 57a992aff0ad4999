// The testbed: real servers on loopback that stand in for a MongoDB replica set (FerretDB, SQLite backend)
// and for S3 (MinIO), plus the offline environment for the Go-built Pulumi CLI. Every server is started
// through guard.js, so it dies with the process that started it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/** The repository root: the nearest directory above this file whose package.json is ours. */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "pulumi-pbm") return dir;
  }
  throw new Error(`cannot find the pulumi-pbm repository above ${from}`);
}

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Cluster {
  /** Replica set name FerretDB reports in `hello` (`setName`). */
  replSetName: string;
  /** Connection string with credentials; a secret, never print it. */
  mongodbUri: string;
  port: number;
}

export interface Sandbox {
  /** One FerretDB per simulated replica set, keyed by replica set name. */
  clusters: Record<string, Cluster>;
  /** The first cluster, for tests that need only one. */
  cluster: Cluster;
  s3: S3Endpoint;
  /** Directory holding pulumi and pulumi-resource-pulumi-nodejs (undefined when not requested). */
  pulumiBinDir?: string;
  /** Temp directory with every server's data; removed by stop(). */
  dataDir: string;
  /** Offline environment for Pulumi runs (file backend, passphrase, no update check, no plugin downloads). */
  pulumiEnv(): Record<string, string>;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  /** Replica set names to start, one FerretDB each. Default ["rs0"]. */
  replSets?: string[];
  /** Also build/locate the Pulumi CLI. Default true. */
  pulumi?: boolean;
  /** Print server output (debugging). */
  verbose?: boolean;
  /** Where to put data; default a fresh temp dir. */
  dataDir?: string;
}

const toolDirs = new Map<string, string>();

/** Returns the bin directory of a Go-built tool, building it into the cache on first use. */
export function toolBinDir(tool: "pulumi" | "ferretdb" | "minio"): string {
  const known = toolDirs.get(tool);
  if (known) return known;
  const script = path.join(REPO_ROOT, "sandbox", "scripts", "build-go-tools.sh");
  const out = execFileSync("bash", [script, tool], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const dir = out.trim().split("\n").pop()!;
  toolDirs.set(tool, dir);
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function startGuarded(exe: string, args: string[], env: NodeJS.ProcessEnv, verbose: boolean): ChildProcess {
  const guard = path.join(REPO_ROOT, "sandbox", "testbed", "guard.js");
  return spawn(process.execPath, [guard, exe, ...args], {
    env,
    stdio: ["pipe", verbose ? "inherit" : "ignore", verbose ? "inherit" : "ignore"],
  });
}

async function waitFor(what: string, child: ChildProcess, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} ${exited} before it answered (rerun with PULUMI_PBM_SANDBOX_VERBOSE=1 to see its log)`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} did not answer within ${timeoutMs / 1000}s`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = require("node:net").connect({ port, host: "127.0.0.1" });
    sock.once("connect", () => (sock.destroy(), resolve(true)));
    sock.once("error", () => resolve(false));
  });
}

async function startFerret(name: string, dir: string, verbose: boolean) {
  const port = await freePort();
  const user = "pbmadmin";
  const password = randomBytes(12).toString("hex");
  mkdirSync(path.join(dir, "sqlite"), { recursive: true });
  const exe = path.join(toolBinDir("ferretdb"), "ferretdb");
  const child = startGuarded(
    exe,
    [
      "--handler=sqlite",
      `--sqlite-url=file:${path.join(dir, "sqlite")}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--repl-set-name=${name}`,
      `--state-dir=${dir}`,
      "--debug-addr=-",
      "--telemetry=disable",
      "--log-level=warn",
      // Real SCRAM-SHA-256 authentication, so every URI carries a password that must never leak.
      "--test-enable-new-auth",
      "--setup-database=admin",
    ],
    { ...process.env, FERRETDB_TELEMETRY: "disable", FERRETDB_SETUP_USERNAME: user, FERRETDB_SETUP_PASSWORD: password },
    verbose,
  );
  const mongodbUri = `mongodb://${user}:${password}@127.0.0.1:${port}/?replicaSet=${name}&authSource=admin&directConnection=true`;
  await waitFor(`FerretDB (${name})`, child, () => tcpOpen(port));
  const { MongoClient } = await import("mongodb");
  await waitFor(`FerretDB (${name}) hello`, child, async () => {
    const client = new MongoClient(mongodbUri, { serverSelectionTimeoutMS: 2000 });
    try {
      const hello = await client.db("admin").command({ hello: 1 });
      return hello.setName === name;
    } finally {
      await client.close();
    }
  });
  return { cluster: { replSetName: name, mongodbUri, port }, child };
}

async function startMinio(dir: string, verbose: boolean) {
  const port = await freePort();
  const consolePort = await freePort();
  const accessKeyId = "pbm-" + randomBytes(4).toString("hex");
  const secretAccessKey = randomBytes(16).toString("hex");
  mkdirSync(path.join(dir, "minio"), { recursive: true });
  const exe = path.join(toolBinDir("minio"), "minio");
  const child = startGuarded(
    exe,
    ["server", path.join(dir, "minio"), "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
    {
      ...process.env,
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
      MINIO_CI_CD: "1",
      HOME: dir,
    },
    verbose,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor("MinIO", child, async () => {
    const res = await fetch(`${endpoint}/minio/health/ready`);
    return res.ok;
  });
  return { s3: { endpoint, region: "us-east-1", accessKeyId, secretAccessKey }, child };
}

/** Starts the servers on free loopback ports with data in a temp directory and waits until they answer. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const verbose = options.verbose ?? process.env.PULUMI_PBM_SANDBOX_VERBOSE === "1";
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "pulumi-pbm-sandbox-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.stdin?.end();
            setTimeout(() => (c.kill("SIGKILL"), resolve()), 8000).unref();
          }),
      ),
    );
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const replSets = options.replSets ?? ["rs0"];
    const minio = startMinio(dataDir, verbose);
    const ferrets = replSets.map((name) => startFerret(name, path.join(dataDir, `ferretdb-${name}`), verbose));
    const started = await Promise.allSettled([minio, ...ferrets]);
    for (const s of started) if (s.status === "fulfilled") children.push(s.value.child);
    const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    const s3 = (await minio).s3;
    const clusters: Record<string, Cluster> = {};
    for (const f of await Promise.all(ferrets)) clusters[f.cluster.replSetName] = f.cluster;
    const pulumiBinDir = options.pulumi === false ? undefined : toolBinDir("pulumi");
    const pulumiHome = path.join(dataDir, "pulumi-home");
    const backend = path.join(dataDir, "pulumi-state");
    mkdirSync(pulumiHome, { recursive: true });
    mkdirSync(backend, { recursive: true });
    return {
      clusters,
      cluster: clusters[replSets[0]],
      s3,
      pulumiBinDir,
      dataDir,
      pulumiEnv: () => pulumiOfflineEnv({ pulumiHome, backendDir: backend, pulumiBinDir }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The environment every Pulumi run needs here: local file backend, no login, no network. */
export function pulumiOfflineEnv(o: { pulumiHome: string; backendDir: string; pulumiBinDir?: string }): Record<string, string> {
  if (!existsSync(o.backendDir)) mkdirSync(o.backendDir, { recursive: true });
  return {
    PULUMI_BACKEND_URL: `file://${o.backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "pulumi-pbm-sandbox",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_HOME: o.pulumiHome,
    PULUMI_SKIP_CONFIRMATIONS: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    ...(o.pulumiBinDir ? { PATH: `${o.pulumiBinDir}${path.delimiter}${process.env.PATH ?? ""}` } : {}),
  };
}
