// Entry point of the pbm simulator's `pbm` executable.
import { appendFileSync } from "node:fs";
import { parseArgs } from "./args";
import { commandExists, flagsFor, HANDLERS, type Ctx } from "./commands";
import { Output, PbmError, type OutFormat } from "./io";
import { DEFAULT_VERSION, features, parseVersion, type PbmVersion } from "./version";
import { SETTINGS, World } from "./world";

const RECORDED_ENV = /^(PBM_|AWS_|MONGO)/;

function record(argv: string[], stdinUsed: boolean, exitCode: number | null, startedAt: Date): void {
  const file = process.env.PBM_SIM_RECORD;
  if (!file) return;
  const env = Object.keys(process.env).filter((k) => RECORDED_ENV.test(k) && k !== "PBM_SIM_RECORD").sort();
  appendFileSync(file, JSON.stringify({ argv, env, stdin: stdinUsed, exitCode, startedAt: startedAt.toISOString(), pid: process.pid }) + "\n");
}

async function connect(uri: string) {
  const { MongoClient } = await import("mongodb");
  // The Go driver's 30 s default, unless the URI says otherwise.
  const options = /[?&]serverSelectionTimeoutMS=/i.test(uri) ? { appName: "pbm-ctl" } : { serverSelectionTimeoutMS: 30_000, appName: "pbm-ctl" };
  const client = new MongoClient(uri, options);
  await client.connect();
  await client.db("admin").command({ ping: 1 });
  return client;
}

/** The Go driver's wording for a connection failure, as pbm prints it (reference §6.5). */
function connectionError(uri: string, e: Error, pingWord: string): PbmError {
  const hosts = (() => {
    try {
      return new URL(uri.replace(/^mongodb(\+srv)?:\/\/[^@/]*@/, "mongodb://")).host.split(",");
    } catch {
      return ["localhost:27017"];
    }
  })();
  const msg = e.message;
  let tail: string;
  if (/Authentication failed/i.test(msg))
    tail = `connection() error occurred during connection handshake: auth error: sasl conversation error: unable to authenticate using mechanism "SCRAM-SHA-256": (AuthenticationFailed) Authentication failed.`;
  else {
    const rs = /[?&]replicaSet=/.test(uri) ? "ReplicaSetNoPrimary" : "Unknown";
    tail = `server selection error: context deadline exceeded, current topology: { Type: ${rs}, Servers: [${hosts
      .map((h) => `{ Addr: ${h}, Type: Unknown, Last error: dial tcp ${h.replace(/^localhost/, "127.0.0.1")}: connect: connection refused }, `)
      .join("")}] }`;
  }
  return new PbmError(`connect to mongodb: create mongo connection: ${pingWord}: ${tail}`, "connection");
}

async function storedVersion(uri: string | undefined): Promise<string | undefined> {
  if (!uri) return undefined;
  try {
    const { MongoClient } = await import("mongodb");
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
    try {
      const s = await client.db("admin").collection<{ _id: string; version?: string }>(SETTINGS).findOne({ _id: "world" });
      return s?.version;
    } finally {
      await client.close();
    }
  } catch {
    return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const startedAt = new Date();
  let stdinUsed = false;
  const uriFromEnv = process.env.PBM_MONGODB_URI;
  const explicitUri = argv.find((a, i) => a.startsWith("--mongodb-uri=") || argv[i - 1] === "--mongodb-uri");
  const uriGuess = explicitUri?.replace(/^--mongodb-uri=/, "") ?? uriFromEnv;
  const v: PbmVersion = parseVersion(process.env.PBM_SIM_VERSION ?? (await storedVersion(uriGuess)) ?? DEFAULT_VERSION);
  const f = features(v);
  let out = new Output("text", f);
  let client: Awaited<ReturnType<typeof connect>> | undefined;
  let world: World | undefined;
  try {
    const parsed = parseArgs(argv, f, flagsFor(v), (first) => (first === "profile" ? 2 : 1));
    out = new Output((["json", "json-pretty"].includes(parsed.out) ? parsed.out : "text") as OutFormat, f);
    if (!f.cobra && !["json", "json-pretty", "text"].includes(parsed.out))
      throw new PbmError(`parse command line parameters: enum value must be one of json,json-pretty,text, got '${parsed.out}'`, "parse");
    const name = parsed.command[0];
    if (!name) throw new PbmError(`pbm is a command-line tool to manage Percona Backup for MongoDB. Run 'pbm --help' for usage.\n`, "raw");
    if (!HANDLERS[name] || !commandExists(v, name === "s" ? "status" : name)) {
      if (f.cobra) throw new PbmError(`Error: unknown command "${name}" for "pbm"\nRun 'pbm --help' for usage.\n`, "raw");
      throw new PbmError(`expected command but got "${name}"`, "parse");
    }
    if (name !== "version") {
      const uri = parsed.mongodbUri ?? uriFromEnv;
      if (!uri) {
        const mongo = f.uriMessageLower ? "mongodb" : "MongoDB";
        throw new PbmError(
          `Error: no ${mongo} connection URI supplied\n       Usual practice is the set it by the PBM_MONGODB_URI environment variable. It can also be set with commandline argument --mongodb-uri.\n`,
          "raw",
        );
      }
      try {
        client = await connect(uri);
      } catch (e) {
        throw connectionError(uri, e as Error, f.connectPing);
      }
      world = new World(client, v, f);
      await world.load();
      const hang = world.settings.faults.hang;
      if (hang && hang.commands.includes(name)) await new Promise((r) => setTimeout(r, hang.seconds * 1000));
    }
    const ctx: Ctx = {
      world: world!,
      p: parsed,
      out,
      f,
      v,
      stdinIsTTY: !!process.stdin.isTTY,
      readStdin: async () => {
        stdinUsed = true;
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString("utf8");
      },
    };
    await HANDLERS[name](ctx);
  } catch (e) {
    if (e instanceof PbmError) out.fail(e);
    else out.fail(new PbmError(`simulator internal error: ${(e as Error).stack ?? e}`));
  } finally {
    world?.close();
    await client?.close().catch(() => undefined);
  }
  // Wait until both streams are flushed: exiting right after a large write to a pipe would cut it short.
  await new Promise<void>((r) => process.stdout.write(out.stdout, () => r()));
  await new Promise<void>((r) => process.stderr.write(out.stderr, () => r()));
  record(argv, stdinUsed, out.exitCode, startedAt);
  return out.exitCode;
}
