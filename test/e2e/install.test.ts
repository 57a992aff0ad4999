// A new user's first hour and a CI pipeline, through the packed package: `npm pack` (prepack builds dist/), a new
// Pulumi TypeScript project in the OS temp dir (outside the repository) that `npm install`s the tarball, the
// README's smallest program as its index.ts, verbatim (read from README.md at test time), and the real `pulumi`
// command: stack init, config set (secrets on stdin), preview on a cluster pbm has never been configured on, up,
// the outputs the program exports. Then every `pulumi`, `pbm` and `pulumi-pbm` line of examples/ci/github-actions.yml,
// exactly as written, with the exit codes the README's "In CI" section states; then destroy. No output shows a
// stack trace.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { clock } from "../../sandbox/pbm-sim/control";
import { EXIT_CHANGES_FOUND, PulumiStackCli, resourceCounts, sandboxCliEnv } from "../../sandbox/stack/cli";
import { REPO_ROOT } from "../../sandbox/testbed";
import { createBucket, lastJson, runPbm } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs a command (argument array, no shell) and resolves with its exit code and output; never rejects on the code. */
function run(cmd: string, args: string[], o: { cwd: string; env?: Record<string, string | undefined> }): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ command: [cmd, ...args].join(" "), exitCode: code ?? (signal ? 128 : 1), stdout, stderr, durationMs: Date.now() - started }),
    );
  });
}

/** process.env without the npm_* variables an outer `npm test` sets (they would steer the inner npm). */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** The first ```ts block under "## The smallest program" in README.md. */
function readmeSmallestProgram(): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## The smallest program\s*$/m)[1]?.split(/^## /m)[0];
  const block = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```ts block under "## The smallest program"');
  return block;
}

/** The `run:` lines of a GitHub Actions workflow, per job, in file order. */
function workflowRunLines(file: string): { job: string; run: string; env: Record<string, string> }[] {
  const wf = parseYaml(readFileSync(file, "utf8")) as { env?: Record<string, string>; jobs: Record<string, { env?: Record<string, string>; steps: { run?: string }[] }> };
  return Object.entries(wf.jobs).flatMap(([job, j]) =>
    j.steps.filter((s) => s.run !== undefined).flatMap((s) => s.run!.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => ({ job, run: line, env: { ...wf.env, ...j.env } }))),
  );
}

const PIPELINE = path.join(REPO_ROOT, "examples", "ci", "github-actions.yml");
// The commands the README's "In CI" section documents, with their roles. The test fails if the workflow file runs
// a pulumi, pbm or pulumi-pbm command that is not here, or lacks one that is, so the file cannot drift from what
// is tested.
const CI = {
  pbmVersion: "pbm version",
  prPreview: "pulumi preview --diff --stack prod",
  deploy: "pulumi up --yes --refresh --stack prod",
  driftGate: "pulumi preview --refresh --expect-no-changes --stack prod",
  rpoProbe: "npx pulumi-pbm check --max-pitr-lag 15m --max-snapshot-age 26h",
};
const STACK = "prod";

