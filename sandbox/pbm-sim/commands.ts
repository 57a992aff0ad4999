// The pbm commands: flags, validation, output shapes and texts per release (reference §1.3, §6, §7, §8).
import { Timestamp } from "mongodb";
import { flag, parseError, type FlagSpec, type Parsed } from "./args";
import {
  castSetValue,
  castStorage,
  COMPRESSIONS,
  ConfigError,
  getPath,
  leafKind,
  maskConfig,
  orderConfig,
  parseConfigYaml,
  renderValue,
  sameStorage,
  toYaml,
  withReadDefaults,
} from "./config";
import { PbmError, type Output } from "./io";
import { pitrRanges, type PitrRange } from "./timeline";
import { atLeast, type Features, type PbmVersion } from "./version";
import { CMD_NAMES, opid, rfc3339, ts, tsSec, type World } from "./world";

export interface Ctx {
  world: World;
  p: Parsed;
  out: Output;
  f: Features;
  v: PbmVersion;
  readStdin: () => Promise<string>;
  stdinIsTTY: boolean;
}
type Handler = (c: Ctx) => Promise<void>;

const B = (name: string, short?: string, since?: string): FlagSpec => ({ name, short, type: "bool", since });
const S = (name: string, short?: string, since?: string): FlagSpec => ({ name, short, type: "string", since });
const SS = (name: string, short?: string, since?: string): FlagSpec => ({ name, short, type: "strings", since });

export const FLAGS: Record<string, FlagSpec[]> = {
  version: [B("short", "s"), B("commit", "c")],
  config: [S("file"), SS("set"), B("list"), B("force-resync"), B("include-restores", undefined, "2.10.0"), B("wait", "w", "2.4.0"), S("wait-time", undefined, "2.6.0")],
  backup: [S("type", "t"), B("base"), S("compression"), SS("compression-level"), S("ns", undefined, "2.0.0"), S("profile", undefined, "2.6.0"), B("wait", "w", "1.8.0"), S("wait-time", undefined, "2.6.0"), B("with-users-and-roles", undefined, "2.5.0"), S("num-parallel-collections", undefined, "2.7.0")],
  list: [B("restore"), B("unbacked", undefined, "1.8.0"), B("full", "f"), S("size"), S("profile", undefined, "2.13.0"), S("replset-remapping", undefined, "1.8.0")],
  status: [SS("sections", "s"), B("priority", "p", "2.6.0"), S("profile", undefined, "2.13.0"), S("replset-remapping", undefined, "1.8.0")],
  "describe-backup": [B("with-collections")],
  "delete-backup": [S("older-than"), S("type", "t", "2.4.0"), B("yes", "y", "2.1.0"), B("force", "f"), B("dry-run", undefined, "2.1.0"), S("profile", undefined, "2.13.0")],
  cleanup: [S("older-than"), B("yes", "y"), B("wait", "w"), S("wait-time", undefined, "2.6.0"), B("dry-run"), S("profile", undefined, "2.13.0")],
  "delete-pitr": [S("older-than"), B("all", "a"), B("yes", "y", "2.1.0"), B("force", "f"), B("wait", "w", "2.4.0"), S("wait-time", undefined, "2.6.0"), B("dry-run", undefined, "2.1.0")],
  restore: [S("time"), S("base-snapshot"), S("ns", undefined, "2.0.0"), B("yes", "y", "2.14.0"), B("wait", "w", "1.7.0"), S("wait-time", undefined, "2.6.0"), S("replset-remapping", undefined, "1.8.0")],
  "describe-restore": [S("config", "c")],
  "cancel-backup": [],
  "profile list": [],
  "profile show": [],
  "profile add": [B("sync"), B("wait", "w"), S("wait-time")],
  "profile remove": [B("wait", "w"), S("wait-time")],
  logs: [S("tail", "t"), S("node", "n"), S("severity", "s"), S("event", "e"), S("opid", "i"), B("extra", "x"), B("follow", "f")],
};

const SINCE: Record<string, string> = {
  "describe-backup": "2.0.0",
  "describe-restore": "2.0.0",
  cleanup: "2.1.0",
  profile: "2.6.0",
};

export function flagsFor(v: PbmVersion) {
  return (command: string[]): FlagSpec[] | undefined => {
    const key = command[0] === "profile" ? `profile ${command[1] ?? "list"}` : command[0];
    return FLAGS[key]?.filter((s) => !s.since || atLeast(v, s.since));
  };
}

export function commandExists(v: PbmVersion, name: string): boolean {
  if (!(name in FLAGS) && name !== "profile") return false;
  const since = SINCE[name];
  return !since || atLeast(v, since);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const err = (m: string) => new PbmError(m);

function parseWaitTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw err(`invalid argument "${s}" for "--wait-time" flag: time: invalid duration "${s}"`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "s"];
  return ms > 1000 ? ms : undefined;
}

async function concurrentOpCheck(c: Ctx): Promise<void> {
  const lock = await c.world.liveLock();
  if (!lock) return;
  const message = `another operation in progress, ${CMD_NAMES[lock.type] ?? lock.type}/${lock.opid ?? ""} [${lock.replset}/${lock.node}]`;
  const jsonBody = atLeast(c.v, "2.4.0")
    ? { error: "another operation in progress", operation: { node: lock.node, opid: lock.opid, replset: lock.replset, type: lock.type } }
    : { error: "another operation in progress", operation: { type: lock.type, replset: lock.replset, node: lock.node, opid: lock.opid } };
  throw new PbmError(message, "command", jsonBody);
}

async function sendCmd(c: Ctx, cmd: string, body: Record<string, unknown>): Promise<string> {
  const id = opid();
  await c.world.col("pbmCmd").insertOne({ _id: id as never, cmd, ...body, ts: c.world.nowSec(), simAgentsUp: c.world.allAgentsUp() });
  await c.world.tick();
  return id;
}

/** "Y/N" confirmation: without a TTY, pbm fails with "no tty". */
function confirm(c: Ctx, yes: boolean): void {
  if (yes) return;
  if (!c.stdinIsTTY) throw err("no tty");
}

