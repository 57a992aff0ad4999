// Issue 11 (hardening): secrets stay secret on every error path that is cheap to reach. A MongoDB password with
// `@ : / %` in it (percent-encoded in the URI, and once unencoded) and an S3 secret key, both made at run time,
// must not appear in any message, output, `pulumi-pbm` output, argv the pbm wrapper records (PBM_RECORD), or
// file left in the temp dir, including after a SIGKILL in the middle of `pbm profile add`.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupInventory, backupLocation, pitrPolicy, scheduledBackup } from "../../provider";
import { runPbmRaw } from "../../provider/pbm/run";
import { REPO_ROOT, readPbmCalls, toolBinDir } from "../../sandbox/testbed";
import { createBucket, locationInputs } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

/** Every file under `dir` (recursively) with its kind. */
function walk(dir: string): { file: string; kind: "file" | "fifo" | "dir" | "other" }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const file = path.join(dir, n);
    const st = lstatSync(file);
    if (st.isDirectory()) return [{ file, kind: "dir" as const }, ...walk(file)];
    return [{ file, kind: st.isFile() ? ("file" as const) : st.isFIFO() ? ("fifo" as const) : ("other" as const) }];
  });
}

/** The system temp dir, before the test points TMPDIR at its private one. */
const BASE_TMP = tmpdir();

