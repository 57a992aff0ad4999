// Runs the real `pulumi` command from a project directory, the way users run it in CI: one child process per
// command, the project's Pulumi.yaml and Pulumi.<stack>.yaml in its working directory, the program run by the
// Node.js language host. The rules of the room:
//   - argument arrays, never a shell; every command names its stack with --stack and runs --non-interactive;
//   - secret config values go to `pulumi config set --secret KEY` on stdin (pulumi reads the value from stdin
//     when it is not on the command line and stdin is not a terminal), never into argv: run() refuses argv
//     that contains a known secret;
//   - every known secret (and the password inside a connection string) is replaced by [secret] in the text of
//     thrown errors and in the optional output sink; the raw stdout/stderr stay on the result for assertions;
//   - the PATH for pbm comes from pbmPathFor() alone.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Sandbox } from "../testbed";

/** The directory whose `pbm` the provider runs in the sandbox: the real release the sandbox was started with. */
export function pbmPathFor(sandbox: Sandbox): string {
  return sandbox.pbmBinDir;
}

/**
 * The environment for `pulumi` against a sandbox: its offline Pulumi settings (file backend, passphrase,
 * private PULUMI_HOME, the pulumi bin dir on PATH) with the pbm directory first on PATH, plus `extra`.
 */
export function sandboxCliEnv(sandbox: Sandbox, extra: Record<string, string> = {}): Record<string, string> {
  const base = sandbox.pulumiEnv();
  const { PATH: extraPath, ...rest } = extra;
  const tail = extraPath ?? base.PATH ?? process.env.PATH ?? "";
  return { ...base, ...rest, PATH: [pbmPathFor(sandbox), tail].join(path.delimiter) };
}

/** The quickstart program's config against a sandbox cluster (secrets marked), as the demo and `npm run sandbox` set it. */
export function quickstartConfig(sandbox: Sandbox, mongodbUri: string, extra: Record<string, ConfigEntry> = {}): Record<string, ConfigEntry> {
  return {
    mongodbUri: { value: mongodbUri, secret: true },
    bucket: { value: "pbm-backups" },
    prefix: { value: "rs0" },
    endpointUrl: { value: sandbox.s3.endpoint },
    accessKeyId: { value: sandbox.s3.accessKeyId, secret: true },
    secretAccessKey: { value: sandbox.s3.secretAccessKey, secret: true },
    oplogSpanMin: { value: "1" },
    ...extra,
  };
}

/** pulumi's exit code when `--expect-no-changes` finds changes (ExitNoChanges in pulumi's cmdutil/exit.go). */
export const EXIT_CHANGES_FOUND = 7;

export interface CliResult {
  /** `pulumi <args>` as run (never holds a secret). */
  command: string;
  args: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A `pulumi` command that exited with a code it was not expected to; the message holds no secret. */
export class PulumiCliError extends Error {
  constructor(
    message: string,
    readonly result: CliResult,
  ) {
    super(message);
    this.name = "PulumiCliError";
  }
}

export interface ConfigEntry {
  value: string;
  secret?: boolean;
}

/** Counts from the "Resources:" block pulumi prints at the end of preview, up, refresh and destroy. */
export interface ResourceCounts {
  create?: number;
  update?: number;
  delete?: number;
  replace?: number;
  same?: number;
}

export interface PulumiStackCliOptions {
  /** Directory holding Pulumi.yaml; every command runs here. */
  projectDir: string;
  stack: string;
  /** Variables on top of process.env (use sandboxCliEnv() for the sandbox). */
  env: Record<string, string>;
  /** Receives every output chunk as it arrives, secrets redacted (e.g. to show progress). */
  onOutput?: (chunk: string) => void;
  /** Values to redact besides the secret config values set through this object. */
  secrets?: string[];
  /**
   * Keep the stack's config in this file (`--config-file`) instead of Pulumi.<stack>.yaml in the project
   * directory: sandbox stacks then leave the working tree as it was.
   */
  configFile?: string;
}

export interface RunOptions {
  stdin?: string;
  /** Exit codes that do not throw; default [0]; "any" never throws on the exit code. */
  okExitCodes?: number[] | "any";
}

/** One stack of one project, driven with the `pulumi` command. */
export class PulumiStackCli {
  readonly projectDir: string;
  readonly stack: string;
  /** Every command run so far, in order: what tests check for secrets on command lines and in pulumi's output. */
  readonly history: CliResult[] = [];
  private readonly secrets = new Set<string>();

