// The testbed: real servers on loopback that stand in for a MongoDB replica set (FerretDB, SQLite backend)
// and for S3 (MinIO), plus the offline environment for the Go-built Pulumi CLI. Every server is started
// through guard.js, so it dies with the process that started it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, mkdirSync, rmSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
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

/** The compiled sandbox (sandbox/tsconfig.json; `npm run build` at the root): what runs as a separate process. */
export const SANDBOX_DIST = path.join(REPO_ROOT, "sandbox", "dist");

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Cluster {
  /** Replica set name FerretDB reports in `hello` (`setName`). */
  replSetName: string;
  /** Connection string with credentials, through the wire shim; a secret, never print it. */
  mongodbUri: string;
  /** The wire shim's port (what pbm and the provider connect to). */
  port: number;
}

/** The pbm release the sandbox runs unless told otherwise (PULUMI_PBM_PBM_RELEASE). */
export const DEFAULT_PBM_RELEASE = process.env.PULUMI_PBM_PBM_RELEASE ?? "2.14.0";

export interface Sandbox {
  /** One FerretDB per simulated replica set, keyed by replica set name. */
  clusters: Record<string, Cluster>;
  /** The first cluster, for tests that need only one. */
  cluster: Cluster;
  s3: S3Endpoint;
  /** Directory holding pulumi and pulumi-resource-pulumi-nodejs (undefined when not requested). */
  pulumiBinDir?: string;
  /** The real pbm release this sandbox runs, e.g. "2.14.0"; its simulated agents report the same. */
  pbmRelease: string;
  /** Directory whose `pbm` runs that real release (put it first on PATH). */
  pbmBinDir: string;
  /** Temp directory with every server's data; removed by stop(). */
  dataDir: string;
  /** Offline environment for Pulumi runs (file backend, passphrase, no update check, no plugin downloads). */
  pulumiEnv(): Record<string, string>;
  /** Fault controls: kill a server (SIGKILL, no clean shutdown) and start it again on its port, data and keys. */
  servers: { minio: ServerControl; ferretdb: Record<string, ServerControl> };
  stop(): Promise<void>;
}

/** One server the testbed started, for fault tests. */
export interface ServerControl {
  /** SIGKILLs the server process (not only its guard) and waits until its port is closed. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data directory and credentials; waits until it answers. */
  start(): Promise<void>;
  readonly running: boolean;
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
  /** Real pbm release to run (built and cached on first use). Default DEFAULT_PBM_RELEASE. */
  pbmRelease?: string;
}

const toolDirs = new Map<string, string>();

/** Returns the bin directory of a Go-built tool, building it into the cache on first use. */
export function toolBinDir(tool: "pulumi" | "ferretdb" | "minio" | `pbm-${string}`): string {
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

/** One FerretDB (SQLite, SCRAM auth) under guard.js, without the shim or agents; `uriFor(port, direct)`. */
export async function startFerret(name: string, dir: string, verbose: boolean, again?: { port: number; password: string }) {
  const port = again?.port ?? (await freePort());
  const user = "pbmadmin";
  const password = again?.password ?? randomBytes(12).toString("hex");
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
  // FerretDB itself is one server: reached directly. Through the shim it answers as a three-member set.
  const uriFor = (p: number, direct = true) => `mongodb://${user}:${password}@127.0.0.1:${p}/?replicaSet=${name}&authSource=admin${direct ? "&directConnection=true" : ""}`;
  await waitFor(`FerretDB (${name})`, child, () => tcpOpen(port));
  await waitFor(`FerretDB (${name}) hello`, child, () => helloSetName(uriFor(port), name));
  return { upstreamUri: uriFor(port), port, password, uriFor, child };
}

async function helloSetName(uri: string, name: string): Promise<boolean> {
  const { MongoClient } = await import("mongodb");
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
  try {
    const hello = await client.db("admin").command({ hello: 1 });
    return hello.setName === name;
  } finally {
    await client.close();
  }
}

/**
 * A cluster as pbm sees it: FerretDB behind the agent process (the wire shim plus the simulated pbm-agents
 * of `release`, sandbox/pbm-sim/agentProcess.ts). Everything connects through the shim.
 */
async function startCluster(name: string, dir: string, release: string, verbose: boolean) {
  const ferret = await startFerret(name, dir, verbose);
  try {
    return { ...(await startAgents(name, ferret, release, verbose, dir)), ferret: { dir, port: ferret.port, password: ferret.password, child: ferret.child } };
  } catch (err) {
    ferret.child.stdin?.end();
    throw err;
  }
}

async function startAgents(name: string, ferret: Awaited<ReturnType<typeof startFerret>>, release: string, verbose: boolean, dir: string) {
  const entry = path.join(SANDBOX_DIST, "pbm-sim", "agentProcess.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const guard = path.join(REPO_ROOT, "sandbox", "testbed", "guard.js");
  // What the agents report (a failed tick) goes to the cluster's agents.log, or to this process's stderr.
  const logPath = path.join(dir, "agents.log");
  const log = verbose ? "inherit" : openSync(logPath, "a");
  const agents = spawn(process.execPath, [guard, process.execPath, entry], {
    // The AWS SDK's notice that later releases need node 22 would fill agents.log once per cluster.
    // PBM_SIM_LOG: where control calls that time out find what the agents last reported.
    env: { ...process.env, PBM_SIM_UPSTREAM_URI: ferret.upstreamUri, PBM_SIM_UPSTREAM_PORT: String(ferret.port), PBM_SIM_VERSION: release, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...(verbose ? {} : { PBM_SIM_LOG: logPath }) },
    stdio: ["pipe", "pipe", log],
  });
  if (typeof log === "number") closeSync(log);
  const shimPort = await new Promise<number>((resolve, reject) => {
    let buf = "";
    agents.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const line = buf.split("\n")[0];
      if (buf.includes("\n")) resolve(JSON.parse(line).port);
    });
    agents.once("exit", (code) => reject(new Error(`pbm agent simulator (${name}) exited with ${code} before it listened (rerun with PULUMI_PBM_SANDBOX_VERBOSE=1)`)));
  });
  agents.stdout!.resume();
  const mongodbUri = ferret.uriFor(shimPort, false);
  await waitFor(`wire shim (${name}) hello`, agents, () => helloSetName(mongodbUri, name));
  return { cluster: { replSetName: name, mongodbUri, port: shimPort }, children: [ferret.child, agents] };
}