describe("secrets on error paths", () => {
  const sandbox = useSandbox();
  const password = `P@ss:w/rd%${randomBytes(8).toString("hex")}`;
  const wrongS3Secret = `wrong-${randomBytes(12).toString("hex")}`;
  let work: string;
  let privateTmp: string;
  const savedTmp = process.env.TMPDIR;
  const record = () => path.join(work, "pbm-calls.jsonl");
  const host = () => `127.0.0.1:${sandbox().cluster.port}`;
  /** The cluster's real user with the test password, percent-encoded: authentication fails. */
  const wrongPassword = () => `mongodb://pbm:${encodeURIComponent(password)}@${host()}/?replicaSet=rs0&serverSelectionTimeoutMS=3000`;
  const unencoded = () => `mongodb://pbm:${password}@${host()}/?replicaSet=rs0`;
  const unreachable = () => `mongodb://pbm:${encodeURIComponent(password)}@127.0.0.1:1/?serverSelectionTimeoutMS=500&connectTimeoutMS=500`;
  /** Every form of every secret that must never show: raw, encoded, and the pieces an unencoded "@" splits the password into. */
  const forbidden = () => [password, encodeURIComponent(password), ...password.split("@").filter((p) => p.length >= 4), wrongS3Secret, sandbox().s3.secretAccessKey];
  const seen: { where: string; text: string }[] = [];
  const note = (where: string, text: string) => seen.push({ where, text });
  const errorOf = async (where: string, f: () => Promise<unknown>) => {
    const e = (await f().then(
      () => new Error(`${where}: expected a failure`),
      (x: unknown) => x,
    )) as Error;
    note(where, `${e.message}\n${e.stack}\n${JSON.stringify(e)}`);
    return e.message;
  };

  const location = (extra: Record<string, unknown> = {}) =>
    ({ ...locationInputs(sandbox().s3, sandbox().cluster.mongodbUri, "secrets"), ...extra }) as never;

  const runCli = (argv: string[], env: Record<string, string>) =>
    new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [path.join(REPO_ROOT, "bin", "pulumi-pbm"), ...argv], { env: { ...process.env, PBM_RECORD: record(), ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });

  beforeAll(async () => {
    work = mkdtempSync(path.join(BASE_TMP, "pulumi-pbm-secrets-"));
    privateTmp = mkdtempSync(path.join(BASE_TMP, "pulumi-pbm-tmp-"));
    // Everything the provider writes to the temp dir lands here, where the test can see it.
    process.env.TMPDIR = privateTmp;
    process.env.PBM_RECORD = record();
    await createBucket(sandbox().s3, "pbm-backups");
  });

  afterAll(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    delete process.env.PBM_RECORD;
    rmSync(work, { recursive: true, force: true });
    rmSync(privateTmp, { recursive: true, force: true });
  });

  it("keeps the password out of check failures, connection errors and pbm's own errors", { timeout: 60_000 }, async () => {
    // Given a password with @ : / % in it: unencoded it is refused by check, naming the fix
    for (const h of [pitrPolicy, scheduledBackup, backupLocation]) {
      const r = await h.check({}, { mongodbUri: unencoded(), name: "n", schedule: "0 2 * * *", bucket: "pbm-backups" });
      note("check (unencoded)", JSON.stringify(r));
      expect(r.failures?.[0].reason).toMatch(/^\[PBMP-1001\] property "mongodbUri": .*percent-encode/);
    }
    // Encoded, it passes check but cannot log in: every path that connects reports PBMP-3001
    expect(await errorOf("pitrPolicy.check", () => pitrPolicy.check({}, { mongodbUri: wrongPassword(), enabled: true }).then((r) => Promise.reject(new Error(JSON.stringify(r)))))).toMatch(/PBMP-3001|failures/);
    expect(await errorOf("backupInventory.read", () => backupInventory.read("inventory", { name: "inventory", mongodbUri: wrongPassword() } as never))).toMatch(/^\[PBMP-3001\]/);
    expect(await errorOf("backupLocation.create", () => backupLocation.create(location({ mongodbUri: wrongPassword() })))).toMatch(/^\[PBMP-3001\]/);
    expect(await errorOf("scheduledBackup.create", () => scheduledBackup.create({ mongodbUri: unreachable(), name: "n", schedule: "0 2 * * *", type: "logical", enabled: false } as never))).toMatch(/^\[PBMP-3001\]/);
    const sdk = createRequire(__filename)("pulumi-pbm") as typeof import("../../sdk");
    expect(await errorOf("getBackupInventory (unreachable)", () => sdk.getBackupInventory({ mongodbUri: unreachable() }))).toMatch(/^\[PBMP-3001\] getBackupInventory/);
    expect(await errorOf("getBackupInventory (unencoded)", () => sdk.getBackupInventory({ mongodbUri: unencoded() }))).toMatch(/^\[PBMP-1001\] getBackupInventory: property "mongodbUri"/);
    // pbm's own connection error, through the one module that runs pbm
    expect(await errorOf("pbm status", () => runPbmRaw(["status"], { mongodbUri: wrongPassword(), timeoutSec: 30 }))).toMatch(/^\[PBMP-3001\]/);
    expect(await errorOf("pbm status (unreachable)", () => runPbmRaw(["status"], { mongodbUri: unreachable(), timeoutSec: 30 }))).toMatch(/^\[PBMP-3001\]/);
  });

  it("keeps the S3 secret out of storage errors and pbm's argv, and leaves no file behind", { timeout: 90_000 }, async () => {
    // A wrong secret key: the probe fails before pbm is touched
    expect(await errorOf("backupLocation.create (wrong S3 key)", () => backupLocation.create(location({ credentials: { accessKeyId: sandbox().s3.accessKeyId, secretAccessKey: wrongS3Secret } })))).toMatch(/^\[PBMP-3002\]/);
    // The right one reaches pbm: on stdin (config) and through a named pipe (profile add, pbm 2.6+), never argv
    const { outs } = await backupLocation.create(location());
    note("backupLocation.create outs", JSON.stringify({ ...outs, credentials: undefined, mongodbUri: undefined }));
    const [major, minor] = sandbox().pbmRelease.split(".").map(Number);
    if (major > 2 || (major === 2 && minor >= 6)) await backupLocation.create(location({ profile: "second", prefix: "second" }));
    const calls = readPbmCalls(record());
    expect(calls.some((c) => c.argv[0] === "config" && c.argv.some((a) => a.startsWith("--file")))).toBe(true);
    note("recorded pbm argv", JSON.stringify(calls.map((c) => c.argv)));
    expect(walk(privateTmp), "nothing left in the temp dir").toEqual([]);
  });

  it("leaves no secret in a file when the process is SIGKILLed during pbm profile add", { timeout: 60_000 }, async () => {
    const release = sandbox().pbmRelease;
    // A pbm that waits before `profile add` reads its input, so the kill lands while the pipe is open.
    const slow = path.join(work, "slow-pbm");
    writeFileSync(slow, `#!/bin/sh\ncase "$1" in profile) sleep 30;; esac\nexec ${JSON.stringify(path.join(toolBinDir(`pbm-${release}`), "pbm"))} "$@"\n`);
    chmodSync(slow, 0o755);
    const secret = `killed-${randomBytes(12).toString("hex")}`;
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, "dist/provider/pbm/commands.js"))}).pbm.addProfile("killed", ${JSON.stringify(`storage:\n  type: s3\n  s3:\n    bucket: pbm-backups\n    credentials:\n      access-key-id: k\n      secret-access-key: `)} + process.env.THE_SECRET + "\\n", { mongodbUri: process.env.PBM_MONGODB_URI, pbmPath: process.argv[1], timeoutSec: 60 }).catch(() => {});`;
    const child = spawn(process.execPath, ["-e", script, slow], { env: { ...process.env, TMPDIR: privateTmp, THE_SECRET: secret, PBM_MONGODB_URI: sandbox().cluster.mongodbUri }, detached: true, stdio: "ignore" });
    try {
      // When: the pipe exists and pbm has started
      const deadline = Date.now() + 20_000;
      while (!walk(privateTmp).some((f) => f.kind === "fifo") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(walk(privateTmp).some((f) => f.kind === "fifo"), "the secrets wait in a named pipe").toBe(true);
      process.kill(-child.pid!, "SIGKILL"); // node and the pbm it started
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    // Then: what is left is an empty pipe in a private directory; no regular file holds the secret
    const left = walk(privateTmp);
    console.log(`after SIGKILL during profile add (pbm ${release}): ${left.map((f) => `${f.kind} ${path.relative(privateTmp, f.file)}`).join(", ")}`);
    for (const f of left) {
      expect(["dir", "fifo"]).toContain(f.kind);
      if (f.kind === "dir") expect(lstatSync(f.file).mode & 0o077).toBe(0);
    }
    note("left files", left.filter((f) => f.kind === "file").map((f) => readFileSync(f.file, "utf8")).join("\n"));
    expect(left.filter((f) => f.kind === "file")).toEqual([]);
    rmSync(privateTmp, { recursive: true, force: true });
    privateTmp = mkdtempSync(path.join(BASE_TMP, "pulumi-pbm-tmp-"));
    process.env.TMPDIR = privateTmp;
  });

  it("keeps secrets out of pulumi-pbm's output on every failing command", { timeout: 90_000 }, async () => {
    const runs = await Promise.all([
      runCli(["inventory"], { PBM_MONGODB_URI: wrongPassword() }),
      runCli(["check", "--max-pitr-lag", "15m"], { PBM_MONGODB_URI: wrongPassword() }),
      runCli(["scheduler", "--once"], { PBM_MONGODB_URI: unreachable() }),
    ]);
    runs.push(await runCli(["restore", "--to", "2026-06-20T11:00:00Z"], { PBM_MONGODB_URI: unencoded() }));
    runs.push(await runCli(["inventory", "--from-storage", "--bucket", "pbm-backups", "--endpoint-url", sandbox().s3.endpoint], { AWS_ACCESS_KEY_ID: sandbox().s3.accessKeyId, AWS_SECRET_ACCESS_KEY: wrongS3Secret }));
    for (const r of runs) {
      note("pulumi-pbm", r.stdout + r.stderr);
      expect(r.exitCode, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(/\[PBMP-\d{4}\]/);
    }
  });

  it("found none of the secrets anywhere it looked", () => {
    const argv = readPbmCalls(record()).map((c) => c.argv.join(" "));
    const places = [...seen, { where: "recorded pbm argv", text: argv.join("\n") }];
    console.log(`secrets test: ${places.length} texts checked (${argv.length} recorded pbm calls)`);
    for (const { where, text } of places) for (const s of forbidden()) expect(text.includes(s), `${where} shows a secret:\n${text.slice(0, 500)}`).toBe(false);
  });
});
