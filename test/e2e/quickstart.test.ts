// The quickstart and schedules examples through the real Go-built Pulumi CLI, run the way users run them in CI:
// `pulumi` from the example's directory, the Node.js language host running index.ts with the TypeScript the
// example declares, against FerretDB, MinIO and the sandbox's pbm. Outputs, refresh drift and the drift gate,
// PMM's PITR rule across stacks and clusters, destroy keeping data, and secrets kept out of state and argv.
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clock } from "../../sandbox/pbm-sim/control";
import { EXIT_CHANGES_FOUND, PulumiCliError, type PulumiStackCli } from "../../sandbox/stack/cli";
import { readPbmCalls, REPO_ROOT } from "../../sandbox/testbed";
import { createBucket, lastJson, listKeys, runPbm } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { cliStack, resourceCounts, type CliResult } from "../helpers/stack";

const output = (r: CliResult) => r.stdout + r.stderr;

describe("quickstart example with the pulumi command", () => {
  const sandbox = useSandbox({ replSets: ["rs0", "rs1"], pulumi: true });
  let record: string;
  let env: Record<string, string>;
  const stacks = new Map<string, PulumiStackCli>();

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    for (const c of Object.values(sandbox().clusters)) await clock.set(c.mongodbUri, new Date("2026-06-20T10:00:00Z"));
    record = path.join(mkdtempSync(path.join(tmpdir(), "pbm-e2e-")), "pbm-calls.jsonl");
    // The sandbox's pbm wrapper appends each call's argv and variable names (never values) to PBM_RECORD.
    env = { PBM_RECORD: record };
  });

  afterAll(() => {
    const runs = [...stacks.values()].flatMap((s) => s.history.map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  (${path.relative(REPO_ROOT, s.projectDir)}) ${r.command}`));
    console.log(`pulumi commands run:\n${runs.join("\n")}`);
  });

  /** `pulumi stack init` + `pulumi config set` once per stack name; later calls reuse the stack. */
  async function stackOnce(name: string, make: () => Promise<PulumiStackCli>): Promise<PulumiStackCli> {
    if (!stacks.has(name)) stacks.set(name, await make());
    return stacks.get(name)!;
  }
  const quickstart = (stackName: string, cluster = "rs0") =>
    stackOnce(stackName, () => {
      const sb = sandbox();
      return cliStack({
        sandbox: sb,
        projectDir: "examples/quickstart",
        stackName,
        env,
        config: {
          mongodbUri: { value: sb.clusters[cluster].mongodbUri, secret: true },
          bucket: { value: "pbm-backups" },
          prefix: { value: cluster },
          endpointUrl: { value: sb.s3.endpoint },
          accessKeyId: { value: sb.s3.accessKeyId, secret: true },
          secretAccessKey: { value: sb.s3.secretAccessKey, secret: true },
          oplogSpanMin: { value: "5" },
        },
      });
    });
  const schedules = (stackName: string, cluster: string) =>
    stackOnce(stackName, () =>
      cliStack({
        sandbox: sandbox(),
        projectDir: "examples/schedules",
        stackName,
        env,
        config: { mongodbUri: { value: sandbox().clusters[cluster].mongodbUri, secret: true } },
      }),
    );

  // The first preview of a program runs before its BackupLocation configures pbm: BackupInventory.get reads
  // `pbm status`, which fails with "missed config"; the inventory is then empty, not an error.
  it("previews the quickstart on a cluster that pbm has never been configured on", async () => {
    const stack = await quickstart("fresh-preview");
    const preview = await stack.preview({ okExitCodes: [0, 1] });
    expect(preview.exitCode, preview.stdout + preview.stderr).toBe(0);
    expect(resourceCounts(preview.stdout).create).toBe(3);
  });

  it("configures pbm, starts a base snapshot, and shows the inventory and restorable window as outputs", async () => {
    const uri = sandbox().cluster.mongodbUri;
    const stack = await quickstart("dev");

    const up = await stack.up();
    expect(up.exitCode).toBe(0);
    // the S3 probe ran in the provider host: the AWS SDK's Node 22 notice stays out of the user's output
    expect(output(up)).not.toMatch(/NodeVersionSupportWarning|will require node >=22/);
    expect(resourceCounts(up.stdout).create).toBe(3); // the stack, the location, the policy (the inventory is read)
    const outputs = await stack.outputs();
    expect(outputs.storagePath).toBe("s3://pbm-backups/rs0");
    // real pbm names a backup by its wall-clock start
    expect(outputs.baseSnapshot).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.oplogSpanMin", "-o", "json"])).stdout).value).toBe("5");

    // When the base snapshot finishes and an hour of oplog is sliced
    await clock.advance(uri, 120);
    await clock.advance(uri, 3600);
    const again = await stack.up();
    expect(again.exitCode).toBe(0);
    expect(resourceCounts(again.stdout)).not.toHaveProperty("update");
    const after = await stack.outputs();
    expect(after.snapshots).toEqual([expect.objectContaining({ name: outputs.baseSnapshot, status: "done", type: "logical" })]);
    const ranges = after.pitrRanges as { start: string; end: string; backed: boolean }[];
    expect(ranges).toHaveLength(1);
    expect(ranges[0].backed).toBe(true);
    expect(after.latestRestorableWindow).toEqual({ start: expect.stringMatching(/^2026-06-20T10:0/), end: ranges[0].end });

    // And a preview plans nothing, a refresh finds no drift, and the drift gate passes
    const preview = await stack.preview();
    expect(preview.exitCode).toBe(0);
    expect(resourceCounts(preview.stdout)).toEqual({ same: 3 }); // the stack, location and policy; the inventory is read
    const refresh = await stack.refresh();
    expect(refresh.exitCode).toBe(0);
    expect(resourceCounts(refresh.stdout)).not.toHaveProperty("update");
    const gate = await stack.driftGate();
    expect(gate.exitCode, output(gate)).toBe(0);
  });

  it("runs index.ts with the TypeScript and ts-node the example declares, not Pulumi's bundled TypeScript 3.8", async () => {
    // Given the versions npm installed for the example (hoisted beside @pulumi/pulumi, where the SDK looks)
    const fromExample = createRequire(path.join(REPO_ROOT, "examples", "quickstart", "index.ts"));
    const tsVersion: string = fromExample("typescript/package.json").version;
    const tsNodeVersion: string = fromExample("ts-node/package.json").version;
    expect(tsVersion).toMatch(/^5\./);

    // When previewing with --debug, the SDK logs which compiler it loaded
    const stack = await quickstart("dev");
    const preview = await stack.preview({ extra: ["--debug"] });
    const loaded = output(preview).match(/Found typescript version (\S+) at (\S+)/);
    const tsNode = output(preview).match(/Found ts-node version: (\S+) at (\S+)/);
    console.log(`program ran with TypeScript ${loaded?.[1]} (${loaded?.[2]}), ts-node ${tsNode?.[1]} (${tsNode?.[2]})`);
    expect(loaded?.[1]).toBe(tsVersion);
    expect(tsNode?.[1]).toBe(tsNodeVersion);
    expect(output(preview)).not.toMatch(/vendored (typescript|ts-node)/);
  });

  it("reports an out-of-band pitr.enabled=false in the drift gate and on refresh, and undoes it on up", async () => {
    const stack = await quickstart("dev");
    const off = await runPbm(sandbox().cluster, ["config", "--set", "pitr.enabled=false", "-o", "json"]);
    expect(off.exitCode).toBe(0);

    // The drift gate fails and names the policy
    const gate = await stack.driftGate();
    expect(gate.exitCode).toBe(EXIT_CHANGES_FOUND);
    expect(output(gate)).toMatch(/~ pulumi-nodejs:dynamic\/pbm:PitrPolicy: \(update\)/);

    const refresh = await stack.refresh();
    // The policy shows the drift; the location is unchanged (the inventory's outputs follow pbm too).
    expect(refresh.stdout).toMatch(/PitrPolicy pitr updated .*\[diff: ~enabled\]/);
    expect(refresh.stdout).not.toMatch(/BackupLocation backups updated/);
    const up = await stack.up();
    expect(resourceCounts(up.stdout).update).toBe(1);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("true");
    expect((await stack.driftGate()).exitCode).toBe(0);
  });

  it("rejects an enabled ScheduledBackup at preview from another stack on the same cluster, but not on another cluster", async () => {
    const sameCluster = await schedules("schedules-rs0", "rs0");
    const preview = await sameCluster.preview({ okExitCodes: [1] });
    expect(preview.exitCode).toBe(1);
    expect(output(preview)).toContain(`A snapshot backup for cluster 'rs0' can be performed only if there is no enabled PITR backup for this cluster.`);
    expect(output(preview)).toContain(`PitrPolicy "pitr" (project pbm-quickstart, stack dev)`);
    expect(output(preview)).not.toContain("    at "); // no stack trace for bad input

    const otherCluster = await schedules("schedules-rs1", "rs1");
    const up = await otherCluster.up();
    expect(up.exitCode).toBe(0);
    expect((await otherCluster.outputs()).schedules).toEqual(["nightly", "weekly-physical"]);
    expect((await otherCluster.destroy()).exitCode).toBe(0);
  });

  it("keeps every backup object in S3 on destroy and never stores or passes secrets in plain text", async () => {
    const sb = sandbox();
    const stack = await quickstart("dev");
    const secrets = [sb.cluster.mongodbUri, sb.s3.secretAccessKey, sb.s3.accessKeyId, new URL(sb.cluster.mongodbUri.replace("mongodb://", "http://")).password];
    const state = await stack.exportState();
    expect(state).toContain("pulumi-nodejs:dynamic/pbm:PitrPolicy");
    for (const secret of secrets) expect(state).not.toContain(secret);
    const before = (await listKeys(sb.s3, "pbm-backups", "rs0/")).filter((k) => !k.includes(".pulumi-pbm-probe"));
    expect(before.some((k) => k.includes("pbmPitr/"))).toBe(true);

    const destroy = await stack.destroy();
    expect(destroy.exitCode).toBe(0);
    const after = await listKeys(sb.s3, "pbm-backups", "rs0/");
    for (const k of before) expect(after).toContain(k);
    // destroy turned PITR off and kept the chunks
    expect(lastJson((await runPbm(sb.cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("false");

    // No secret on any pulumi command line, nor in anything pulumi printed except `stack output --show-secrets`
    const runs = [...stacks.values()].flatMap((s) => s.history);
    expect(runs.some((r) => r.args.slice(0, 4).join(" ") === "config set --secret mongodbUri")).toBe(true);
    for (const r of runs) {
      for (const secret of secrets) expect(r.args.join(" ")).not.toContain(secret);
      if (!r.args.includes("--show-secrets")) for (const secret of secrets) expect(output(r)).not.toContain(secret);
    }

    // And the driver's error text redacts them: a command that prints secrets, made to count as failed
    const err = await stack.run(stack.withConfig("config", "get", "secretAccessKey"), { okExitCodes: [] }).catch((e: PulumiCliError) => e);
    expect(err).toBeInstanceOf(PulumiCliError);
    expect((err as PulumiCliError).result.stdout).toContain(sb.s3.secretAccessKey); // it did print one
    for (const secret of secrets) expect((err as PulumiCliError).message).not.toContain(secret);
    expect((err as PulumiCliError).message).toContain("[secret]");

    // Nor on any pbm command line; the URI reached pbm in its environment and the keys on its stdin (`--file -`)
    const calls = readPbmCalls(record);
    expect(calls.length).toBeGreaterThan(0);
    const argv = JSON.stringify(calls.map((c) => c.argv));
    for (const secret of [sb.cluster.mongodbUri, sb.s3.secretAccessKey, sb.s3.accessKeyId]) expect(argv).not.toContain(secret);
    expect(calls.every((c) => c.env.includes("PBM_MONGODB_URI"))).toBe(true);
    const fileArgs = calls.filter((c) => c.argv[0] === "config").flatMap((c) => c.argv.filter((a, i) => a.startsWith("--file") || c.argv[i - 1] === "--file"));
    expect(fileArgs.length).toBeGreaterThan(0);
    expect(fileArgs.every((a) => a === "--file=-" || a === "--file" || a === "-")).toBe(true);
  });
});