/** One pbm call as the sandbox's wrapper records it under PBM_RECORD (variable names only, never values). */
export interface PbmCall {
  argv: string[];
  env: string[];
  exitCode: number;
  startedAt: string;
  /** When pbm exited (absent in records of older sandboxes). */
  endedAt?: string;
}

/** The calls recorded in a PBM_RECORD file, oldest first. */
export function readPbmCalls(file: string): PbmCall[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PbmCall);
}

/**
 * A directory with a `pbm` that runs the real release, recording each call under PBM_RECORD (variable names only,
 * never values): sandbox/testbed/pbmWrapper.sh.
 */
export function pbmWrapperDir(release: string, into: string): string {
  const real = path.join(toolBinDir(`pbm-${release}`), "pbm");
  const dir = path.join(into, `pbm-${release}`);
  mkdirSync(dir, { recursive: true });
  const body = readFileSync(path.join(REPO_ROOT, "sandbox", "testbed", "pbmWrapper.sh"), "utf8");
  writeFileSync(path.join(dir, "pbm"), `#!/usr/bin/env bash\n# pulumi-pbm sandbox: the real pbm ${release}.\nreal=${JSON.stringify(real)}\n${body}`, { mode: 0o755 });
  return dir;
}

async function startMinio(dir: string, verbose: boolean, again?: { port: number; consolePort: number; accessKeyId: string; secretAccessKey: string }) {
  const port = again?.port ?? (await freePort());
  const consolePort = again?.consolePort ?? (await freePort());
  const accessKeyId = again?.accessKeyId ?? "pbm-" + randomBytes(4).toString("hex");
  const secretAccessKey = again?.secretAccessKey ?? randomBytes(16).toString("hex");
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
  return { s3: { endpoint, region: "us-east-1", accessKeyId, secretAccessKey }, child, again: { port, consolePort, accessKeyId, secretAccessKey } };
}

/** The process ids whose parent is `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  const { readdirSync } = require("node:fs") as typeof import("node:fs");
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ")".
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * A server under guard.js that tests can kill and start again. kill() SIGKILLs the server itself (guard.js would
 * stop it with SIGTERM, a clean shutdown), then the guard exits; start() runs `restart` and tracks the new guard.
 */
function serverControl(what: string, port: number, first: ChildProcess, children: ChildProcess[], restart: () => Promise<ChildProcess>): ServerControl {
  let guard = first;
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  return {
    get running() {
      return alive(guard);
    },
    async kill() {
      if (!alive(guard)) return;
      const exited = new Promise<void>((resolve) => guard.once("exit", () => resolve()));
      const servers = childPids(guard.pid!);
      if (!servers.length) throw new Error(`${what}: cannot find the server process under its guard (pid ${guard.pid})`);
      for (const pid of servers) process.kill(pid, "SIGKILL");
      await exited;
      const deadline = Date.now() + 10_000;
      while (await tcpOpen(port)) {
        if (Date.now() > deadline) throw new Error(`${what}: port ${port} still open 10 s after SIGKILL`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async start() {
      if (alive(guard)) return;
      guard = await restart();
      children.push(guard);
    },
  };
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
    const pbmRelease = options.pbmRelease ?? DEFAULT_PBM_RELEASE;
    const pbmBinDir = pbmWrapperDir(pbmRelease, dataDir);
    // The agents report the version constant the binary prints (1.8.1's says 1.8.0), as real agents would.
    const agentVersion = JSON.parse(execFileSync(path.join(pbmBinDir, "pbm"), ["version", "--short", "--out=json"], { encoding: "utf8" })).Version;
    const minio = startMinio(dataDir, verbose);
    const started = await Promise.allSettled([
      minio.then((m) => ({ children: [m.child] })),
      ...replSets.map((name) => startCluster(name, path.join(dataDir, `ferretdb-${name}`), agentVersion, verbose)),
    ]);
    for (const s of started) if (s.status === "fulfilled") children.push(...s.value.children);
    const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    const m = await minio;
    const s3 = m.s3;
    const clusters: Record<string, Cluster> = {};
    const ferretdb: Record<string, ServerControl> = {};
    for (const s of started.slice(1)) {
      const { cluster: c, ferret } = (s as PromiseFulfilledResult<Awaited<ReturnType<typeof startCluster>>>).value;
      clusters[c.replSetName] = c;
      ferretdb[c.replSetName] = serverControl(`FerretDB (${c.replSetName})`, ferret.port, ferret.child, children, async () => (await startFerret(c.replSetName, ferret.dir, verbose, ferret)).child);
    }
    const servers = { minio: serverControl("MinIO", m.again.port, m.child, children, async () => (await startMinio(dataDir, verbose, m.again)).child), ferretdb };
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
      pbmRelease,
      pbmBinDir,
      dataDir,
      pulumiEnv: () => pulumiOfflineEnv({ pulumiHome, backendDir: backend, pulumiBinDir }),
      servers,
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