  constructor(private readonly o: PulumiStackCliOptions) {
    this.projectDir = o.projectDir;
    this.stack = o.stack;
    for (const s of o.secrets ?? []) this.addSecret(s);
  }

  /** Registers a value to redact (and, for a connection string, its password). */
  addSecret(value: string): void {
    if (value.length < 4) return; // too short to redact without mangling ordinary text
    this.secrets.add(value);
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]+)@/i.exec(value)?.[1];
    if (password) {
      this.secrets.add(password);
      this.secrets.add(decodeURIComponent(password));
    }
  }

  redact(text: string): string {
    let out = text;
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("[secret]");
    return out;
  }

  /** Runs `pulumi <args>` in the project directory; throws PulumiCliError on an exit code not in okExitCodes. */
  run(args: string[], ro: RunOptions = {}): Promise<CliResult> {
    for (const a of args)
      for (const s of this.secrets)
        if (a.includes(s)) throw new Error(`refusing to pass a secret on pulumi's command line (pulumi ${args[0]} ${args[1] ?? ""})`);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      // The user's environment, less what only quiets this repository's own test runner (vitest.config.ts).
      const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _harness, ...userEnv } = process.env;
      const child = spawn("pulumi", args, {
        cwd: this.projectDir,
        env: { ...userEnv, ...this.o.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // The sink gets whole lines, so a secret split across two chunks is still redacted.
      const pending = { out: "", err: "" };
      const sink = (which: "out" | "err", d: Buffer | undefined) => {
        if (!this.o.onOutput) return;
        const text = pending[which] + (d?.toString() ?? "");
        const cut = d ? text.lastIndexOf("\n") + 1 : text.length;
        pending[which] = text.slice(cut);
        if (cut > 0) this.o.onOutput(this.redact(text.slice(0, cut)));
      };
      child.stdout.on("data", (d: Buffer) => (out.push(d), sink("out", d)));
      child.stderr.on("data", (d: Buffer) => (err.push(d), sink("err", d)));
      child.on("error", (e) => reject(new Error(`cannot run pulumi (is the pulumi bin dir on PATH?): ${e.message}`)));
      child.on("close", (code, signal) => {
        sink("out", undefined);
        sink("err", undefined);
        const result: CliResult = {
          command: `pulumi ${args.join(" ")}`,
          args,
          exitCode: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
          durationMs: Date.now() - started,
        };
        this.history.push(result);
        const ok = ro.okExitCodes ?? [0];
        if (ok === "any" || ok.includes(result.exitCode)) return resolve(result);
        const tail = `${result.stdout.trim()}\n${result.stderr.trim()}`.trim().split("\n").slice(-40).join("\n");
        reject(new PulumiCliError(this.redact(`${result.command} (in ${this.projectDir}) exited with code ${result.exitCode}${signal ? ` (${signal})` : ""}:\n${tail}`), result));
      });
      child.stdin.end(ro.stdin ?? "");
    });
  }

  private withStack(...args: string[]): string[] {
    return [...args, "--stack", this.stack, "--non-interactive"];
  }

  /** `args` plus --stack, --non-interactive and `--config-file` when the config lives outside the project directory. */
  withConfig(...args: string[]): string[] {
    return this.withStack(...args, ...(this.o.configFile ? ["--config-file", this.o.configFile] : []));
  }

  /**
   * `pulumi stack init`. With `configFile`, the passphrase salt that stack init writes to (or finds in)
   * Pulumi.<stack>.yaml goes to the config file, and a Pulumi.<stack>.yaml that init created is moved there.
   */
  async init(): Promise<CliResult> {
    const projectFile = path.join(this.projectDir, `Pulumi.${this.stack}.yaml`);
    const existed = existsSync(projectFile);
    const r = await this.run(["stack", "init", this.stack, "--non-interactive"]);
    const configFile = this.o.configFile;
    if (configFile && existsSync(projectFile)) {
      const salt = /^encryptionsalt: .*$/m.exec(readFileSync(projectFile, "utf8"))?.[0];
      mkdirSync(path.dirname(configFile), { recursive: true });
      writeFileSync(configFile, salt ? `${salt}\n` : "");
      if (!existed) rmSync(projectFile);
    }
    return r;
  }

  /** `pulumi config set KEY VALUE`. */
  configSet(key: string, value: string): Promise<CliResult> {
    return this.run(this.withConfig("config", "set", key, value));
  }

  /** `pulumi config set --secret KEY`, the value on stdin. */
  configSetSecret(key: string, value: string): Promise<CliResult> {
    this.addSecret(value);
    return this.run(this.withConfig("config", "set", "--secret", key), { stdin: value });
  }

  /** `pulumi config get KEY` (decrypted). */
  async configGet(key: string): Promise<string> {
    return (await this.run(this.withConfig("config", "get", key))).stdout.replace(/\n$/, "");
  }

  async setConfig(entries: Record<string, ConfigEntry>): Promise<void> {
    for (const [k, v] of Object.entries(entries)) await (v.secret ? this.configSetSecret(k, v.value) : this.configSet(k, v.value));
  }

  /** `pulumi preview --diff [--policy-pack DIR…] [extra…]`. */
  preview(o: { okExitCodes?: RunOptions["okExitCodes"]; extra?: string[]; policyPacks?: string[] } = {}): Promise<CliResult> {
    const packs = (o.policyPacks ?? []).flatMap((dir) => ["--policy-pack", dir]);
    return this.run(this.withConfig("preview", "--diff", "--color", "never", ...packs, ...(o.extra ?? [])), { okExitCodes: o.okExitCodes });
  }

  /** `pulumi up --yes`. */
  up(extra: string[] = []): Promise<CliResult> {
    return this.run(this.withConfig("up", "--yes", "--color", "never", ...extra));
  }

  /** `pulumi refresh --yes`. */
  refresh(): Promise<CliResult> {
    return this.run(this.withConfig("refresh", "--yes", "--color", "never"));
  }

  /**
   * The drift gate: `pulumi preview --refresh --expect-no-changes`. Exit code 0: the live resources match the
   * program; EXIT_CHANGES_FOUND (7): drift or pending changes; 1: the preview failed. Every code is returned,
   * not thrown, so callers can assert on it.
   */
  driftGate(): Promise<CliResult> {
    return this.run(this.withConfig("preview", "--refresh", "--expect-no-changes", "--diff", "--color", "never"), { okExitCodes: "any" });
  }

  /** `pulumi destroy --yes`. */
  destroy(): Promise<CliResult> {
    return this.run(this.withConfig("destroy", "--yes", "--color", "never"));
  }

  /** `pulumi stack output --json --show-secrets`, parsed. */
  async outputs(): Promise<Record<string, any>> {
    const r = await this.run(this.withStack("stack", "output", "--json", "--show-secrets"));
    return JSON.parse(r.stdout);
  }

  /** `pulumi stack export`: the state as stored (secrets stay ciphertext). */
  async exportState(): Promise<string> {
    return (await this.run(this.withStack("stack", "export"))).stdout;
  }
}

/** Parses the "Resources:" block of pulumi's text output (`+ 2 to create`, `~ 1 updated`, `3 unchanged`, …). */
export function resourceCounts(stdout: string): ResourceCounts {
  const block = stdout.split(/^Resources:\s*$/m).pop() ?? "";
  const counts: ResourceCounts = {};
  const kinds: [RegExp, keyof ResourceCounts][] = [
    [/^\s*\+-?\s*(\d+) (?:to replace|replaced)\b/m, "replace"],
    [/^\s*\+\s*(\d+) (?:to create|created)\b/m, "create"],
    [/^\s*~\s*(\d+) (?:to update|updated)\b/m, "update"],
    [/^\s*-\s*(\d+) (?:to delete|deleted)\b/m, "delete"],
    [/^\s*(\d+) unchanged\b/m, "same"],
  ];
  for (const [re, kind] of kinds) {
    const m = re.exec(block);
    if (m) counts[kind] = Number(m[1]);
  }
  return counts;
}