describe("the packed package in a new Pulumi project outside the repository", () => {
  const timings: string[] = [];
  const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await f();
    } finally {
      timings.push(`  ${((Date.now() - t) / 1000).toFixed(1).padStart(5)} s  ${what}`);
    }
  };
  const work = realpathSync(mkdtempSync(path.join(tmpdir(), "pulumi-pbm-install-")));
  const packDir = path.join(work, "pack");
  const projectDir = path.join(work, "project");
  let tarball = "";
  let packedFiles: string[] = [];
  const outputs: RunResult[] = [];

  // Pack and install while the sandbox starts (this hook is declared first, so it runs first, and is awaited below).
  let installed: Promise<void> = Promise.resolve();
  beforeAll(() => {
    installed = (async () => {
      mkdirSync(packDir, { recursive: true });
      const pack = await timed("npm pack (prepack: npm run build)", () => run("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: REPO_ROOT, env: cleanEnv() }));
      if (pack.exitCode !== 0) throw new Error(`npm pack exited with ${pack.exitCode}:\n${pack.stdout}\n${pack.stderr}`);
      // prepack's own output precedes the JSON on stdout
      const json = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
      tarball = path.join(packDir, json[0].filename);
      packedFiles = json[0].files.map((f) => f.path).sort();

      const root = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
      mkdirSync(projectDir, { recursive: true });
      writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: pbm-first-hour\ndescription: The README's smallest program, installed from the packed tarball.\nruntime: nodejs\n");
      writeFileSync(
        path.join(projectDir, "package.json"),
        JSON.stringify(
          {
            name: "pbm-first-hour",
            private: true,
            main: "index.ts",
            dependencies: { "@pulumi/pulumi": root.dependencies["@pulumi/pulumi"], "pulumi-pbm": `file:${tarball}` },
            devDependencies: { "@types/node": root.devDependencies["@types/node"], typescript: root.devDependencies.typescript, "ts-node": root.devDependencies["ts-node"] },
          },
          null,
          2,
        ),
      );
      writeFileSync(
        path.join(projectDir, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true, types: ["node"] }, files: ["index.ts"] }, null, 2),
      );
      writeFileSync(path.join(projectDir, "index.ts"), readmeSmallestProgram());
      const install = await timed("npm install (the tarball, @pulumi/pulumi, typescript, ts-node)", () =>
        run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: projectDir, env: cleanEnv() }),
      );
      if (install.exitCode !== 0) throw new Error(`npm install exited with ${install.exitCode}:\n${install.stdout}\n${install.stderr}`);
    })();
    installed.catch(() => undefined); // reported by the hook that awaits it
  });

  const sandbox = useSandbox({ pulumi: true });
  let stack: PulumiStackCli;
  let env: Record<string, string>;
  let uri = "";

  beforeAll(async () => {
    await installed;
    const sb = sandbox();
    uri = sb.cluster.mongodbUri;
    await createBucket(sb.s3, "pbm-backups");
    // Three hours of history before now: the base snapshot starts then; the clock stays frozen until moved.
    await clock.set(uri, new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 3600_000));
    env = { ...(cleanEnv() as Record<string, string>), ...sandboxCliEnv(sb) };
    stack = new PulumiStackCli({ projectDir, stack: STACK, env, secrets: [uri, sb.s3.accessKeyId, sb.s3.secretAccessKey] });
  });

  afterAll(() => {
    const runs = (stack?.history ?? []).map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  ${r.command}`);
    const others = outputs.map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  ${r.command}`);
    console.log(`project: ${projectDir}\n${timings.join("\n")}\ncommands run:\n${[...runs, ...others].join("\n")}`);
    if (!process.env.PULUMI_PBM_KEEP_INSTALL_DIR) rmSync(work, { recursive: true, force: true });
  });

  /** Runs one line of the workflow file as written: `pulumi …` through the stack driver, anything else directly. */
  async function runLine(line: string, extraEnv: Record<string, string> = {}, drop: string[] = []): Promise<RunResult> {
    const [cmd, ...args] = line.split(/\s+/);
    if (cmd === "pulumi" && Object.keys(extraEnv).length === 0 && drop.length === 0) {
      const r = await stack.run(args, { okExitCodes: "any" });
      return r;
    }
    const e: Record<string, string | undefined> = { ...env, ...extraEnv };
    for (const k of drop) delete e[k];
    const r = await run(cmd, args, { cwd: projectDir, env: e });
    outputs.push(r);
    return r;
  }
  const text = (r: RunResult) => r.stdout + r.stderr;
  /** Output without ANSI colours (the workflow's commands run with pulumi's default --color). */
  const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

  it("packs only dist/provider, dist/sdk, bin and the policy pack, and installs with one copy of @pulumi/pulumi", async () => {
    await installed;
    // The tarball: the product only
    expect(packedFiles.length).toBeGreaterThan(10);
    for (const f of packedFiles) expect(f).toMatch(/^(dist\/provider\/.*\.(js|d\.ts)|dist\/provider\/pbm\/execa\.cjs|dist\/sdk\/.*\.(js|d\.ts)|bin\/pulumi-pbm|package\.json|README\.md|LICENSE|policy\/(PulumiPolicy\.yaml|package\.json|README\.md|dist\/\w+\.js))$/);
    for (const f of ["dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/provider/index.js", "dist/provider/index.d.ts", "dist/provider/cli/main.js", "bin/pulumi-pbm", "dist/provider/core/index.js", "policy/PulumiPolicy.yaml", "policy/dist/index.js", "dist/provider/pbm/execa.cjs"]) expect(packedFiles).toContain(f);
    expect(path.relative(REPO_ROOT, projectDir)).toMatch(/^\.\./); // outside the repository

    // The installed package.json: exports, types and bin point at files that exist
    const pkgDir = path.join(projectDir, "node_modules", "pulumi-pbm");
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    expect(Object.keys(pkg.exports)).toEqual([".", "./provider", "./core", "./package.json"]);
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t as object)))];
    for (const t of targets) expect(existsSync(path.join(pkgDir, t)), t).toBe(true);
    expect(pkg.bin).toEqual({ "pulumi-pbm": "bin/pulumi-pbm" });
    expect(existsSync(path.join(projectDir, "node_modules", ".bin", "pulumi-pbm"))).toBe(true);
    expect(existsSync(path.join(pkgDir, "dist", "sandbox"))).toBe(false);

    // Runtime dependencies only: one @pulumi/pulumi (the project's), none of the repository's devDependencies
    expect(existsSync(path.join(pkgDir, "node_modules", "@pulumi", "pulumi"))).toBe(false);
    expect(existsSync(path.join(projectDir, "node_modules", "vitest"))).toBe(false);
    expect(existsSync(path.join(projectDir, "node_modules", "@types", "debug"))).toBe(false);
    expect(existsSync(path.join(projectDir, "node_modules", "esbuild"))).toBe(false);
  });

  it("previews and deploys the README's smallest program, verbatim, on a cluster pbm has never been configured on", async () => {
    const sb = sandbox();
    const program = readFileSync(path.join(projectDir, "index.ts"), "utf8");
    expect(program).toBe(readmeSmallestProgram());

    // Given the config keys the program reads, secrets on stdin
    const values: Record<string, string> = { mongodbUri: uri, accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey, endpointUrl: sb.s3.endpoint };
    const reads = [...program.matchAll(/config\.(require|get)(Secret|Number|Boolean|Object)?\(\s*"([^"]+)"/g)].map((m) => ({ key: m[3], secret: m[2] === "Secret" }));
    expect(reads.map((r) => r.key).sort()).toEqual(expect.arrayContaining(["endpointUrl", "mongodbUri"]));
    await stack.init();
    for (const { key, secret } of reads) {
      if (!(key in values)) throw new Error(`the README program reads config "${key}", which this test does not know how to set`);
      await (secret ? stack.configSetSecret(key, values[key]) : stack.configSet(key, values[key]));
    }

    // When previewing on the never-configured cluster, then everything is planned and nothing fails
    const preview = await stack.preview({ okExitCodes: "any" });
    expect(preview.exitCode, text(preview)).toBe(0);
    expect(resourceCounts(preview.stdout).create).toBeGreaterThanOrEqual(3); // the stack, the location, the policy

    // When deploying, then pbm is configured and the exported outputs exist
    const up = await stack.up();
    expect(up.exitCode, text(up)).toBe(0);
    const config = await runPbm(sb.cluster, ["config", "--out=json"]);
    expect(config.stdout).toContain("pbm-backups");
    expect([...program.matchAll(/^export const (\w+)/gm)].length).toBeGreaterThan(0); // checked once a snapshot is done, below
  }, 240_000);

  it("runs the CI workflow's commands as written, with the exit codes the README states", async () => {
    // The workflow file: exactly the documented commands, and no secret or expression on any command line
    const lines = workflowRunLines(PIPELINE);
    const tested = lines.filter((l) => /^(pulumi|pbm|npx pulumi-pbm)\s/.test(l.run));
    expect([...new Set(tested.map((l) => l.run))].sort()).toEqual(Object.values(CI).sort());
    for (const l of lines) expect(l.run).not.toMatch(/\$\{\{|secrets\.|mongodb(\+srv)?:\/\//);
    const rpoEnv = tested.find((l) => l.run === CI.rpoProbe)!.env;
    expect(rpoEnv.PBM_MONGODB_URI).toBe("${{ secrets.PBM_MONGODB_URI }}");
    expect(rpoEnv.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");

    // The runner has pbm
    expect((await runLine(CI.pbmVersion)).exitCode).toBe(0);
    // Pull request: the preview passes
    const pr = await runLine(CI.prPreview);
    expect(pr.exitCode, text(pr)).toBe(0);

    // The base snapshot finishes and half an hour of oplog is sliced (the clock is still 2.5 hours behind)
    await clock.advance(uri, 120);
    await clock.advance(uri, 1800);

    // Merge: up applies; then the drift gate finds nothing
    const deploy = await runLine(CI.deploy);
    expect(deploy.exitCode, text(deploy)).toBe(0);
    const clean = await runLine(CI.driftGate);
    expect(clean.exitCode, text(clean)).toBe(0);

    // Out-of-band change: the drift gate exits 7 and names the policy; the merge's up (with --refresh) puts it
    // back; the gate passes again
    expect((await runPbm(sandbox().cluster, ["config", "--set", "pitr.enabled=false", "-o", "json"])).exitCode).toBe(0);
    const drift = await runLine(CI.driftGate);
    expect(drift.exitCode, text(drift)).toBe(EXIT_CHANGES_FOUND);
    expect(text(drift)).toMatch(/PitrPolicy/);
    // (a plain `pulumi up --yes` compares with the state only, so it leaves the drift in place: why the deploy
    // step refreshes)
    expect((await stack.up()).exitCode).toBe(0);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("false");
    const repair = await runLine(CI.deploy);
    expect(repair.exitCode, text(repair)).toBe(0);
    expect(resourceCounts(plain(repair.stdout)).update).toBe(1);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("true");
    const again = await runLine(CI.driftGate);
    expect(again.exitCode, text(again)).toBe(0);

    // RPO probe: unhealthy while the last oplog chunk is hours old: exit 1, one line with the reason
    const withUri = { PBM_MONGODB_URI: uri };
    const stale = await runLine(CI.rpoProbe, withUri);
    expect(stale.exitCode, text(stale)).toBe(1);
    expect(stale.stdout).toMatch(/^UNHEALTHY: cluster \S+: .*last PITR chunk is .+ old \(allowed 15 min\).*\n$/);
    expect(stale.stdout.trim().split("\n")).toHaveLength(1);

    // Healthy once slicing has caught up to the present: exit 0
    const simNow = await clock.now(uri);
    await clock.advance(uri, Math.floor((Date.now() - simNow.getTime()) / 1000) - 30);
    const healthy = await runLine(CI.rpoProbe, withUri);
    expect(healthy.exitCode, text(healthy)).toBe(0);
    expect(healthy.stdout).toMatch(/^OK: cluster \S+ backups are healthy\n$/);

    // Cannot check without the URI secret: exit 2, one line on stderr
    const noUri = await runLine(CI.rpoProbe, {}, ["PBM_MONGODB_URI"]);
    expect(noUri.exitCode, text(noUri)).toBe(2);
    expect(noUri.stderr).toMatch(/^pulumi-pbm: \[PBMP-1001\] no MongoDB connection string: set PBM_MONGODB_URI.*\n$/);
    console.log(`the RPO probe printed:\n  exit 1: ${stale.stdout.trim()}\n  exit 0: ${healthy.stdout.trim()}\n  exit 2: ${noUri.stderr.trim()}`);

    // And the outputs the README program exports are all there after the merge's up
    const program = readFileSync(path.join(projectDir, "index.ts"), "utf8");
    const out = await stack.outputs();
    for (const name of [...program.matchAll(/^export const (\w+)/gm)].map((m) => m[1])) expect(out, `output ${name}`).toHaveProperty(name);
    expect(out.snapshots).toEqual([expect.objectContaining({ type: "logical", status: "done" })]);
  }, 420_000); // seven pulumi runs of 7-25 s each, more when the two cores are busy

  it("destroys the stack, and no command printed a stack trace", async () => {
    const destroy = await stack.destroy();
    expect(destroy.exitCode, text(destroy)).toBe(0);
    for (const r of [...stack.history, ...outputs]) expect(r.stdout + r.stderr, r.command).not.toMatch(/^ {4}at /m);
  });
});
