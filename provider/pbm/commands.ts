// The typed pbm API the rest of the provider uses. Each function is one pbm invocation (plus the cached
// version check).
import * as out from "./output";
import { runPbm, runPbmRaw, parsePbmJson, whenIdle, type PbmRunOptions } from "./run";
import { pbmFeatures } from "./version";
import { follow } from "./follow";
import { errors } from "../errors";
import { WriteSignal } from "../core/writeSignal";

export type { PbmRunOptions } from "./run";

export const pbm = {
  version: (o: PbmRunOptions) => pbmFeatures(o),

  /**
   * `pbm config --file`: the YAML (with secrets) travels on stdin; waits for the resync pbm starts. One
   * argument (`--file=-`): kingpin releases (≤ 2.8) take `-` after a space for a missing value. Releases
   * before 2.4 only read a path, so they get a named pipe (see withSecretPipe): no file ever holds the secrets.
   */
  async applyConfig(yaml: string, o: PbmRunOptions & { waitSec?: number }) {
    const f = await pbmFeatures(o);
    const wait = f.configWait && f.waitTime ? ["--wait", `--wait-time=${o.waitSec ?? 120}s`] : [];
    const run = () =>
      f.configFromStdin
        ? runPbm(["config", "--file=-", ...wait], out.anyOut, { ...o, stdin: yaml })
        : withSecretPipe(yaml, (file) => runPbm(["config", `--file=${file}`, ...wait], out.anyOut, o));
    return whenIdle("pbm config --file", o.waitSec ?? 120, run, o.onProgress);
  },

  /** `pbm config --set k=v ...` in one call. Never pass secrets here (pbm echoes values). */
  async setConfig(values: Record<string, string | number | boolean>, o: PbmRunOptions) {
    await pbmFeatures(o);
    const args = ["config", ...Object.entries(values).flatMap(([k, v]) => ["--set", `${k}=${v}`])];
    return whenIdle("pbm config --set", o.timeoutSec ?? 120, () => runPbm(args, out.setOut, o), o.onProgress);
  },

  async status(o: PbmRunOptions, sections: ("cluster" | "pitr" | "running" | "backups")[] = []) {
    await pbmFeatures(o);
    return runPbm(["status", ...sections.flatMap((s) => ["-s", s])], out.statusOut, o);
  },

  async list(o: PbmRunOptions, opts: { unbacked?: boolean } = {}) {
    await pbmFeatures(o);
    return runPbm(["list", ...(opts.unbacked ? ["--unbacked"] : [])], out.listOut, o);
  },

  async backup(o: PbmRunOptions, b: { type?: string; compression?: string; compressionLevel?: number; namespaces?: string[]; profile?: string; base?: boolean; wait?: boolean; waitSec?: number }) {
    const f = await pbmFeatures(o);
    const args = ["backup", `--type=${b.type ?? "logical"}`];
    if (b.base) args.push("--base");
    if (b.compression) args.push(`--compression=${b.compression}`);
    if (b.compressionLevel !== undefined) args.push(`--compression-level=${b.compressionLevel}`);
    if (b.namespaces?.length) args.push(`--ns=${b.namespaces.join(",")}`);
    if (b.profile) args.push(`--profile=${b.profile}`);
    // 1.x returns at once in JSON mode, --wait or not: follow the backup here instead.
    const pbmWaits = b.wait && f.backupWait && f.describeCommands;
    if (pbmWaits) args.push("--wait", ...(f.waitTime ? [`--wait-time=${b.waitSec ?? 3600}s`] : []));
    const started = await runPbm(args, out.backupOut, { ...o, timeoutSec: pbmWaits ? (b.waitSec ?? 3600) + 60 : o.timeoutSec });
    if (b.wait && !pbmWaits) await followBackup(started.name, o, b.waitSec ?? 3600);
    return started;
  },

  /** `describe-backup` (2.0+); older releases have only `list`, which carries the same status. */
  async describeBackup(name: string, o: PbmRunOptions): Promise<out.DescribeBackup> {
    const f = await pbmFeatures(o);
    if (f.describeCommands)
      return runPbm(["describe-backup", name], out.describeBackupOut, o).catch(async (err: Error) => {
        // 2.14 cannot describe a failed logical backup ("get snapshot size: missed file"); status still lists it.
        if (!/snapshot size|missed file/.test(err.message)) throw err;
        const snap = (await pbm.status(o, ["backups"])).backups?.snapshot?.find((s) => s.name === name);
        if (!snap) throw err;
        return { name, type: snap.type, status: snap.status, error: snap.error, size: snap.size, last_write_ts: snap.restoreTo };
      });
    const found = (await runPbm(["list"], out.listOut, o)).snapshots?.find((s) => s.name === name);
    if (!found) throw errors.pbmFailed(`pbm list has no backup named "${name}"`, { exitCode: 0, advice: "Check the name with `pbm list`." });
    return { name, type: found.type, status: found.status, error: found.error, size: found.size, last_write_ts: found.restoreTo };
  },

  /** Deletes one backup (and, for an incremental base, its chain) with the release's confirmation flag. */
  async deleteBackup(name: string, o: PbmRunOptions) {
    const f = await pbmFeatures(o);
    const args = ["delete-backup", name, ...(f.deleteNeedsConfirmation ? ["--yes"] : ["--force"])];
    const r = await runPbmRaw(args, o);
    // 1.x prints nothing in JSON mode; the list is the result either way.
    return r.stdout.trim() ? parsePbmJson(args, r.stdout, out.listOut) : runPbm(["list"], out.listOut, o);
  },

  async restore(o: PbmRunOptions, r: { backup?: string; time?: string; baseSnapshot?: string; namespaces?: string[] }) {
    const f = await pbmFeatures(o);
    const args = ["restore"];
    if (r.backup) args.push(r.backup);
    if (r.time) args.push(`--time=${r.time}`);
    if (r.baseSnapshot) args.push(`--base-snapshot=${r.baseSnapshot}`);
    if (r.namespaces?.length) args.push(`--ns=${r.namespaces.join(",")}`);
    if (f.restoreYes) args.push("--yes");
    return runPbm(args, out.restoreOut, o);
  },

  /** `describe-restore` (2.0+); older releases list restores with `list --restore`. */
  async describeRestore(name: string, o: PbmRunOptions): Promise<out.DescribeRestore> {
    const f = await pbmFeatures(o);
    if (f.describeCommands) return runPbm(["describe-restore", name], out.describeRestoreOut, o);
    const found = (await runPbm(["list", "--restore"], out.restoreListOut, o)).find((r) => r.name === name);
    if (!found) throw errors.pbmFailed(`pbm list --restore has no restore named "${name}"`, { exitCode: 0, advice: "Check `pbm list --restore`." });
    return { name, status: found.status, error: found.error, backup: found.snapshot };
  },

  /**
   * `pbm profile add`: pbm reads the profile only from a path (every release), so its secrets travel through a
   * named pipe (withSecretPipe). Like `config`, it waits (within timeoutSec) while another pbm operation holds
   * the lock, instead of failing with "another operation in progress".
   */
  async addProfile(name: string, yaml: string, o: PbmRunOptions) {
    await pbmFeatures(o);
    const run = () => withSecretPipe(yaml, (file) => runPbm(["profile", "add", name, file, "--wait"], out.msgOut, o));
    return whenIdle("pbm profile add", o.timeoutSec ?? 120, run, o.onProgress);
  },

  async removeProfile(name: string, o: PbmRunOptions) {
    await pbmFeatures(o);
    return whenIdle("pbm profile remove", o.timeoutSec ?? 120, () => runPbm(["profile", "remove", name, "--wait"], out.msgOut, o), o.onProgress);
  },

  async forceResync(o: PbmRunOptions & { waitSec?: number }) {
    const f = await pbmFeatures(o);
    return runPbm(["config", "--force-resync", ...(f.waitTime ? ["--wait", `--wait-time=${o.waitSec ?? 120}s`] : [])], out.msgOut, o);
  },
};

