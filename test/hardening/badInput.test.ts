// Issue 11 (hardening): bad input, case by case. Every case is refused with its code (PBMP-1001 for input,
// the pbm codes where only the pbm run can tell), names the property or option, shows no stack trace and no
// secret, and leaves the cluster as it was: pbm's config, the schedule registry (admin.pulumiPbmSchedules) and
// the bucket listing are compared before and after every case. Handlers run in-process against one sandbox;
// `pulumi-pbm` runs as a child process, as users run it.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupInventory, backupLocation, pitrPolicy, scheduledBackup } from "../../provider";
import { REPO_ROOT, readPbmCalls } from "../../sandbox/testbed";
import { createBucket, listKeys } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

type Outcome = { text: string; code?: string };
interface Case {
  name: string;
  /** The code the refusal carries. */
  code: string;
  /** The property or option the text must name. */
  names: string | RegExp;
  run: () => Promise<Outcome>;
}

const STACK_FRAME = /\n\s+at .+[:(]\d+/;
const BUCKET = "pbm-backups";

describe("bad input", () => {
  const sandbox = useSandbox();
  // Secrets made at run time: a password with every character the URI spec makes special, and an S3 key.
  const password = `Pw@:/%${randomBytes(6).toString("hex")}`;
  const s3Secret = `S3-${randomBytes(12).toString("base64url")}`;
  const secrets = () => [password, encodeURIComponent(password), s3Secret, realPassword()];
  const realPassword = () => decodeURIComponent(/^mongodb:\/\/[^:]*:([^@]*)@/.exec(sandbox().cluster.mongodbUri)?.[1] ?? "none-none");
  const port = () => sandbox().cluster.port;
  /** A well-formed URI with the test password (properly encoded); nothing listens on port 1. */
  const goodShape = () => `mongodb://pbm:${encodeURIComponent(password)}@127.0.0.1:${port()}/?replicaSet=rs0`;
  const unencodedAt = () => `mongodb://pbm:${password.replace(/[:/%]/g, "x")}@127.0.0.1:${port()}/`;
  const real = () => sandbox().cluster.mongodbUri;
  let client: MongoClient;
  let work: string;
  const record = () => path.join(work, "pbm-calls.jsonl");

  const location = (extra: Record<string, unknown> = {}) => ({
    mongodbUri: goodShape(),
    bucket: BUCKET,
    endpointUrl: sandbox().s3.endpoint,
    credentials: { accessKeyId: sandbox().s3.accessKeyId, secretAccessKey: s3Secret },
    ...extra,
  });
  const pitr = (extra: Record<string, unknown> = {}) => ({ mongodbUri: goodShape(), name: "pitr", ...extra });
  const schedule = (extra: Record<string, unknown> = {}) => ({ mongodbUri: goodShape(), name: "nightly", schedule: "0 2 * * *", ...extra });

  async function clusterState(): Promise<string> {
    const admin = client.db("admin");
    const config = await admin.collection("pbmConfig").find({}, { projection: { _id: 0 } }).sort({ profile: 1, name: 1 }).toArray();
    const registry = await admin.collection("pulumiPbmSchedules").find({}).sort({ _id: 1 }).toArray();
    const keys = (await listKeys(sandbox().s3, BUCKET)).sort();
    return JSON.stringify({ config, registry, keys });
  }

  /** check(): failures only (never inputs), each on property "" with the code and the property in the reason. */
  const checked = (handler: { check: (o: Record<string, unknown>, n: Record<string, unknown>) => Promise<{ failures?: { property: string; reason: string }[]; inputs?: unknown }> }, news: Record<string, unknown>) => async (): Promise<Outcome> => {
    const r = await handler.check({}, news);
    expect(r.failures?.length, JSON.stringify(r)).toBeGreaterThan(0);
    for (const f of r.failures!) expect(f.property, "the engine prints a named property's value, secrets included (pulumi#19465)").toBe("");
    return { text: r.failures!.map((f) => f.reason).join("\n") };
  };
  const thrown = (f: () => Promise<unknown>) => async (): Promise<Outcome> => {
    const err = (await f().then(
      (v) => new Error(`expected a failure, got ${JSON.stringify(v).slice(0, 200)}`),
      (e: unknown) => e,
    )) as Error & { code?: string };
    return { text: `${err.message}\n${err.stack ?? ""}`, code: err.code };
  };

  const getBackupInventory = (args: unknown) => (createRequire(__filename)("pulumi-pbm") as typeof import("../../sdk")).getBackupInventory(args as never);

  function handlerCases(): Case[] {
    const cases: Case[] = [];
    const add = (resource: string, handler: Parameters<typeof checked>[0], base: (e?: Record<string, unknown>) => Record<string, unknown>, list: [string, Record<string, unknown>, string][]) => {
      for (const [what, extra, names] of list) cases.push({ name: `${resource}.check: ${what}`, code: "PBMP-1001", names: `property "${names}"`, run: checked(handler, base(extra)) });
    };
    add("BackupLocation", backupLocation, location, [
      ["a URI without a host", { mongodbUri: "mongodb://" }, "mongodbUri"],
      ["a mongodb+srv URI", { mongodbUri: `mongodb+srv://pbm:${encodeURIComponent(password)}@cluster0.example.net/` }, "mongodbUri"],
      ["an http URI", { mongodbUri: "http://mongo1:27017/" }, "mongodbUri"],
      ["an unencoded @ in the password", { mongodbUri: unencodedAt() }, "mongodbUri"],
      ["an unencoded : in the password", { mongodbUri: `mongodb://pbm:${password.replace(/[@/%]/g, "x")}@127.0.0.1:1/` }, "mongodbUri"],
      ["an unencoded / in the password", { mongodbUri: `mongodb://pbm:${password.replace(/[@:%]/g, "x")}@127.0.0.1:1/` }, "mongodbUri"],
      ["a stray % in the password", { mongodbUri: `mongodb://pbm:${password.replace(/[@:/]/g, "x").replace("%", "%z")}@127.0.0.1:1/` }, "mongodbUri"],
      ["a URI that is a number", { mongodbUri: 42 }, "mongodbUri"],
      ["a port above 65535", { mongodbUri: "mongodb://mongo1:70000/" }, "mongodbUri"],
      ["an uppercase bucket", { bucket: "Backups" }, "bucket"],
      ["a bucket with ..", { bucket: "a..b" }, "bucket"],
      ["a bucket that is a number", { bucket: 12 }, "bucket"],
      ["no bucket", { bucket: undefined }, "bucket"],
      ["a prefix with a leading /", { prefix: "/rs0" }, "prefix"],
      ["a region with spaces", { region: "US EAST" }, "region"],
      ["an endpoint that is not a URL", { endpointUrl: "not a url" }, "endpointUrl"],
      ["an ftp endpoint", { endpointUrl: "ftp://minio:9000" }, "endpointUrl"],
      ["an endpoint with credentials", { endpointUrl: `http://key:${s3Secret}@minio:9000` }, "endpointUrl"],
      ["forcePathStyle as a string", { forcePathStyle: "yes" }, "forcePathStyle"],
      ["an empty access key", { credentials: { accessKeyId: "", secretAccessKey: s3Secret } }, "credentials.accessKeyId"],
      ["a secret key that is a number", { credentials: { accessKeyId: "k", secretAccessKey: 5 } }, "credentials.secretAccessKey"],
      ["an unknown key in credentials", { credentials: { accessKeyId: "k", secretAccessKey: s3Secret, secret: s3Secret } }, "secret"],
      ["an unknown SSE algorithm", { serverSideEncryption: { sseAlgorithm: "rot13" } }, "serverSideEncryption.sseAlgorithm"],
      ["a lowercase storage class", { storageClass: "standard" }, "storageClass"],
      ["a part size below 5 MiB", { uploadPartSizeBytes: 1024 }, "uploadPartSizeBytes"],
      ["a part size above 5 GiB", { uploadPartSizeBytes: 1e12 }, "uploadPartSizeBytes"],
      ["a fractional part size", { uploadPartSizeBytes: 5242880.5 }, "uploadPartSizeBytes"],
      ["0 upload parts", { maxUploadParts: 0 }, "maxUploadParts"],
      ["10001 upload parts", { maxUploadParts: 10001 }, "maxUploadParts"],
      ["negative retries", { retryer: { numMaxRetries: -1 } }, "retryer.numMaxRetries"],
      ["a retry delay of 1e9 ms", { retryer: { minRetryDelayMs: 1e9 } }, "retryer.minRetryDelayMs"],
      ["a max retry delay below the min", { retryer: { minRetryDelayMs: 500, maxRetryDelayMs: 100 } }, "retryer.maxRetryDelayMs"],
      ["an unknown key in retryer", { retryer: { retries: 3 } }, "retries"],
      ['the profile "main"', { profile: "main" }, "profile"],
      ["a profile name with spaces", { profile: "my profile" }, "profile"],
      ["resyncTimeoutSec 1e7 (overflows Node's timer)", { resyncTimeoutSec: 1e7 }, "resyncTimeoutSec"],
      ["resyncTimeoutSec 0", { resyncTimeoutSec: 0 }, "resyncTimeoutSec"],
      ["a fractional resyncTimeoutSec", { resyncTimeoutSec: 1.5 }, "resyncTimeoutSec"],
      ["timeoutSec 0", { timeoutSec: 0 }, "timeoutSec"],
      ["timeoutSec 1e7", { timeoutSec: 1e7 }, "timeoutSec"],
      ['pbmPath ""', { pbmPath: "" }, "pbmPath"],
      ["an unknown property", { bucketName: BUCKET }, "bucketName"],
      ["insecureSkipTLSVerify as a string", { insecureSkipTLSVerify: "true" }, "insecureSkipTLSVerify"],
    ]);
    add("PitrPolicy", pitrPolicy, pitr, [
      ["oplogSpanMin 0", { oplogSpanMin: 0 }, "oplogSpanMin"],
      ["oplogSpanMin -5", { oplogSpanMin: -5 }, "oplogSpanMin"],
      ["oplogSpanMin 1e308", { oplogSpanMin: 1e308 }, "oplogSpanMin"],
      ["oplogSpanMin as a string", { oplogSpanMin: "10" }, "oplogSpanMin"],
      ["zstd level 1e9", { compression: "zstd", compressionLevel: 1e9 }, "compressionLevel"],
      ["gzip level 10", { compression: "gzip", compressionLevel: 10 }, "compressionLevel"],
      ["pgzip level -3", { compression: "pgzip", compressionLevel: -3 }, "compressionLevel"],
      ["s2 level 5", { compression: "s2", compressionLevel: 5 }, "compressionLevel"],
      ["a level for snappy", { compression: "snappy", compressionLevel: 1 }, "compressionLevel"],
      ["a level without compression", { compressionLevel: 3 }, "compressionLevel"],
      ["a fractional level", { compression: "zstd", compressionLevel: 1.5 }, "compressionLevel"],
      ["an unknown compression", { compression: "xz" }, "compression"],
      ["enabled as a string", { enabled: "yes" }, "enabled"],
      ["oplogOnly as a number", { oplogOnly: 1 }, "oplogOnly"],
      ["takeBaseSnapshot null", { takeBaseSnapshot: null }, "takeBaseSnapshot"],
      ["a base schedule that is not cron", { baseSnapshotSchedule: { schedule: "every day" } }, "baseSnapshotSchedule.schedule"],
      ["a base schedule of an unknown type", { baseSnapshotSchedule: { schedule: "0 3 * * *", type: "full" } }, "baseSnapshotSchedule.type"],
      ["a base retention of 0 backups", { baseSnapshotSchedule: { schedule: "0 3 * * *", retention: { count: 0 } } }, "baseSnapshotSchedule.retention.count"],
      ["a base retention of 1e9 days", { baseSnapshotSchedule: { schedule: "0 3 * * *", retention: { maxAgeDays: 1e9 } } }, "baseSnapshotSchedule.retention.maxAgeDays"],
      ["an unknown key in baseSnapshotSchedule", { baseSnapshotSchedule: { schedule: "0 3 * * *", cron: "x" } }, "cron"],
      ["a name with spaces", { name: "my pitr" }, "name"],
      ["an unknown key in declaredBy", { declaredBy: { stack: "s", user: "u" } }, "user"],
      ["timeoutSec 1e9", { timeoutSec: 1e9 }, "timeoutSec"],
      ['pbmPath ""', { pbmPath: "" }, "pbmPath"],
      ["an unknown property", { oplogSpan: 10 }, "oplogSpan"],
      ["a URI without a host", { mongodbUri: "mongodb://" }, "mongodbUri"],
      ["an unencoded @ in the password", { mongodbUri: unencodedAt() }, "mongodbUri"],
    ]);
    add("ScheduledBackup", scheduledBackup, schedule, [
      ["minute 61", { schedule: "61 * * * *" }, "schedule"],
      ["a schedule in words", { schedule: "daily" }, "schedule"],
      ["no schedule", { schedule: undefined }, "schedule"],
      ["an empty name", { name: "" }, "name"],
      ["a name with spaces", { name: "a b" }, "name"],
      ["an unknown type", { type: "full" }, "type"],
      ["gzip level -7", { compression: "gzip", compressionLevel: -7 }, "compressionLevel"],
      ["s2 level 9", { compression: "s2", compressionLevel: 9 }, "compressionLevel"],
      ["lz4 level 70000", { compression: "lz4", compressionLevel: 70000 }, "compressionLevel"],
      ["a level for none", { compression: "none", compressionLevel: 1 }, "compressionLevel"],
      ["a namespace without a collection", { namespaces: ["orders"] }, "namespaces.0"],
      ["the admin database", { namespaces: ["admin.*"] }, "namespaces"],
      ["namespaces as a string", { namespaces: "db.*" }, "namespaces"],
      ["namespaces for a physical backup", { type: "physical", namespaces: ["shop.*"] }, "namespaces"],
      ["retention of 0 backups", { retention: { count: 0 } }, "retention.count"],
      ["retention of 2.5 backups", { retention: { count: 2.5 } }, "retention.count"],
      ["retention of 0 days", { retention: { maxAgeDays: 0 } }, "retention.maxAgeDays"],
      ["retention of 1e308 days", { retention: { maxAgeDays: 1e308 } }, "retention.maxAgeDays"],
      ["an unknown key in retention", { retention: { days: 7 } }, "days"],
      ["enabled as a string", { enabled: "no" }, "enabled"],
      ['the profile "main"', { profile: "main" }, "profile"],
      ["timeoutSec -1", { timeoutSec: -1 }, "timeoutSec"],
      ['pbmPath ""', { pbmPath: "" }, "pbmPath"],
      ["an unknown property", { cron: "0 2 * * *" }, "cron"],
      ["a mongodb+srv URI", { mongodbUri: "mongodb+srv://cluster0.example.net/" }, "mongodbUri"],
    ]);
    const inv = (props: Record<string, unknown>) => thrown(() => backupInventory.read("inventory", { name: "inventory", ...props } as never));
    for (const [what, props, names] of [
      ["a URI without a host", { mongodbUri: "mongodb://" }, "mongodbUri"],
      ["an unencoded @ in the password", { mongodbUri: unencodedAt() }, "mongodbUri"],
      ["no URI", {}, "mongodbUri"],
      ["a mongodb+srv URI", { mongodbUri: "mongodb+srv://cluster0.example.net/" }, "mongodbUri"],
      ["an unknown property", { mongodbUri: goodShape(), bucket: BUCKET }, "bucket"],
      ["timeoutSec 1e7", { mongodbUri: goodShape(), timeoutSec: 1e7 }, "timeoutSec"],
      ['pbmPath ""', { mongodbUri: goodShape(), pbmPath: "" }, "pbmPath"],
      ["pbmPath as a number", { mongodbUri: goodShape(), pbmPath: 5 }, "pbmPath"],
    ] as [string, Record<string, unknown>, string][])
      cases.push({ name: `BackupInventory.read: ${what}`, code: "PBMP-1001", names: `"${names}"`, run: inv(props) });
    for (const [what, args, names] of [
      ["no arguments", undefined, "(inputs)"],
      ["no URI", {}, "mongodbUri"],
      ["a URI without a host", { mongodbUri: "mongodb://" }, "mongodbUri"],
      ["an unencoded @ in the password", { mongodbUri: unencodedAt() }, "mongodbUri"],
      ["an unknown property", { mongodbUri: goodShape(), bucket: BUCKET }, "bucket"],
      ["timeoutSec 0", { mongodbUri: goodShape(), timeoutSec: 0 }, "timeoutSec"],
      ['pbmPath ""', { mongodbUri: goodShape(), pbmPath: "" }, "pbmPath"],
    ] as [string, unknown, string][])
      cases.push({ name: `getBackupInventory: ${what}`, code: "PBMP-1001", names: `"${names}"`, run: thrown(() => getBackupInventory(args)) });
    // Only running pbm can tell these: they reach the cluster (the real URI), and fail before anything is written.
    const fakePbmDir = path.join(work, "fake-pbm");
    const tooOld = path.join(fakePbmDir, "pbm-1.5");
    cases.push(
      { name: "BackupInventory.read: a pbm without --out (1.5-like)", code: "PBMP-2003", names: /pbm 1\.6\.0 or newer/, run: inv({ mongodbUri: real(), pbmPath: tooOld }) },
      { name: "BackupInventory.read: a pbmPath that does not exist", code: "PBMP-2004", names: /pbmPath/, run: inv({ mongodbUri: real(), pbmPath: path.join(fakePbmDir, "nope") }) },
      { name: "BackupInventory.read: a pbmPath that is a directory", code: "PBMP-2004", names: /pbmPath/, run: inv({ mongodbUri: real(), pbmPath: fakePbmDir }) },
      {
        name: "BackupLocation.create: a pbm without --out (1.5-like)",
        code: "PBMP-2003",
        names: /pbm 1\.6\.0 or newer/,
        run: thrown(() => backupLocation.create({ ...location({ mongodbUri: real(), pbmPath: tooOld }), credentials: { accessKeyId: sandbox().s3.accessKeyId, secretAccessKey: sandbox().s3.secretAccessKey }, region: "us-east-1", forcePathStyle: true, insecureSkipTLSVerify: false, resyncTimeoutSec: 60 } as never)),
      },
    );
    return cases;
  }

  function cliCases(): Case[] {
    const cli = (argv: string[], env: Record<string, string> = {}) => async (): Promise<Outcome> => {
      const r = await runCli(argv, env);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      return { text: r.stderr };
    };
    const list: [string[], string | RegExp, Record<string, string>?][] = [
      [["scheduler", "--once", "--interval", "abc"], "--interval"],
      [["scheduler", "--interval", "0"], "--interval"],
      [["scheduler", "--interval", "1e3"], "--interval"],
      [["scheduler", "--once", "--lease", "abc"], "--lease"],
      [["scheduler", "--once", "--lease", "0"], "--lease"],
      [["scheduler", "--once", "--lease", "86401"], "--lease"],
      [["scheduler", "--once", "--timeout", "0"], "--timeout"],
      [["scheduler", "--once", "--timeout", "abc"], "--timeout"],
      [["scheduler", "--json"], "--json"],
      [["scheduler", "--once", "--mongodb-uri-env", "BAD-NAME"], "--mongodb-uri-env"],
      [["scheduler", "--once", "--mongodb-uri-env", "PULUMI_PBM_TEST_UNSET"], "PULUMI_PBM_TEST_UNSET"],
      [["scheduler", "--once"], "PBM_MONGODB_URI", { PBM_MONGODB_URI: "mongodb://" }],
      [["scheduler", "--once"], "PBM_MONGODB_URI", { PBM_MONGODB_URI: "@unencoded" }],
      [["scheduler", "--once", "--frequency", "5"], "--frequency"],
      [["restore"], "--to"],
      [["restore", "--to", "2026-06-20T11:00:00Z", "--backup", "2026-06-20T10:00:00Z"], "--backup"],
      [["restore", "--to", "yesterday"], "--to"],
      [["restore", "--to", "2026-13-45T00:00:00Z"], "--to"],
      [["restore", "--backup", "../etc/passwd"], "--backup"],
      [["restore", "--to", "2026-06-20T11:00:00Z", "--ns", "admin.*"], "--ns"],
      [["restore", "--to", "2026-06-20T11:00:00Z", "--ns", "orders"], "--ns"],
      [["restore", "--to", "2026-06-20T11:00:00Z", "--ns", ","], "--ns"],
      [["restore", "--to", "2026-06-20T11:00:00Z", "--ns", "local.oplog.rs"], "--ns"],
      [["restore", "--to", "2026-06-20T11:00:00Z", "--timeout", "0"], "--timeout"],
      [["restore", "--to", "2026-06-20T11:00:00Z"], "PBM_MONGODB_URI", { PBM_MONGODB_URI: "mongodb+srv://cluster0.example.net/" }],
      [["check", "--max-pitr-lag", "0m"], "--max-pitr-lag"],
      [["check", "--max-pitr-lag", "abc"], "--max-pitr-lag"],
      [["check", "--max-snapshot-age", "400d"], "--max-snapshot-age"],
      [["check", "--max-snapshot-age", "1e400s"], "--max-snapshot-age"],
      [["check", "--timeout", "100000"], "--timeout"],
      [["check"], "PBM_MONGODB_URI", { PBM_MONGODB_URI: "mongodb://" }],
      [["check", "--verbose"], "--verbose"],
      [["inventory", "--from-storage", "--bucket", BUCKET, "--endpoint-url", "not a url"], "--endpoint-url"],
      [["inventory", "--from-storage", "--bucket", BUCKET, "--endpoint-url", "ftp://minio:9000"], "--endpoint-url"],
      [["inventory", "--from-storage", "--bucket", BUCKET, "--endpoint-url", `http://key:${"SECRET_IN_URL"}@minio:9000`], "--endpoint-url"],
      [["inventory", "--from-storage", "--bucket", "Backups"], "--bucket"],
      [["inventory", "--bucket", BUCKET], "--bucket"],
      [["inventory", "--from-storage"], "--bucket"],
      [["inventory", "--from-storage", "--bucket", BUCKET, "--region", "US EAST"], "--region"],
      [["inventory", "--from-storage", "--bucket", BUCKET, "--prefix", "/rs0"], "--prefix"],
      [["inventory", "--timeout", "-1"], "--timeout"],
      [["inventory"], "PBM_MONGODB_URI", { PBM_MONGODB_URI: "http://mongo1/" }],
      [["backup"], "backup"],
    ];
    return list.map(([argv, names, env]) => ({ name: `pulumi-pbm ${argv.join(" ")}${env ? ` (${Object.keys(env).join(", ")} bad)` : ""}`, code: "PBMP-1001", names, run: cli(argv, env) }));
  }

  function runCli(argv: string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [path.join(REPO_ROOT, "bin", "pulumi-pbm"), ...argv],
        // The real cluster's URI (with its password) unless the case sets a bad one: nothing may reach it.
        { env: { ...process.env, PBM_MONGODB_URI: real(), AWS_ACCESS_KEY_ID: sandbox().s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3Secret, PBM_RECORD: record(), ...env }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "pulumi-pbm-hardening-"));
    // A pbm that predates --out (1.5): kingpin's refusal of the flag, exit 1.
    mkdirSync(path.join(work, "fake-pbm"));
    writeFileSync(path.join(work, "fake-pbm", "pbm-1.5"), "#!/bin/sh\necho \"pbm: error: unknown long flag '--out', try --help\" >&2\nexit 1\n");
    chmodSync(path.join(work, "fake-pbm", "pbm-1.5"), 0o755);
    process.env.PBM_RECORD = record();
    await createBucket(sandbox().s3, BUCKET);
    client = new MongoClient(real());
    await client.connect();
    // Given a configured cluster with a schedule in its registry and a backup in its bucket
    await backupLocation.create({ ...location({ mongodbUri: real(), prefix: "rs0" }), credentials: { accessKeyId: sandbox().s3.accessKeyId, secretAccessKey: sandbox().s3.secretAccessKey }, region: "us-east-1", forcePathStyle: true, insecureSkipTLSVerify: false, resyncTimeoutSec: 60 } as never);
    await scheduledBackup.create({ mongodbUri: real(), name: "weekly", schedule: "0 4 * * 0", type: "logical", enabled: false, declaredBy: { project: "p", stack: "s" } } as never);
  });

  afterAll(async () => {
    await client?.close();
    delete process.env.PBM_RECORD;
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("refuses every case with its code, naming the property or option, without a stack trace or a secret, and changes nothing", { timeout: 120_000 }, async () => {
    const started = Date.now();
    const handlers = handlerCases();
    const commands = cliCases();
    const before = await clusterState();
    const callsBefore = readPbmCalls(record()).length;
    const problems: string[] = [];
    const judge = async (c: Case, parallel: boolean) => {
      let outcome: Outcome;
      try {
        outcome = await c.run();
      } catch (e) {
        problems.push(`${c.name}: ${(e as Error).message.split("\n")[0]}`);
        return;
      }
      const { text } = outcome;
      const fails = [
        !text.includes(`[${c.code}]`) && `no [${c.code}]`,
        !(typeof c.names === "string" ? text.includes(c.names) : c.names.test(text)) && `does not name ${c.names}`,
        STACK_FRAME.test(text) && "has a stack trace",
        secrets().some((s) => s && text.includes(s)) && "shows a secret",
        /SECRET_IN_URL/.test(text) && "echoes credentials from a URL",
      ].filter(Boolean);
      if (fails.length) problems.push(`${c.name}: ${fails.join(", ")}\n    ${text.split("\n").slice(0, 3).join("\n    ")}`);
      if (!parallel) {
        const after = await clusterState();
        if (after !== before) problems.push(`${c.name}: changed the cluster`);
      }
    };
    // In-process cases one by one, each followed by the cluster comparison.
    for (const c of handlers) await judge(c, false);
    // Child processes two at a time (2 cores); no pbm call may be made and the cluster is compared at the end.
    for (let i = 0; i < commands.length; i += 3) await Promise.all(commands.slice(i, i + 3).map((c) => judge(c, true)));
    expect(await clusterState()).toBe(before);
    const cliCalls = readPbmCalls(record()).slice(callsBefore).filter((c) => !c.argv.includes("version"));
    console.log(`bad-input matrix: ${handlers.length + commands.length} cases (${handlers.length} handler and getBackupInventory, ${commands.length} pulumi-pbm) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(problems, problems.join("\n")).toEqual([]);
    // Only the three create-time cases ran pbm (the fake or missing one); none of the refusals did.
    expect(cliCalls.map((c) => c.argv.join(" "))).toEqual([]);
    expect(handlers.length + commands.length).toBeGreaterThanOrEqual(100);
  });
});
