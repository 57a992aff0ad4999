// The fault matrix through the engine: each fault injected while the real `pulumi` command (or the real
// `pulumi-pbm scheduler`) runs against the sandbox, then removed. Every case asserts a non-zero exit with an error
// whose PBMP code names the cause (no stack trace, no secret), that nothing was lost (the backups in the bucket,
// pbm's config as before or put back, the registry not half-written), and that the next run converges.
//
// One sandbox, two clusters: rs0 carries the "main" stack (a BackupLocation and a PitrPolicy with a base
// snapshot), rs1 the "fresh" stack, whose PitrPolicy is created, failed and removed again for the faults that
// hit a base snapshot. The simulated clock runs in real time, so a failing backup fails (5 s after it starts)
// and PITR slices; tests advance it when a backup must finish.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNS, SCHEDULES } from "../../provider/registry";
import { closePbmClients, withPbmClient } from "../../provider/state/mongo";
import { clock, configureSimulator } from "../../sandbox/pbm-sim/control";
import { sandboxCliEnv, type PulumiStackCli } from "../../sandbox/stack/cli";
import { freePort, REPO_ROOT } from "../../sandbox/testbed";
import { createBucket, lastJson, listKeys, runPbm } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { cliStack, resourceCounts, type CliResult } from "../helpers/stack";

const output = (r: CliResult) => r.stdout + r.stderr;
const NO_STACK_TRACE = /\n\s+at .*\(.*:\d+:\d+\)/;
const BUCKET = "pbm-backups";