/** `--older-than`: `2006-01-02T15:04:05`, `2006-01-02`, `<T>,<I>` or `<N>d`. */
function parseOlderThan(s: string | undefined, now: number): number {
  if (!s) throw err("parse --older-than: invalid format");
  const days = /^(\d+)d$/.exec(s);
  if (days) return now - Number(days[1]) * 86400;
  const t = parseTimeArg(s);
  if (t === undefined) throw err("parse --older-than: invalid format");
  return t;
}

function parseTimeArg(s: string): number | undefined {
  const tsForm = /^(\d+),(\d+)$/.exec(s);
  if (tsForm) return Number(tsForm[1]);
  if (s.length === 19 && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(s)) return Date.parse(s + "Z") / 1000;
  if (s.length === 10 && /^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(s + "T00:00:00Z") / 1000;
  return undefined;
}

// ---------- version ----------

const version: Handler = async (c) => {
  const info = {
    Version: c.v.raw,
    Platform: "linux/amd64",
    GitCommit: "0000000000000000000000000000000000000000",
    GitBranch: "release-" + c.v.raw,
    BuildTime: "2026-06-17_10:00_UTC",
    GoVersion: "go1.24.4",
  };
  if (flag.bool(c.p, "short")) return c.out.result({ Version: info.Version }, () => info.Version);
  if (flag.bool(c.p, "commit")) return c.out.result({ GitCommit: info.GitCommit }, () => info.GitCommit);
  c.out.result(info, () => Object.entries(info).map(([k, v]) => `${(k + ":").padEnd(11)}${v}`).join("\n"));
};

// ---------- config ----------

const config: Handler = async (c) => {
  const { world, p, out } = c;
  const sets = flag.all(p, "set").flatMap((s) => s.split(","));
  const key = p.args[0];
  if (flag.bool(p, "include-restores") && !flag.bool(p, "force-resync")) throw err("--include-restores cannot be used without --force-resync");
  const waitMs = parseWaitTime(flag.str(p, "wait-time"));
  if (sets.length) {
    await concurrentOpCheck(c);
    const cfg = await world.mainConfig();
    const results: { key: string; value: string }[] = [];
    let storageChanged = false;
    for (const kv of sets) {
      const eq = kv.indexOf("=");
      const k = eq >= 0 ? kv.slice(0, eq) : kv;
      const val = eq >= 0 ? kv.slice(eq + 1) : "";
      const kind = leafKind(k);
      if (!kind) throw err(`set ${k}: invalid config key`);
      if (!cfg) throw err(`set ${k}: config is not set`);
      let value: unknown;
      try {
        value = castSetValue(k, kind, val);
      } catch (e) {
        throw err((e as Error).message);
      }
      if (k === "pitr.compression" && !COMPRESSIONS.includes(val)) throw err(`set ${k}: unsupported compression type: "${val}"`);
      if (k === "storage.filesystem.path" && !val) throw err(`set ${k}: storage.filesystem.path can't be empty`);
      const update: Record<string, unknown> = { [k]: value };
      if (k === "pitr.enabled") update.epoch = ts(world.nowSec());
      await world.col("pbmConfig").updateOne({ profile: null }, { $set: update });
      if (k.startsWith("storage.") && /^storage\.(type|s3\.(region|bucket|prefix|endpointUrl))/.test(k)) storageChanged = true;
      results.push({ key: k, value: val });
    }
    if (storageChanged) await resync(c, waitMs);
    await world.tick();
    return out.result(results, () => results.map((r) => `[${r.key}=${r.value}]`).join("\n"));
  }
  if (key) {
    const cfg = await world.mainConfig();
    if (!leafKind(key) && !isStructKey(key)) throw err(`unable to get config key: invalid config key: ${key}`);
    if (!cfg) throw err("unable to get config key: get from db: mongo: no documents in result");
    const value = renderValue(getPath(cfg, key));
    return out.result({ key, value }, () => `[${key}=${value}]`);
  }
  if (flag.bool(p, "force-resync")) {
    await concurrentOpCheck(c);
    const wait = flag.bool(p, "wait");
    await sendCmd(c, "resync", flag.bool(p, "include-restores") ? { resync: { includeRestores: true } } : {});
    if (wait) await waitResync(c, waitMs);
    const msg = wait ? "Storage resync finished" : "Storage resync started";
    return out.result({ msg }, () => msg);
  }
  const file = flag.str(p, "file");
  if (file !== undefined) {
    await concurrentOpCheck(c);
    let text: string;
    if (file === "-") text = await c.readStdin();
    else {
      try {
        text = require("node:fs").readFileSync(file, "utf8");
      } catch (e) {
        const m = `open ${file}: no such file or directory`;
        throw err(`unable to get new config: open "${m}": ${m}`);
      }
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = parseConfigYaml(text);
      castStorage(parsed);
    } catch (e) {
      if (e instanceof ConfigError) throw err(e.message);
      throw e;
    }
    const old = await world.mainConfig();
    const doc = { ...parsed, epoch: ts(world.nowSec()) };
    await world.col("pbmConfig").replaceOne({ profile: null }, doc, { upsert: true });
    if (!old || !sameStorage(old.storage, parsed.storage)) {
      // A first config or another storage: agents resync (and write .pbm.init).
      await sendCmd(c, "resync", {});
      if (flag.bool(p, "wait")) await waitResync(c, waitMs);
    }
    await world.tick();
    const shown = maskConfig(orderConfig(structuredClone(parsed)), c.f, out.json);
    if (out.json) return out.result(shown, () => "");
    return out.result(null, () => "");
  }
  // list
  const cfg = await world.mainConfig();
  if (!cfg) throw err("get: mongo: no documents in result");
  const full = withReadDefaults(cfg);
  if (out.json) return out.result(maskConfig(full, c.f, true), () => "");
  const yaml = await toYaml(maskConfig(full, c.f, false));
  out.result(null, () => yaml);
};

function isStructKey(key: string): boolean {
  return ["storage", "pitr", "backup", "restore", "storage.s3", "storage.s3.credentials"].includes(key);
}

async function resync(c: Ctx, waitMs?: number): Promise<void> {
  await sendCmd(c, "resync", {});
  if (flag.bool(c.p, "wait")) await waitResync(c, waitMs);
}

/** Follows pbmLog for the newest resync's outcome. */
async function waitResync(c: Ctx, waitMs?: number): Promise<void> {
  const cmd = (await c.world.col("pbmCmd").find({ cmd: "resync" }).sort({ ts: -1, _id: -1 }).limit(1).toArray())[0];
  const id = String(cmd?._id ?? "");
  const deadline = waitMs ? Date.now() + waitMs : Infinity;
  for (;;) {
    const logs = await c.world.col("pbmLog").find({ opid: id, e: "resync" }).toArray();
    if (logs.some((l) => l.msg === "succeed")) return;
    const failure = logs.find((l) => l.s === 1);
    if (failure) throw err(`waiting for resync [opid "${id}"]: ${failure.msg}`);
    if (Date.now() > deadline) throw err(`waiting for resync [opid "${id}"]: Operation is in progress. Check pbm status and logs`);
    await sleep(1000);
    await c.world.tick();
  }
}

// ---------- backup ----------

const BACKUP_TYPES = ["physical", "logical", "incremental", "external"];

function validateNs(ns: string, logical: boolean): string[] {
  const list = ns.split(",").map((s) => s.trim()).filter(Boolean);
  if (!logical) throw err("--ns flag is only allowed for logical backup");
  for (const n of list) {
    const [db, coll] = n.split(/\.(.*)/s);
    if (!db || coll === undefined || coll === "") throw err(`parse --ns option: invalid namespace: "${n}"`);
    if (["admin", "config", "local"].includes(db)) throw err(`parse --ns option: "admin", "config", "local" databases are not allowed`);
    if (coll.startsWith("system.")) throw err(`parse --ns option: "system.*" collections are not allowed`);
  }
  return list;
}

const backup: Handler = async (c) => {
  const { world, p, out, f } = c;
  const type = flag.str(p, "type") ?? "logical";
  if (!BACKUP_TYPES.includes(type)) {
    if (!f.cobra) throw parseError(f, "", `enum value must be one of ${BACKUP_TYPES.join(",")}, got '${type}'`);
    throw err(`invalid type value: "${type}" (must be one of [${BACKUP_TYPES.join(" ")}])`);
  }
  const compression = flag.str(p, "compression");
  if (compression !== undefined && !COMPRESSIONS.includes(compression)) throw err(`invalid compression value: "${compression}" (must be one of [${COMPRESSIONS.join(" ")}])`);
  const nsFlag = flag.str(p, "ns");
  const nss = nsFlag ? validateNs(nsFlag, type === "logical") : undefined;
  const profile = flag.str(p, "profile");
  if (profile === "") throw err("empty profile name");
  const waitMs = parseWaitTime(flag.str(p, "wait-time"));

  // Pre-check: every replica set has an agent document.
  if (atLeast(c.v, "2.3.0")) {
    const missing: string[] = [];
    for (const rs of world.replsets()) if ((await world.col("pbmAgents").countDocuments({ rs: rs.name })) === 0) missing.push(rs.name);
    if (missing.length) throw err(`backup pre-check: no available agent(s) on replsets: ${missing.join(",")}`);
  }
  await concurrentOpCheck(c);
  const cfg = await world.mainConfig();
  if (!cfg) throw err(f.noConfigMessage);
  if (!cfg.storage?.type) throw err("get config: backups cannot be saved because PBM storage configuration hasn't been set yet");
  let storeConf = cfg.storage;
  if (profile && profile !== "main") {
    const prof = await world.col("pbmConfig").findOne({ name: profile, profile: true });
    if (!prof) throw err(`profile "${profile}" is not found`);
    storeConf = prof.storage;
  }
  const name = rfc3339(world.nowSec());
  if (await world.col("pbmBackups").findOne({ name })) throw err(`simulator: a backup named "${name}" already exists; advance the simulated clock between backups`);
  const level = flag.all(p, "compression-level")[0];
  await sendCmd(c, "backup", {
    backup: {
      type,
      base: flag.bool(p, "base"),
      name,
      ...(nss ? { nss } : {}),
      compression: compression ?? cfg.backup?.compression ?? "s2",
      ...(level !== undefined ? { level: Number(level) } : {}),
      ...(profile && profile !== "main" ? { profile } : {}),
    },
  });
  const storagePath = world.storage(storeConf).path(f);
  const waitsForStart = atLeast(c.v, "2.6.0") || !out.json;
  if (waitsForStart) {
    const meta = await world.col("pbmBackups").findOne({ name });
    if (!meta) throw err("no progress from leader, backup metadata not found");
    if (meta.status === "error") throw err(`${meta.error}\n- Backup on replicaset "${meta.replsets[0]?.name}" in state: error: ${meta.error}`);
  }
  const quoted = f.backupStoragePath ? `"${name}"` : `'${name}'`;
  let text = `Starting backup ${quoted}${profile && f.backupStoragePath ? ` (profile: "${profile}")` : ""}.`;
  if (flag.bool(p, "wait") && (atLeast(c.v, "2.6.0") || !out.json)) {
    const deadline = waitMs ? Date.now() + waitMs : Infinity;
    for (;;) {
      await world.tick();
      const meta = await world.col("pbmBackups").findOne({ name });
      if (meta?.status === "done" || meta?.status === "canceled") break;
      if (meta?.status === "error") throw err(String(meta.error));
      if (Date.now() > deadline) throw err("Operation is in progress. Check pbm status and logs");
      if (!out.json) out.raw(".");
      await sleep(1000);
    }
    text += `\nWaiting for '${name}' backup... done`;
  }
  const json = f.backupStoragePath
    ? { name, ...(profile && profile !== "main" ? { profile } : {}), storagePath }
    : { name, storage: storagePath };
  out.result(json, () =>
    f.backupStoragePath
      ? `${text}\nBackup "${name}" saved to remote store (${profile ? `profile: "${profile}", ` : ""}path: "${storagePath}")`
      : `${text}\nBackup '${name}' to remote store '${storagePath}'`,
  );
};

// ---------- list / status ----------

function snapshotStat(b: Record<string, any>, f: Features, forStatus: boolean): Record<string, unknown> {
  const done = b.status === "done";
  const restoreTo = done || !forStatus ? tsSec(b.last_write_ts) : b.last_transition_ts;
  const s: Record<string, unknown> = { name: b.name };
  if (f.profileField && b.store?.profile) s.profile = b.store.name;
  if (forStatus && f.profileField && b.store?.profile) s.storage = b.store.name;
  if (f.nss && b.nss?.length) s.nss = b.nss;
  if (forStatus) s.size = b.size ?? 0;
  s.status = b.status;
  if (f.printStatus) s.printStatus = done ? "success" : ["error", "canceled"].includes(b.status) ? "failed" : "ongoing";
  if (b.error && forStatus) s.error = b.error;
  if (f.restoreTo) s.restoreTo = restoreTo;
  else s.completeTS = restoreTo;
  s.pbmVersion = b.pbm_version;
  if (f.snapshotType) s.type = b.type;
  if (f.src) s.src = b.src_backup ?? "";
  return s;
}

async function pitrView(c: Ctx): Promise<{ ranges: PitrRange[]; perRs: Record<string, PitrRange[]>; size: number }> {
  const chunks = await c.world.col("pbmPITRChunks").find({}, { projection: { rs: 1, start_ts: 1, end_ts: 1, size: 1 } }).toArray();
  const bases = (await c.world.col("pbmBackups").find({ status: "done", type: { $ne: "external" } }).toArray())
    .filter((b) => !(b.nss?.length) && !b.store?.profile)
    .map((b) => tsSec(b.last_write_ts));
  const names = c.world.replsets().map((r) => r.name);
  const perRs: Record<string, PitrRange[]> = {};
  for (const rs of names) perRs[rs] = pitrRanges(chunks, [rs], bases);
  return { ranges: pitrRanges(chunks, names, bases), perRs, size: chunks.reduce((n, ch) => n + (ch.size ?? 0), 0) };
}

const fmtRange = (r: PitrRange) =>
  `  ${rfc3339(r.range.start).slice(0, 19)} - ${rfc3339(r.range.end).slice(0, 19)}${r.noBaseSnapshot ? " (no base snapshot)" : ""}`;

const list: Handler = async (c) => {
  const { world, p, out, f } = c;
  await world.tick();
  if (flag.bool(p, "restore")) {
    const rs = await world.col("pbmRestores").find({}).sort({ start_ts: 1 }).toArray();
    const json = rs.length
      ? rs.map((r) => ({
          start: r.start_ts,
          status: r.status,
          type: r.pitr ? (r.backup ? "pitr" : "replay") : "snapshot",
          ...(r.backup ? { snapshot: r.backup } : {}),
          ...(r.pitr ? { "point-in-time": r.pitr } : {}),
          name: r.name,
          ...(r.nss?.length ? { namespaces: r.nss } : {}),
          ...(r.error ? { error: r.error } : {}),
        }))
      : null;
    return out.result(json, () =>
      ["Restores history:", ...rs.map((r) => `  ${r.pitr ? `PITR: ${r.name} [restore time: ${rfc3339(r.pitr)}]` : `${r.name} [backup: ${r.backup}]`}\t${r.status === "error" ? `Failed with "${r.error}"` : r.status}`)].join("\n"),
    );
  }
  const resyncLock = (await world.col("pbmLock").find({ type: "resync" }).toArray()).find((l) => world.nowSec() - tsSec(l.hb) <= 30);
  if (resyncLock) {
    const msg = "Storage resync is running. Backups list will be available after sync finishes.";
    return out.result({ msg }, () => msg);
  }
  const cfg = await world.mainConfig();
  if (!cfg && atLeast(c.v, "2.4.0")) throw err("check if PITR is on: get config: missed config");
  const profile = flag.str(p, "profile");
  let backups = (await world.col("pbmBackups").find({ status: "done" }).sort({ start_ts: 1 }).toArray()).filter(
    (b) => !profile || (profile === "main" ? !b.store?.profile : b.store?.name === profile),
  );
  const size = Number(flag.str(p, "size") ?? 0);
  if (size > 0) backups = backups.slice(-size);
  const snapshots = backups.length ? backups.map((b) => snapshotStat(b, f, false)) : null;
  const pv = await pitrView(c);
  const unbacked = flag.bool(p, "unbacked");
  const show = (rs: PitrRange[]) => rs.filter((r) => unbacked || !r.noBaseSnapshot);
  const pitrOn = !!cfg?.pitr?.enabled;
  const pitr: Record<string, unknown> = { on: pitrOn, ranges: show(pv.ranges) };
  if (flag.bool(p, "full")) pitr.rsRanges = Object.fromEntries(Object.entries(pv.perRs).map(([k, v]) => [k, show(v)]));
  const hidePitr = f.pitrListOptional && profile && profile !== "main";
  out.result({ snapshots, ...(hidePitr ? {} : { pitr }) }, () => {
    const lines = ["Backup snapshots:"];
    if (f.profileField) {
      lines.push("  NAME                  TYPE        PROFILE  SELECTIVE  BASE  RESTORE TIME");
      for (const b of backups) lines.push(`  ${b.name.padEnd(21)} ${b.type.padEnd(11)} ${(b.store?.profile ? b.store.name : "").padEnd(8)} ${(b.nss?.length ? "yes" : "no").padEnd(10)} ${(b.type === "incremental" && !b.src_backup ? "yes" : "").padEnd(5)} ${rfc3339(tsSec(b.last_write_ts))}`);
    } else for (const b of backups) lines.push(`  ${b.name} <${b.type}> [restore_to_time: ${rfc3339(tsSec(b.last_write_ts))}]`);
    if (!hidePitr) {
      lines.push("", `PITR <${pitrOn ? "on" : "off"}>:`);
      for (const r of show(pv.ranges)) lines.push(fmtRange(r));
    }
    return lines.join("\n");
  });
};

const SECTIONS = ["cluster", "pitr", "running", "backups"];

function localLogTime(sec: number): string {
  return new Date(sec * 1000).toISOString().replace("Z", "+0000");
}

const status: Handler = async (c) => {
  const { world, p, out, f } = c;
  await world.tick();
  const asked = flag.all(p, "sections");
  for (const s of asked) if (!SECTIONS.includes(s)) throw err(`invalid sections value: "${s}" (must be one of [${SECTIONS.join(" ")}])`);
  const want = (s: string) => asked.length === 0 || asked.includes(s);
  const cfg = await world.mainConfig();
  const needsConfig = SECTIONS.filter(want).some((s) => s !== "running");
  if (!cfg && needsConfig) {
    const first = ["cluster", "pitr", "backups"].find(want)!;
    const tail = { cluster: "get cluster status: get config: get: mongo: no documents in result", pitr: "check for errors: get current epoch: get config: get: mongo: no documents in result", backups: "get config: get: mongo: no documents in result" }[first];
    throw err(`get status of ${first}: ${tail}`);
  }
  const result: Record<string, unknown> = {};
  const text: string[] = [];
  const now = world.nowSec();
  if (want("backups")) {
    const all = await world.col("pbmBackups").find({}).sort({ start_ts: 1 }).toArray();
    const main = all.filter((b) => !b.store?.profile);
    const storage = world.storage(cfg!.storage);
    const pv = await pitrView(c);
    result.backups = {
      type: cfg!.storage.type === "s3" ? "S3" : cfg!.storage.type === "filesystem" ? "FS" : "Unknown",
      path: storage.path(f),
      ...(cfg!.storage.s3?.region ? { region: cfg!.storage.s3.region } : {}),
      snapshot: all.length ? all.map((b) => snapshotStat(stale(b, now), f, true)) : null,
      pitrChunks: pv.ranges.length ? { pitrChunks: pv.ranges, size: pv.size } : { size: pv.size },
    };
    text.push("Backups:", "========", "Main storage:", `  Type:       S3`, `  Region:     ${cfg!.storage.s3?.region ?? ""}`, `  Path:       ${storage.path(f)}`);
    if (main.length === 0 && pv.ranges.length === 0) text.push("  (no snapshots or PITR chunks)");
    else {
      text.push("Snapshots:");
      for (const b of [...all].reverse()) text.push(`  ${b.name} ${b.size ?? 0} <${b.type}> [${b.status}]`);
      if (pv.ranges.length) {
        text.push(`PITR chunks [${(pv.size / 1024 / 1024).toFixed(2)}MB]:`);
        for (const r of pv.ranges) text.push(fmtRange(r));
      }
    }
  }
  if (want("cluster")) {
    const agents = await world.col("pbmAgents").find({}).toArray();
    result.cluster = world.replsets().map((rs) => ({
      rs: rs.name,
      nodes: rs.members.map((m) => {
        const a = agents.find((x) => x.n === m.host && x.rs === rs.name);
        const node: Record<string, unknown> = { host: f.hostWithoutRs ? m.host : `${rs.name}/${m.host}`, agent: a ? `v${a.v}` : "" };
        if (f.nodeRole) node.role = a ? m.role : "";
        if (f.prio) {
          node.prio_pitr = "";
          node.prio_backup = "";
        }
        const errors: string[] = [];
        if (a && now - tsSec(a.hb) > 30) errors.push(`lost agent, last heartbeat: ${tsSec(a.hb)}`);
        if (a && a.stors && !a.stors.ok) errors.push(`storage: ${a.stors.e}`);
        node.ok = !!a && errors.length === 0;
        if (errors.length) node.errors = errors;
        return node;
      }),
    }));
    const lines = ["Cluster:", "========"];
    for (const rs of result.cluster as { rs: string; nodes: Record<string, any>[] }[]) {
      lines.push(`${rs.rs}:`);
      for (const n of rs.nodes)
        lines.push(
          n.agent
            ? `  - ${n.host} [${n.role ?? ""}]: pbm-agent [${n.agent}] ${n.ok ? "OK" : `FAILED status:${(n.errors ?? []).map((e: string) => `\n      > ERROR with ${e}`).join("")}`}`
            : `  - ${n.host} [ ]: pbm-agent [NOT FOUND]`,
        );
    }
    text.unshift(...lines, "");
  }
  if (want("pitr")) {
    const lockOps = (await world.col("pbmLockOp").find({ type: "pitr" }).toArray()).filter((l) => now - tsSec(l.hb) <= 30);
    const conf = !!cfg!.pitr?.enabled;
    const run = lockOps.length > 0;
    const pitr: Record<string, unknown> = { conf, run };
    if (f.pitrNodes) pitr.nodes = conf && run ? lockOps.map((l) => `${l.replset}/${l.node}`) : null;
    if (conf) {
      const epoch = cfg!.epoch as Timestamp | undefined;
      const errs = (await world.col("pbmLog").find({ e: "pitr", s: 1, ep: epoch ?? new Timestamp({ t: 0, i: 0 }) }).sort({ ts: -1 }).toArray());
      const byRs = new Map<string, Record<string, any>>();
      for (const e of errs) if (!byRs.has(e.rs)) byRs.set(e.rs, e);
      const active = [...byRs.values()].filter((e) => !lockOps.some((l) => l.replset === e.rs));
      if (active.length) pitr.error = active.map((e) => `${localLogTime(e.ts)} E [${e.rs}/${e.node}] [pitr] ${e.msg}`).join("; ");
    }
    result.pitr = pitr;
    text.push("PITR incremental backup:", "========================", `Status [${conf ? "ON" : "OFF"}]`);
    if (conf && run) text.push(`Running members: ${lockOps.map((l) => `${l.replset}/${l.node}; `).join("")}`);
    if (pitr.error) text.push(`! ERROR while running PITR backup: ${pitr.error}`);
    text.push("");
  }
  if (want("running")) {
    const lock = await world.liveLock();
    let running: Record<string, unknown> = {};
    if (lock) {
      const meta = lock.type === "backup" ? await world.col("pbmBackups").findOne({ opid: lock.opid }) : lock.type === "restore" ? await world.col("pbmRestores").findOne({ opid: lock.opid }) : null;
      const st = lock.type === "backup" ? (meta?.status === "dumpDone" ? "oplog backup" : "snapshot backup") : lock.type === "restore" ? "snapshot restore" : meta?.status;
      running = { type: lock.type, opID: lock.opid, ...(meta ? { name: meta.name, startTS: meta.start_ts } : {}), ...(st ? { status: st } : {}) };
    }
    result.running = running;
    text.push("Currently running:", "==================", lock ? `${CMD_NAMES[lock.type] ?? lock.type} "${running.name ?? ""}", started at ${rfc3339(Number(running.startTS ?? now))}. Status: ${running.status}. [op id: ${lock.opid}]` : "(none)", "");
  }
  const sorted = Object.fromEntries(Object.keys(result).sort().map((k) => [k, result[k]]));
  out.result(sorted, () => text.join("\n"));
};

/** Backups whose heartbeat is older than 30 s show as stuck (reference §1.3 status). */
function stale(b: Record<string, any>, now: number): Record<string, any> {
  if (["starting", "running", "dumpDone"].includes(b.status) && now - tsSec(b.hb) > 30)
    return { ...b, status: "error", error: `Backup stuck at \`${b.status}\` stage, last beat ts: ${tsSec(b.hb)}` };
  return b;
}

// ---------- describe-backup ----------

function sizeH(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const describeBackup: Handler = async (c) => {
  const { world, p, out, f } = c;
  await world.tick();
  const name = p.args[0];
  const b = name ? await world.col("pbmBackups").findOne({ name }) : null;
  if (!b) throw err("get backup meta: get backup meta: not found");
  const times = (lw: number, lt: number) =>
    f.describeIntTimes
      ? { last_write_ts: lw, last_transition_ts: lt, last_write_time: rfc3339(lw), last_transition_time: rfc3339(lt) }
      : { last_write_ts: rfc3339(lw), last_transition_ts: rfc3339(lt) };
  const sz = (n: number, u: number) => ({ size: n, ...(f.sizeUncompressed ? { size_uncompressed: u } : {}), size_h: sizeH(n), ...(f.sizeUncompressed ? { size_uncompressed_h: sizeH(u) } : {}) });
  const desc = {
    name: b.name,
    ...(f.profileField && b.store?.profile ? { profile: b.store.name } : {}),
    ...(f.profileField ? { storage_type: b.store?.type ?? "s3" } : {}),
    ...(atLeast(c.v, "2.1.0") ? { opid: b.opid } : {}),
    type: b.type,
    ...times(tsSec(b.last_write_ts), b.last_transition_ts),
    ...(b.nss?.length ? { namespaces: b.nss } : {}),
    ...(f.profileField ? { sel_user_and_roles: false } : {}),
    mongodb_version: b.mongodb_version,
    ...(atLeast(c.v, "2.1.0") ? { fcv: b.fcv } : {}),
    pbm_version: b.pbm_version,
    status: b.status,
    ...sz(b.size ?? 0, b.size_uncompressed ?? 0),
    ...(b.error ? { error: b.error } : {}),
    replsets: b.replsets.map((rs: Record<string, any>) => ({
      name: rs.name,
      status: rs.status,
      ...(atLeast(c.v, "2.2.0") ? { node: rs.node } : {}),
      ...sz(rs.size ?? 0, rs.size_uncompressed ?? 0),
      ...times(tsSec(rs.last_write_ts), rs.last_transition_ts),
      ...(rs.iscs ? { configsvr: true } : {}),
      ...(rs.error ? { error: rs.error } : {}),
    })),
  };
  const yaml = await toYaml(desc);
  out.result(desc, () => yaml);
};

// ---------- deletes ----------

async function printListAfterDelete(c: Ctx): Promise<void> {
  const saved = c.p.flags;
  c.p.flags = new Map([["out", [c.p.out]]]);
  await list(c);
  c.p.flags = saved;
}

const deleteBackup: Handler = async (c) => {
  const { world, p, out, f } = c;
  await world.tick();
  const name = p.args[0];
  const olderThan = flag.str(p, "older-than");
  const type = flag.str(p, "type");
  if (!name && olderThan === undefined) throw err("either [name] or --older-than should be set");
  if (name && olderThan !== undefined) throw err("cannot use [name] and --older-than at the same command");
  if (type !== undefined && olderThan === undefined) throw err("cannot use --type without --older-than");
  const types = ["physical", "logical", "incremental", "external", "selective"];
  if (type !== undefined && !types.includes(type)) throw err(`invalid type value: "${type}" (must be one of [${types.join(" ")}])`);
  if (name && flag.str(p, "profile")) throw err("cannot use [name] with --profile");
  const now = world.nowSec();
  let targets: Record<string, any>[];
  if (name) {
    const b = await world.col("pbmBackups").findOne({ name });
    if (!b) throw err("get backup metadata: get backup meta: not found");
    if (["starting", "running", "dumpDone"].includes(b.status)) throw err("backup cannot be deleted: backup is in progress");
    if (b.type === "incremental" && b.src_backup) throw err("Removing a single incremental backup is not allowed; the entire chain must be removed instead.");
    const cfg = await world.mainConfig();
    if (f.lastBaseGuard && cfg?.pitr?.enabled) {
      const base = await world.lastBase();
      if (base?.name === b.name) throw err("backup cannot be deleted: cannot delete the last PITR base snapshot while PITR is enabled");
    }
    targets = b.type === "incremental" ? await world.incrementalChain(b.name) : [b];
  } else {
    const t = parseOlderThan(olderThan, now);
    if (t > now) throw err(`--older-than "${rfc3339(t)}" is after now "${rfc3339(now)}"`);
    targets = await world.deletableOlderThan(t, type, flag.str(p, "profile") ?? "main");
  }
  await concurrentOpCheck(c);
  out.raw(`Snapshots:\n${targets.map((b) => ` - "${b.name}" [size: ${sizeH(b.size ?? 0)} type: <${b.type}>, restore time: ${rfc3339(tsSec(b.last_write_ts))}]`).join("\n")}\n`);
  if (flag.bool(p, "dry-run")) return out.result({ msg: "" }, () => "");
  if (f.deleteNeedsYes) confirm(c, flag.bool(p, "yes") || flag.bool(p, "force"));
  out.raw("Waiting for delete to be done ");
  await sendCmd(c, "delete", name ? { delete: { backup: name } } : { delete: { olderthan: parseOlderThan(olderThan, now), type: type ?? "", profile: flag.str(p, "profile") ?? "" } });
  out.raw(".[done]\n");
  await printListAfterDelete(c);
};

const deletePitr: Handler = async (c) => {
  const { world, p, out, f } = c;
  await world.tick();
  const olderThan = flag.str(p, "older-than");
  const all = flag.bool(p, "all");
  if (olderThan === undefined && !all) throw err("either --older-than or --all should be set");
  if (olderThan !== undefined && all) throw err("cannot use --older-than and --all at the same command");
  const now = world.nowSec();
  const t = all ? now : parseOlderThan(olderThan, now);
  const chunks = await world.pitrChunksDeletable(t);
  if (chunks.length === 0) return out.result({ msg: "nothing to delete" }, () => "nothing to delete");
  const byRs = new Map<string, number>();
  for (const ch of chunks) byRs.set(ch.rs, (byRs.get(ch.rs) ?? 0) + 1);
  out.raw(`PITR chunks (by replset name):\n${[...byRs].map(([rs, n]) => ` ${rs}: ${n} chunks`).join("\n")}\n`);
  if (flag.bool(p, "dry-run")) return out.result({ msg: "" }, () => "");
  if (f.deleteNeedsYes) confirm(c, flag.bool(p, "yes") || flag.bool(p, "force"));
  await concurrentOpCheck(c);
  await sendCmd(c, "deletePitr", { deletePitr: { olderthan: t } });
  if (!flag.bool(p, "wait")) return out.result({ msg: "Processing by agents. Please check status later" }, () => "Processing by agents. Please check status later");
  out.raw("Waiting for delete to be done .[done]\n");
  await printListAfterDelete(c);
};

const cleanup: Handler = async (c) => {
  const { world, p, out } = c;
  await world.tick();
  const now = world.nowSec();
  const t = parseOlderThan(flag.str(p, "older-than"), now);
  const backups = await world.deletableOlderThan(t);
  const chunks = await world.col("pbmPITRChunks").countDocuments({ end_ts: { $lte: ts(t, 1) } });
  if (backups.length === 0 && chunks === 0) return out.result({ msg: "nothing to delete" }, () => "nothing to delete");
  out.raw(`Snapshots:\n${backups.map((b) => ` - "${b.name}"`).join("\n")}\n`);
  if (flag.bool(p, "dry-run")) return out.result({ msg: "" }, () => "");
  confirm(c, flag.bool(p, "yes"));
  await concurrentOpCheck(c);
  await sendCmd(c, "cleanup", { cleanup: { olderThan: ts(t, 0), profile: flag.str(p, "profile") ?? "main" } });
  if (!flag.bool(p, "wait")) return out.result({ msg: "Processing by agents. Please check status later" }, () => "Processing by agents. Please check status later");
  await printListAfterDelete(c);
};

// ---------- restore ----------

const restore: Handler = async (c) => {
  const { world, p, out, f } = c;
  await world.tick();
  const name = p.args[0];
  const time = flag.str(p, "time");
  if (name && time) throw err(atLeast(c.v, "2.9.0") ? "backup name and --time cannot be used together" : "either a backup name or point in time should be set, non both together!");
  if (!name && !time) throw err(atLeast(c.v, "2.9.0") ? "specify a backup name, --time, or --external" : "either a backup name or point in time should be set, non both together!");
  const nsFlag = flag.str(p, "ns");
  await concurrentOpCheck(c);
  const cfg = await world.mainConfig();
  if (!cfg) throw err("get epoch: query: mongo: no documents in result");
  let backupName: string | undefined = name;
  let target: number | undefined;
  if (time) {
    target = parseTimeArg(time);
    if (target === undefined) throw err("parse pitr: parse date: invalid format");
    const baseFlag = flag.str(p, "base-snapshot");
    if (baseFlag) {
      const b = await world.col("pbmBackups").findOne({ name: baseFlag });
      if (!b) throw err(`backup '${baseFlag}' not found`);
      if (b.status !== "done") throw err(`backup '${baseFlag}' didn't finish successfully`);
      backupName = baseFlag;
    } else if (f.noBaseFoundByCli) {
      const base = await world.lastBase(target + 1);
      if (!base) throw err("no base snapshot found");
      backupName = base.name;
    }
  } else {
    const b = await world.col("pbmBackups").findOne({ name });
    if (!b) throw err(`backup '${name}' not found`);
    if (b.status !== "done") throw err(`backup '${name}' didn't finish successfully`);
    if (nsFlag && b.type !== "logical") throw err("--ns flag is only allowed for logical restore");
  }
  const restoreName = new Date(world.now() * 1000).toISOString().replace(/\.(\d{3})Z$/, (_, ms) => `.${ms}${String(process.hrtime()[1]).padStart(9, "0").slice(3)}Z`);
  if (f.restoreYes) {
    if (!flag.bool(p, "yes")) {
      out.raw(`Restore: ${restoreName}${target !== undefined ? ` to point-in-time ${rfc3339(target)}` : ""}${backupName ? ` from '${backupName}'` : ""}\n`);
      confirm(c, false);
    }
  }
  await sendCmd(c, "restore", {
    restore: {
      name: restoreName,
      backupName: backupName ?? "",
      ...(nsFlag ? { nss: nsFlag.split(",") } : {}),
      ...(target !== undefined ? { oplogTS: ts(target, 0) } : {}),
      fallbackEnabled: false,
      allowPartlyDone: true,
      external: false,
    },
  });
  const json = { name: restoreName, ...(name ? { snapshot: name } : {}) };
  if (flag.bool(p, "wait")) {
    const meta = await world.col("pbmRestores").findOne({ name: restoreName });
    const kind = meta?.type === "physical" ? "physical" : "logical";
    out.raw(`Started ${kind} restore.\nWaiting to finish`);
    const waitMs = parseWaitTime(flag.str(p, "wait-time"));
    const deadline = waitMs ? Date.now() + waitMs : Infinity;
    for (;;) {
      await world.tick();
      const r = await world.col("pbmRestores").findOne({ name: restoreName });
      if (r?.status === "done") {
        out.raw(".");
        break;
      }
      if (r?.status === "error") {
        if (f.restoreWaitFailureExit0) {
          out.raw(`Error: ${r.error}.\n Try to check logs on node ${world.replsets()[0].members[1]?.host ?? ""}\n`);
          return out.result({}, () => "");
        }
        throw err(atLeast(c.v, "2.13.0") ? `operation failed with: ${r.error}` : String(r.error));
      }
      if (Date.now() > deadline) throw err("Operation is in progress. Check pbm status and logs");
      out.raw(".");
      await sleep(1000);
    }
    return out.result(json, () => `\nRestore successfully finished!`);
  }
  out.result(json, () => `Restore of the snapshot from '${backupName ?? ""}' has started.\nCheck restore status with: pbm describe-restore ${restoreName} -c </path/to/pbm.conf.yaml>`);
};

const describeRestore: Handler = async (c) => {
  const { world, p, out } = c;
  await world.tick();
  const r = p.args[0] ? await world.col("pbmRestores").findOne({ name: p.args[0] }) : null;
  if (!r) throw err("get restore meta: not found");
  const desc = {
    name: r.name,
    opid: r.opid,
    backup: r.backup,
    type: r.type,
    status: r.status,
    ...(r.status === "error" && r.error ? { error: r.error } : {}),
    ...(r.nss?.length ? { namespaces: r.nss } : {}),
    start: rfc3339(r.start_ts),
    ...(r.status === "done" ? { finish: rfc3339(r.last_transition_ts) } : {}),
    ...(r.pitr ? { ts_to_restore: r.pitr, time_to_restore: rfc3339(r.pitr) } : {}),
    last_transition_ts: r.last_transition_ts,
    last_transition_time: rfc3339(r.last_transition_ts),
    replsets: r.replsets.map((rs: Record<string, any>) => ({
      name: rs.name,
      status: rs.status,
      last_transition_ts: rs.last_transition_ts,
      last_transition_time: rfc3339(rs.last_transition_ts),
      ...(rs.error ? { error: rs.error } : {}),
    })),
  };
  const yaml = await toYaml(desc);
  out.result(desc, () => yaml);
};

const cancelBackup: Handler = async (c) => {
  await sendCmd(c, "cancelBackup", {});
  c.out.result({ msg: "Backup cancellation has started" }, () => "Backup cancellation has started");
};

// ---------- profiles ----------

const profile: Handler = async (c) => {
  const { world, p, out, f } = c;
  const sub = p.command[1] ?? "list";
  const name = p.args[0];
  const showOne = (doc: Record<string, any>) => ({ name: doc.name, profile: true, storage: maskConfig({ storage: doc.storage }, f, out.json).storage });
  if (sub === "list") {
    const docs = await world.col("pbmConfig").find({ profile: true }).toArray();
    const profiles = docs.map(showOne);
    const yamls = await Promise.all(profiles.map((d) => toYaml(d)));
    return out.result({ profiles }, () => yamls.join("---\n"));
  }
  if (name === "main") throw err("argument `profile-name` should not be \"main\"");
  if (sub === "show") {
    const doc = await world.col("pbmConfig").findOne({ name, profile: true });
    if (!doc) throw err(`profile "${name}" is not found`);
    const shown = showOne(doc);
    const yaml = await toYaml(shown);
    return out.result(shown, () => yaml);
  }
  if (sub === "add") {
    const file = p.args[1];
    if (!name || !file) throw err(`accepts 2 arg(s), received ${p.args.length}`);
    if (!(await world.mainConfig())) throw err("PBM is not configured");
    let text: string;
    if (file === "-") text = await c.readStdin();
    else text = require("node:fs").readFileSync(file, "utf8");
    let parsed: Record<string, unknown>;
    try {
      parsed = parseConfigYaml(text);
      castStorage(parsed);
    } catch (e) {
      throw err(`parse config: ${(e as Error).message.replace(/^unable to get new config: /, "")}`);
    }
    await concurrentOpCheck(c);
    const id = await sendCmd(c, "addConfigProfile", { profile: { name, profile: true, storage: parsed.storage } });
    const failure = await world.col("pbmLog").findOne({ opid: id, s: 1 });
    if (failure) throw err(`wait: ${failure.msg}`);
    return out.result({ msg: "OK" }, () => "OK");
  }
  if (sub === "remove") {
    if (!(await world.col("pbmConfig").findOne({ name, profile: true }))) throw err(`profile "${name}" is not found`);
    await concurrentOpCheck(c);
    await sendCmd(c, "removeConfigProfile", { profile: { name } });
    return out.result({ msg: "OK" }, () => "OK");
  }
  throw parseError(f, `unknown command "${sub}" for "pbm profile"`, `expected command but got "${sub}"`);
};

// ---------- logs ----------

const SEV = ["F", "E", "W", "I", "D"];
const logs: Handler = async (c) => {
  const { world, p, out } = c;
  await world.tick();
  const sev = flag.str(p, "severity") ?? "I";
  if (!SEV.includes(sev)) throw err(`invalid type value: "${sev}" (must be one of [D I W E F])`);
  const tail = Number(flag.str(p, "tail") ?? 20);
  const filter: Record<string, unknown> = { s: { $lte: SEV.indexOf(sev) } };
  const ev = flag.str(p, "event");
  if (ev) {
    const [e, obj] = ev.split("/");
    filter.e = e;
    if (obj) filter.eobj = obj;
  }
  const node = flag.str(p, "node");
  if (node) {
    const [rs, host] = node.split("/");
    filter.rs = rs;
    if (host) filter.node = host;
  }
  const id = flag.str(p, "opid");
  if (id) filter.opid = id;
  let entries = await world.col("pbmLog").find(filter).sort({ ts: -1, ns: -1 }).limit(tail > 0 ? tail : 0).toArray();
  entries = entries.reverse();
  const json = entries.map((l) => ({ ts: l.ts, s: l.s, rs: l.rs, node: l.node, e: l.e, eobj: l.eobj, ep: { T: tsSec(l.ep), I: l.ep ? l.ep.getLowBits() : 0 }, ...(l.opid ? { opid: l.opid } : {}), msg: l.msg }));
  out.result(json, () => entries.map((l) => `${rfc3339(l.ts)} ${SEV[l.s]} [${l.rs}/${l.node}] [${l.e}${l.eobj ? "/" + l.eobj : ""}] ${l.msg}`).join("\n"));
};

export const HANDLERS: Record<string, Handler> = {
  version,
  config,
  backup,
  list,
  status,
  s: status,
  "describe-backup": describeBackup,
  "delete-backup": deleteBackup,
  cleanup,
  "delete-pitr": deletePitr,
  restore,
  "describe-restore": describeRestore,
  "cancel-backup": cancelBackup,
  profile,
  logs,
};