// Shared reads: what reads pbm's state once per cluster (inventory/shared.ts, resources/clusterReads.ts) listens here, and every call
// below that changes pbm's state tells it, before and after, with the cluster's URI. Wrapped in one place so the
// methods above stay one pbm invocation each.
const pbmWrites = new WriteSignal<[mongodbUri: string]>();
const WRITES = ["applyConfig", "setConfig", "backup", "deleteBackup", "restore", "addProfile", "removeProfile", "forceResync"] as const;

/** Calls `listener(mongodbUri)` around every pbm write through this adapter; returns the unsubscribe. */
export function onPbmWrite(listener: (mongodbUri: string) => void): () => void {
  return pbmWrites.listen(listener);
}

for (const name of WRITES) {
  const call = pbm[name] as (...args: unknown[]) => Promise<unknown>;
  (pbm as Record<string, unknown>)[name] = async (...args: unknown[]) => {
    const o = args.find((a): a is PbmRunOptions => !!a && typeof a === "object" && typeof (a as PbmRunOptions).mongodbUri === "string");
    return o ? pbmWrites.around([o.mongodbUri], () => call.apply(pbm, args)) : call.apply(pbm, args);
  };
}

/**
 * Runs `fn` with a path from which pbm reads `text` once, without `text` ever being written to a file: a named
 * pipe (mkfifo, mode 0600) in a fresh private directory (0700). pbm opens the path and reads; this process
 * opens the write end only once pbm has opened the read end (polling a non-blocking open), writes and closes,
 * so pbm reads to the end. The secrets live only in the kernel's pipe buffer between the two processes: a
 * SIGKILL of either leaves at most an empty pipe and its directory, never the secrets. The directory is removed
 * when pbm exits.
 */