interface Outcome {
  fault: string;
  code: string;
  failedIn: number;
  convergedIn?: number;
  errorClear?: boolean;
  outcome: string;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("fault matrix through the pulumi command", () => {
  const sandbox = useSandbox({ replSets: ["rs0", "rs1"], pulumi: true });
  const outcomes: Outcome[] = [];
  const stacks: PulumiStackCli[] = [];
  let main: PulumiStackCli;
  let fresh: PulumiStackCli;
  let ctl: string; // the fault wrapper's control directory
  let faultPbm: string;
  let secrets: string[];
  const uri = (rs: "rs0" | "rs1") => sandbox().clusters[rs].mongodbUri;
  const cluster = (rs: "rs0" | "rs1") => sandbox().clusters[rs];

  const pbmConfig = async (rs: "rs0" | "rs1") => withPbmClient(uri(rs), (admin) => admin.collection("pbmConfig").findOne({ profile: null }, { projection: { _id: 0, epoch: 0 } }));
  const registry = (rs: "rs0" | "rs1") => withPbmClient(uri(rs), (admin) => admin.collection(SCHEDULES).find({}).toArray());
  const backups = async (rs: "rs0" | "rs1") => (await listKeys(sandbox().s3, BUCKET, `${rs}/`)).filter((k) => !k.includes(".pulumi-pbm-probe") && !k.endsWith(".pbm.init"));
  const snapshots = async (rs: "rs0" | "rs1") => (lastJson((await runPbm(cluster(rs), ["list", "-o", "json"])).stdout).snapshots ?? []) as { name: string; status: string }[];

  /**
   * The failing run: non-zero, the code and the cause, no stack trace, no secret. Soft for the wording, so the
   * case still checks what was left and the convergence (the table says "error unclear").
   */
  function expectClearError(r: CliResult, code: string, cause: RegExp): void {
    expect(r.exitCode, output(r)).not.toBe(0);
    const text = output(r);
    for (const s of secrets) expect(text).not.toContain(s);
    const clear = text.includes(`[${code}]`) && cause.test(text) && !NO_STACK_TRACE.test(text);
    if (!clear && current) current.errorClear = false;
    expect.soft(text).toContain(`[${code}]`);
    expect.soft(text).toMatch(cause);
    expect.soft(text).not.toMatch(NO_STACK_TRACE);
  }
  let current: Outcome | undefined;
  const failing = (s: PulumiStackCli, extra: string[] = []) => s.up(extra).catch((e: { result?: CliResult }) => e.result ?? Promise.reject(e));
  const configRm = (s: PulumiStackCli, key: string) => s.run(s.withConfig("config", "rm", key));

  /** Runs one case: records how long the failing run and the converging run took, and the outcome. */
  async function record(fault: string, code: string, body: (t: { failed(r: CliResult): void; converged(r: CliResult): void }) => Promise<void>) {
    const o: Outcome = { fault, code, failedIn: 0, outcome: "FAILED" };
    outcomes.push(o);
    current = o;
    await body({ failed: (r) => (o.failedIn = r.durationMs), converged: (r) => (o.convergedIn = r.durationMs) });
    o.outcome = o.errorClear === false ? "converged; error unclear" : "converged";
  }

  beforeAll(async () => {
    const sb = sandbox();
    await createBucket(sb.s3, BUCKET);
    for (const rs of ["rs0", "rs1"] as const) await clock.run(uri(rs), 1, new Date("2026-06-20T10:00:00Z"));
    // rs1's backups take 3 s (and an injected failure ends one 3 s after it starts), so its base snapshots need no push.
    await configureSimulator(uri("rs1"), { timings: { backupSec: 3 } });
    secrets = [uri("rs0"), uri("rs1"), sb.s3.secretAccessKey, new URL(uri("rs0").replace("mongodb://", "http://")).password, new URL(uri("rs1").replace("mongodb://", "http://")).password];
    // A pbm that runs the sandbox's real pbm unless told otherwise through files in `ctl`:
    //   hang   (an extended regex on the arguments): matching calls never finish;
    //   pause  (one shot): the first matching call writes `paused` (holding its caller's pid) and waits for `go`
    //          before it runs pbm;
    //   after  (one shot): the first matching call runs pbm, then writes `paused` and waits for `go` to exit.
    ctl = path.join(sb.dataDir, "fault-pbm");
    mkdirSync(ctl, { recursive: true });
    faultPbm = path.join(ctl, "pbm");
    writeFileSync(
      faultPbm,
      `#!/usr/bin/env bash
ctl=${JSON.stringify(ctl)}
args=" $* "
if [[ -f "$ctl/hang" ]] && grep -qE -- "$(cat "$ctl/hang")" <<<"$args"; then exec sleep 3600; fi
if [[ -f "$ctl/pause" ]] && grep -qE -- "$(cat "$ctl/pause")" <<<"$args"; then
  rm -f "$ctl/pause"; echo "$PPID" > "$ctl/paused"
  for _ in $(seq 1200); do [[ -e "$ctl/go" ]] && break; sleep 0.1; done
  rm -f "$ctl/go" "$ctl/paused"
fi
if [[ -f "$ctl/after" ]] && grep -qE -- "$(cat "$ctl/after")" <<<"$args"; then
  rm -f "$ctl/after"
  ${JSON.stringify(path.join(sb.pbmBinDir, "pbm"))} "$@"; code=$?
  touch "$ctl/paused"
  for _ in $(seq 1200); do [[ -e "$ctl/go" ]] && break; sleep 0.1; done
  rm -f "$ctl/go" "$ctl/paused"
  exit $code
fi
exec ${JSON.stringify(path.join(sb.pbmBinDir, "pbm"))} "$@"
`,
    );
    chmodSync(faultPbm, 0o755);
    const config = (rs: "rs0" | "rs1", extra: Record<string, string>) => ({
      mongodbUri: { value: uri(rs), secret: true },
      bucket: { value: BUCKET },
      prefix: { value: rs },
      endpointUrl: { value: sb.s3.endpoint },
      accessKeyId: { value: sb.s3.accessKeyId, secret: true },
      secretAccessKey: { value: sb.s3.secretAccessKey, secret: true },
      pbmPath: { value: faultPbm },
      ...Object.fromEntries(Object.entries(extra).map(([k, value]) => [k, { value }])),
    });
    // The program has no tsconfig.json: transpile only (as the rules test program does).
    const env = { PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
    [main, fresh] = await Promise.all([
      cliStack({ sandbox: sb, projectDir: "test/fixtures/faults-stack", stackName: "main", env, config: config("rs0", { baseSnapshotSchedule: "*/5 * * * * *" }) }),
      cliStack({ sandbox: sb, projectDir: "test/fixtures/faults-stack", stackName: "fresh", env, config: config("rs1", { pitr: "false" }) }),
    ]);
    stacks.push(main, fresh);
    // main: a BackupLocation and a PitrPolicy whose base snapshot is done
    expect((await main.up()).exitCode).toBe(0);
    await clock.advance(uri("rs0"), 120);
    await eventually("the base snapshot", async () => (await snapshots("rs0")).some((s) => s.status === "done"));
  });

  afterAll(async () => {
    await closePbmClients();
    const runs = stacks.flatMap((s) => s.history.filter((r) => !r.args.includes("config") && !r.args.includes("stack")).map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  ${s.stack}: ${r.command}`));
    console.log(`pulumi commands run:\n${runs.join("\n")}`);
    const sec = (ms?: number) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
    const rows = outcomes.map((o) => `  ${o.fault.padEnd(34)} ${o.code.padEnd(10)} ${sec(o.failedIn).padStart(8)} ${sec(o.convergedIn).padStart(9)}  ${o.outcome}`);
    console.log(
      [`  ${"FAULT".padEnd(34)} ${"CODE".padEnd(10)} ${"FAILED".padStart(8)} ${"CONVERGED".padStart(9)}  OUTCOME`, ...rows, `faults: ${outcomes.length} cases, ${outcomes.filter((o) => o.outcome.startsWith("converged")).length} converged, ${outcomes.filter((o) => o.outcome === "converged").length} with a clear error`].join("\n"),
    );
  });

  it("MinIO down at create: the BackupLocation fails with PBMP-3002 naming the endpoint, pbm is untouched, and the next up creates it", async () => {
    await record("MinIO down at create", "PBMP-3002", async (t) => {
      await sandbox().servers.minio.kill();
      let r: CliResult;
      try {
        r = await failing(fresh);
      } finally {
        await sandbox().servers.minio.start();
      }
      t.failed(r);
      expectClearError(r, "PBMP-3002", /endpoint is unreachable/);
      expect(await pbmConfig("rs1")).toBeNull();
      // MinIO kept what it had (main's base snapshot)
      expect((await backups("rs0")).length).toBeGreaterThan(0);

      const up = await fresh.up();
      t.converged(up);
      expect(resourceCounts(up.stdout).create).toBe(1); // the location (the failed run created the stack)
      expect((await pbmConfig("rs1"))?.storage?.s3?.prefix).toBe("rs1");
    });
  });

  it("a hung pbm: PBMP-2005 after timeoutSec, pbm's PITR settings unchanged, the registry not pending, and the next up applies the change", async () => {
    await record("hung pbm", "PBMP-2005", async (t) => {
      writeFileSync(path.join(ctl, "hang"), "--set");
      await main.configSet("timeoutSec", "5");
      await main.configSet("oplogSpanMin", "2");
      let r: CliResult;
      try {
        r = await failing(main);
      } finally {
        rmSync(path.join(ctl, "hang"));
      }
      t.failed(r);
      expectClearError(r, "PBMP-2005", /did not finish within 5s/);
      expect((await pbmConfig("rs0"))?.pitr).toMatchObject({ enabled: true, oplogSpanMin: 1 });
      expect((await registry("rs0")).find((e) => e.kind === "pitrPolicy")).toMatchObject({ enabled: true });
      expect((await registry("rs0")).find((e) => e.kind === "pitrPolicy")?.pending).toBeFalsy();

      await configRm(main, "timeoutSec");
      const up = await main.up();
      t.converged(up);
      expect((await pbmConfig("rs0"))?.pitr).toMatchObject({ enabled: true, oplogSpanMin: 2 });
      expect((await main.preview({ extra: ["--expect-no-changes"] })).exitCode).toBe(0);
    });
  });

  it("storage denied (wrong secret key): PBMP-3002 from the probe before pbm is touched, without the key, and the next up converges", async () => {
    await record("storage denied (keys)", "PBMP-3002", async (t) => {
      const before = await pbmConfig("rs0");
      await main.configSetSecret("secretAccessKey", "wrong-" + sandbox().s3.secretAccessKey.slice(6));
      secrets.push("wrong-" + sandbox().s3.secretAccessKey.slice(6));
      const r = await failing(main);
      t.failed(r);
      expectClearError(r, "PBMP-3002", /secret access key is wrong|access denied/);
      expect(await pbmConfig("rs0")).toEqual(before);

      await main.configSetSecret("secretAccessKey", sandbox().s3.secretAccessKey);
      const up = await main.up();
      t.converged(up);
      expect(resourceCounts(up.stdout)).not.toHaveProperty("update");
    });
  });

  it("storage unreachable (an endpoint on a closed port): PBMP-3002 naming the endpoint, pbm untouched, and the next up converges", async () => {
    await record("storage unreachable (endpoint)", "PBMP-3002", async (t) => {
      const before = await pbmConfig("rs0");
      const closed = `http://127.0.0.1:${await freePort()}`;
      await main.configSet("endpointUrl", closed);
      const r = await failing(main);
      t.failed(r);
      expectClearError(r, "PBMP-3002", new RegExp(`${closed.replace(/[./]/g, "\\$&")}.*unreachable`));
      expect(await pbmConfig("rs0")).toEqual(before);

      await main.configSet("endpointUrl", sandbox().s3.endpoint);
      const up = await main.up();
      t.converged(up);
      expect(resourceCounts(up.stdout)).not.toHaveProperty("update");
    });
  });

  /**
   * A fault that hits the base snapshot of a PitrPolicy being created on rs1 (which has no base snapshot): the
   * create fails with pbm's error, pbm's PITR settings are rolled back and the registry holds no entry; with the
   * fault gone the next up creates the policy and starts the base; then `pitr: false` and the base deleted put
   * rs1 back for the next case.
   */
  /** Back to no PitrPolicy and no base snapshot on rs1, whatever a case left. */
  async function resetRs1() {
    await eventually("rs1's backups to end", async () => !(await withPbmClient(uri("rs1"), (admin) => admin.collection("pbmLock").findOne({ type: "backup" }))));
    await fresh.configSet("pitr", "false");
    if ((await fresh.exportState()).includes("dynamic/pbm:PitrPolicy")) expect((await fresh.up()).exitCode).toBe(0);
    for (const s of await snapshots("rs1")) await runPbm(cluster("rs1"), ["delete-backup", s.name, "--yes", "-o", "json"]);
    await eventually("rs1's snapshots to be gone", async () => (await snapshots("rs1")).length === 0);
  }

  async function baseSnapshotFault(fault: string, code: string, cause: RegExp, inject: () => Promise<void>, clear: () => Promise<void>) {
    try {
      await record(fault, code, async (t) => {
        const keys = await backups("rs0");
        await inject();
        await fresh.configSet("pitr", "true");
        let r: CliResult;
        try {
          r = await failing(fresh);
        } finally {
          await clear();
        }
        t.failed(r);
        expectClearError(r, code, cause);
        expect((await pbmConfig("rs1"))?.pitr?.enabled ?? false).toBe(false);
        expect((await registry("rs1")).filter((e) => e.kind === "pitrPolicy")).toEqual([]);
        for (const k of keys) expect(await backups("rs0")).toContain(k);

        const up = await fresh.up();
        t.converged(up);
        expect(resourceCounts(up.stdout).create).toBe(1);
        expect((await pbmConfig("rs1"))?.pitr?.enabled).toBe(true);
        expect((await fresh.outputs()).baseSnapshot).toMatch(/^\d{4}-/);
      });
    } finally {
      await resetRs1();
    }
  }

  it("agents down while a PitrPolicy starts its base snapshot: PBMP-2001 naming the agents, PITR rolled back, and the next up creates it", async () => {
    await baseSnapshotFault(
      "agents down",
      "PBMP-2001",
      /no available agent\(s\)/,
      () => configureSimulator(uri("rs1"), { agentsDown: ["*"] }),
      () => configureSimulator(uri("rs1"), { agentsDown: [] }),
    );
  });

  it("a failing backup: the base fails after the create, the next preview shows the PitrPolicy changed, and that up takes a new base", async () => {
    try {
      await record("failing backup (after create)", "-", async (t) => {
        await configureSimulator(uri("rs1"), { faults: { failBackups: { count: 1, message: "mongodump: read tcp: connection reset by peer" } } });
        await fresh.configSet("pitr", "true");
        // The cluster's clock stands still during this up, so the base fails after it, however slow the machine.
        const at = await clock.now(uri("rs1"));
        await clock.set(uri("rs1"), at);
        const first = await fresh.up();
        t.failed(first);
        const base = (await fresh.outputs()).baseSnapshot as string;
        await clock.run(uri("rs1"), 1, at);
        // pbm list shows finished backups only: read the failed one from pbm's own collection.
        await eventually("the base to fail", async () => (await withPbmClient(uri("rs1"), (admin) => admin.collection("pbmBackups").findOne({ name: base })))?.status === "error");
        await configureSimulator(uri("rs1"), { faults: {} });

        // PITR has no base now: the next preview shows an update (before, it showed no change and PITR never sliced).
        const preview = await fresh.preview();
        expect(preview.stdout).toContain("~ pulumi-nodejs:dynamic/pbm:PitrPolicy: (update)");
        expect(preview.stdout).toContain("+ baseSnapshotMissing: true");
        const up = await fresh.up();
        t.converged(up);
        expect(resourceCounts(up.stdout).update).toBe(1);
        const second = (await fresh.outputs()).baseSnapshot as string;
        expect(second).not.toBe(base);
        await eventually("the new base to finish", async () => (await snapshots("rs1")).some((s) => s.name === second && s.status === "done"));
        expect(resourceCounts((await fresh.preview()).stdout).update ?? 0).toBe(0);
      });
    } finally {
      await resetRs1();
    }
  });

  it("storage denied to the agents: the base snapshot fails with PBMP-3002 (HTTP 403), PITR rolled back, and the next up creates it", async () => {
    await baseSnapshotFault(
      "storage denied (agents)",
      "PBMP-3002",
      /403|AccessDenied/,
      () => configureSimulator(uri("rs1"), { faults: { storage: "denied" } }),
      () => configureSimulator(uri("rs1"), { faults: {} }),
    );
  });

  it("agents killed during a BackupLocation update: PBMP-2001 naming the agents and the resync, pbm's storage put back, and the next up applies it", async () => {
    await record("agents killed", "PBMP-2001", async (t) => {
      const before = await pbmConfig("rs1");
      await configureSimulator(uri("rs1"), { agentsDown: ["*"], faults: { agentsKilled: true } });
      await fresh.configSet("resyncTimeoutSec", "8");
      await fresh.configSet("prefix", "rs1-moved");
      let r: CliResult;
      try {
        r = await failing(fresh);
      } finally {
        await configureSimulator(uri("rs1"), { agentsDown: [], faults: {} });
      }
      t.failed(r);
      expectClearError(r, "PBMP-2001", /resync.*pbm-agent/s);
      expect(output(r)).toContain("pbm's storage config was put back as it was");
      expect((await pbmConfig("rs1"))?.storage).toEqual(before?.storage);

      const up = await fresh.up();
      t.converged(up);
      expect(resourceCounts(up.stdout).update).toBe(1);
      expect((await pbmConfig("rs1"))?.storage?.s3?.prefix).toBe("rs1-moved");
      expect((await fresh.preview({ extra: ["--expect-no-changes"] })).exitCode).toBe(0);
    });
  });

  it("FerretDB killed mid-up (after pbm's PITR settings changed): PBMP-3001, and once it is back the next up converges", async () => {
    await record("FerretDB killed mid-up", "PBMP-3001", async (t) => {
      await main.configSet("oplogSpanMin", "3");
      writeFileSync(path.join(ctl, "after"), "config --set pitr");
      const running = failing(main);
      await eventually("pbm config --set", async () => existsSync(path.join(ctl, "paused")), 120_000);
      // pbm changed the PITR settings; the cluster is gone before the provider's next MongoDB call (the registry write).
      await sandbox().servers.ferretdb.rs0.kill();
      writeFileSync(path.join(ctl, "go"), "");
      let r: CliResult;
      try {
        r = await running;
      } finally {
        await sandbox().servers.ferretdb.rs0.start();
      }
      t.failed(r);
      expectClearError(r, "PBMP-3001", /lost the connection to mongodb:\/\/<credentials>@|cannot (connect|reach)|unreachable/i);
      const keys = await backups("rs0");
      expect(keys.length).toBeGreaterThan(0);

      const up = await main.up();
      t.converged(up);
      expect((await pbmConfig("rs0"))?.pitr).toMatchObject({ enabled: true, oplogSpanMin: 3 });
      const entry = (await registry("rs0")).find((e) => e.kind === "pitrPolicy");
      expect(entry).toMatchObject({ enabled: true });
      expect(entry?.pending).toBeFalsy();
      expect((await main.preview({ extra: ["--expect-no-changes"] })).exitCode).toBe(0);
      for (const k of keys) expect(await backups("rs0")).toContain(k);
    });
  });

  it("pulumi up SIGKILLed inside the PitrPolicy's update: the next up converges (pending operation cleared, registry whole)", async () => {
    await record("pulumi up SIGKILLed", "-", async (t) => {
      const before = (await pbmConfig("rs0"))?.pitr;
      await main.configSet("oplogSpanMin", "4");
      writeFileSync(path.join(ctl, "pause"), "config --set pitr");
      // The pulumi command and everything it started (language host, provider, pbm) in one process group, as a
      // CI runner cancelling a job kills it.
      const child = spawn("pulumi", main.withConfig("up", "--yes", "--color", "never"), { cwd: main.projectDir, env: { ...process.env, ...sandboxCliEnv(sandbox(), { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }) }, detached: true, stdio: "ignore" });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const started = Date.now();
      const providerHost = Number(await eventually("pbm config --set", async () => readFileSync(path.join(ctl, "paused"), "utf8").trim() || undefined, 120_000));
      process.kill(-child.pid!, "SIGKILL");
      await exited;
      t.failed({ durationMs: Date.now() - started } as CliResult);
      // The engine starts the provider host in a process group of its own, so the kill leaves it running. It sees
      // the engine gone and ends, and its pbm call with it: released now, the call would still change PITR.
      await eventually("the orphaned provider host to exit", async () => !isRunning(providerHost), 30_000);
      writeFileSync(path.join(ctl, "go"), "");
      await new Promise((r) => setTimeout(r, 1500));
      rmSync(path.join(ctl, "paused"), { force: true });
      rmSync(path.join(ctl, "go"), { force: true });
      expect((await pbmConfig("rs0"))?.pitr).toEqual(before); // killed before pbm ran, and never ran

      // The killed run left the DIY backend's lock: the next run says so and how to clear it (`pulumi cancel`).
      const locked = await failing(main);
      expect(locked.exitCode).not.toBe(0);
      expect(output(locked)).toMatch(/the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel/);
      expect((await main.run(["cancel", "--yes", "--stack", main.stack, "--non-interactive"])).exitCode).toBe(0);
      const up = await failing(main);
      t.converged(up);
      expect(up.exitCode, output(up)).toBe(0);
      expect((await pbmConfig("rs0"))?.pitr).toMatchObject({ enabled: true, oplogSpanMin: 4 });
      const entry = (await registry("rs0")).find((e) => e.kind === "pitrPolicy");
      expect(entry?.pending).toBeFalsy();
      expect((await main.preview({ extra: ["--expect-no-changes"] })).exitCode).toBe(0);
    });
  });

  it("the runner SIGKILLed mid-backup: the backup finishes, the next runner records its outcome and runs on", async () => {
    await record("runner SIGKILLed mid-backup", "-", async (t) => {
      const cli = path.join(REPO_ROOT, "bin", "pulumi-pbm");
      const env = { ...process.env, PBM_MONGODB_URI: uri("rs0"), PATH: `${sandbox().pbmBinDir}${path.delimiter}${process.env.PATH}` };
      // A base snapshot an earlier case started may still be running on the cluster's clock: let it finish, or
      // every pass would skip the job as "another pbm operation is running".
      await clock.advance(uri("rs0"), 120);
      await eventually("no pbm operation running", async () => (await snapshots("rs0")).every((s) => !["starting", "running", "dumpDone"].includes(s.status)) || undefined, 60_000);
      // Long-running, a pass a second: a pass that still finds another pbm operation running skips the job, and a
      // later pass starts it.
      const runner = spawn(process.execPath, [cli, "scheduler", "--interval", "1", "--lease", "3"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      let log = "";
      runner.stderr.on("data", (d: Buffer) => (log += d.toString()));
      runner.stdout.on("data", (d: Buffer) => (log += d.toString()));
      const exited = new Promise<void>((resolve) => runner.once("exit", () => resolve()));
      const started = Date.now();
      const name = await eventually("the runner to start a backup", async () => /started backup (\S+)/.exec(log)?.[1], 60_000).catch((err: Error) => {
        process.kill(-runner.pid!, "SIGKILL");
        throw new Error(`${err.message}; the runner said: ${log.slice(-3000)}`);
      });
      process.kill(-runner.pid!, "SIGKILL");
      await exited;
      t.failed({ durationMs: Date.now() - started } as CliResult);
      const run = await withPbmClient(uri("rs0"), (admin) => admin.collection(RUNS).findOne({ _id: name as never }));
      expect(run).toMatchObject({ status: "running" });

      // The backup goes on without the runner and finishes.
      await clock.advance(uri("rs0"), 120);
      await eventually("the backup to finish", async () => (await snapshots("rs0")).find((s) => s.name === name && s.status === "done"));
      await new Promise((r) => setTimeout(r, 3500)); // the killed runner's lease expires
      // The next runner finishes the record and runs the job again (its backup made to finish by moving time).
      const again = await new Promise<{ code: number | null; log: string; ms: number }>((resolve) => {
        const t0 = Date.now();
        const c = spawn(process.execPath, [cli, "scheduler", "--once", "--lease", "3"], { env, stdio: ["ignore", "pipe", "pipe"] });
        let l = "";
        c.stderr.on("data", (d: Buffer) => (l += d.toString()));
        c.stdout.on("data", (d: Buffer) => (l += d.toString()));
        const tick = setInterval(() => void clock.advance(uri("rs0"), 120).catch(() => undefined), 3000);
        c.once("exit", (code) => (clearInterval(tick), resolve({ code, log: l, ms: Date.now() - t0 })));
      });
      t.converged({ durationMs: again.ms } as CliResult);
      expect(again.log).toContain(`recovered the record of ${name}`);
      expect(again.code, again.log).toBe(0);
      expect(await withPbmClient(uri("rs0"), (admin) => admin.collection(RUNS).findOne({ _id: name as never }))).toMatchObject({ status: "done" });
      const entry = (await registry("rs0")).find((e) => e.kind === "pitrBase");
      expect(entry?.run).toMatchObject({ lastResult: "success" });
      expect(entry?.run?.lease).toBeUndefined();
      expect((await snapshots("rs0")).map((s) => s.name)).toContain(name);
    });
  });
});