async function withSecretPipe<T>(text: string, fn: (file: string) => Promise<T>): Promise<T> {
  const fs = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const { execFile } = await import("node:child_process");
  const dir = fs.mkdtempSync(path.join(tmpdir(), "pulumi-pbm-"));
  const fifo = path.join(dir, "config.yaml");
  let done = false;
  try {
    await new Promise<void>((resolve, reject) =>
      execFile("mkfifo", ["-m", "600", fifo], (err) => (err ? reject(errors.internal(`cannot make a named pipe for pbm's input (mkfifo: ${err.message})`, { cause: err })) : resolve())),
    );
    const feed = (async () => {
      const data = Buffer.from(text, "utf8");
      let fd: number | undefined;
      // ENXIO: no reader yet. pbm opens the path as it starts; stop trying once it has exited.
      while (fd === undefined && !done) {
        try {
          fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      if (fd === undefined) return;
      try {
        let off = 0;
        while (off < data.length && !done) {
          try {
            off += fs.writeSync(fd, data, off);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      } finally {
        fs.closeSync(fd);
      }
    })();
    feed.catch(() => undefined);
    try {
      return await fn(fifo);
    } finally {
      done = true;
      await feed.catch(() => undefined);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Follows a backup until it ends; fails with pbm's error if it ends in error or describing it keeps failing. */
async function followBackup(name: string, o: PbmRunOptions, waitSec: number): Promise<void> {
  const end = await follow({ describe: () => pbm.describeBackup(name, o), final: ["done", "canceled", "error"], timeoutSec: waitSec, pollMs: 1000, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
  if (end.ended === "lost") throw end.error;
  if (end.ended === "timeout") throw errors.pbmTimeout(`backup ${name} did not finish within ${waitSec}s`);
  if (end.last.status === "error") throw errors.pbmFailed(`backup ${name} failed: ${end.last.error ?? "no reason given"}`, { exitCode: 0, advice: "See `pbm logs` for the cause, then rerun." });
}
