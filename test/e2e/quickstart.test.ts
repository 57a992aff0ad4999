// The quickstart and schedules examples through the real Go-built Pulumi CLI, against FerretDB, MinIO and the
// pbm simulator: outputs, refresh drift, PMM's PITR rule across stacks and clusters, destroy keeping data,
// and secrets kept out of state and argv.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { clock, pathWithSimulator, readRecord } from "../../sandbox/pbm-sim/control";
import { createBucket, lastJson, listKeys, runPbm } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { programStack, stackDriver } from "../helpers/stack";

describe("quickstart example through the real engine", () => {
  const sandbox = useSandbox({ replSets: ["rs0", "rs1"], pulumi: true });
  let record: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    for (const c of Object.values(sandbox().clusters)) await clock.set(c.mongodbUri, new Date("2026-06-20T10:00:00Z"));
    record = path.join(mkdtempSync(path.join(tmpdir(), "pbm-e2e-")), "pbm-calls.jsonl");
    env = { PATH: pathWithSimulator(sandbox().pulumiEnv().PATH), PBM_SIM_RECORD: record };
  });

  const quickstart = (stackName: string, cluster = "rs0") => {
    const sb = sandbox();
    return programStack({
      sandbox: sb,
      workDir: "examples/quickstart",
      program: "examples/quickstart/index.js",
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
  };
  const schedules = (stackName: string, cluster: string) =>
    programStack({
      sandbox: sandbox(),
      workDir: "examples/schedules",
      program: "examples/schedules/index.js",
      stackName,
      env,
      config: { mongodbUri: { value: sandbox().clusters[cluster].mongodbUri, secret: true } },
    });

  it("configures pbm, starts a base snapshot, and shows the inventory and restorable window as outputs", async () => {
    const uri = sandbox().cluster.mongodbUri;
    const stack = await quickstart("dev");
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.storagePath.value).toBe("s3://pbm-backups/rs0");
    expect(up.outputs.baseSnapshot.value).toBe("2026-06-20T10:00:00Z");
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.oplogSpanMin", "-o", "json"])).stdout).value).toBe("5");

    // When the base snapshot finishes and an hour of oplog is sliced
    await clock.advance(uri, 120);
    await clock.advance(uri, 3600);
    const again = await stack.up();
    expect(again.summary.resourceChanges).not.toHaveProperty("update");
    const snapshots = again.outputs.snapshots.value as { name: string; status: string }[];
    expect(snapshots).toEqual([expect.objectContaining({ name: "2026-06-20T10:00:00Z", status: "done", type: "logical" })]);
    const ranges = again.outputs.pitrRanges.value as { start: string; end: string; backed: boolean }[];
    expect(ranges).toHaveLength(1);
    expect(ranges[0].backed).toBe(true);
    expect(again.outputs.restorableWindow.value).toEqual({ earliest: expect.stringMatching(/^2026-06-20T10:0/), latest: ranges[0].end });

    // And a refresh finds no drift
    await stack.refresh({ expectNoChanges: true });
  });

  it("reports an out-of-band pitr.enabled=false on refresh and undoes it on up", async () => {
    const stack = await quickstart("dev");
    const off = await runPbm(sandbox().cluster, ["config", "--set", "pitr.enabled=false", "-o", "json"]);
    expect(off.exitCode).toBe(0);
    const refresh = await stack.refresh();
    // The policy shows the drift; the location is unchanged (the inventory's outputs follow pbm too).
    expect(refresh.stdout).toMatch(/PitrPolicy pitr updated .*\[diff: ~enabled\]/);
    expect(refresh.stdout).not.toMatch(/BackupLocation backups updated/);
    const up = await stack.up();
    expect(up.summary.resourceChanges?.update).toBe(1);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("true");
  });

  it("rejects an enabled ScheduledBackup at preview from another stack on the same cluster, but not on another cluster", async () => {
    const sameCluster = await schedules("schedules-rs0", "rs0");
    const err = await sameCluster.preview().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`A snapshot backup for cluster 'rs0' can be performed only if there is no enabled PITR backup for this cluster.`);
    expect(err?.message).toContain(`PitrPolicy "pitr" (stack pbm-quickstart/dev)`);
    expect(err?.message).not.toContain("    at "); // no stack trace for bad input

    const otherCluster = await schedules("schedules-rs1", "rs1");
    const up = await otherCluster.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.schedules.value).toEqual(["nightly", "weekly-physical"]);
    await otherCluster.destroy();
  });

  it("rejects at preview an enabled PitrPolicy and an enabled ScheduledBackup that are both new in one program", async () => {
    const stack = await programStack({
      sandbox: sandbox(),
      workDir: "sandbox/testprograms/ruleConflict",
      program: "sandbox/testprograms/ruleConflict/index.js",
      stackName: "conflict",
      env,
      config: { mongodbUri: { value: sandbox().clusters.rs1.mongodbUri, secret: true } },
    });
    const err = await stack.preview().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`[PBMP-1002] ScheduledBackup "nightly": A snapshot backup for cluster '127.0.0.1:`);
    expect(err?.message).toContain(`This program also enables PitrPolicy "pitr" there.`);
    expect(err?.message).not.toMatch(/\n\s+at /); // no stack trace for bad input
  });

  it("keeps every backup object in S3 on destroy and never stores or passes secrets in plain text", async () => {
    const sb = sandbox();
    const stack = await quickstart("dev");
    const state = await stackDriver.exportStoredState(stack);
    for (const secret of [sb.cluster.mongodbUri, sb.s3.secretAccessKey, sb.s3.accessKeyId, new URL(sb.cluster.mongodbUri.replace("mongodb://", "http://")).password])
      expect(state).not.toContain(secret);
    const before = (await listKeys(sb.s3, "pbm-backups", "rs0/")).filter((k) => !k.includes(".pulumi-pbm-probe"));
    expect(before.some((k) => k.includes("pbmPitr/"))).toBe(true);

    const destroy = await stack.destroy();
    expect(destroy.summary.result).toBe("succeeded");
    const after = await listKeys(sb.s3, "pbm-backups", "rs0/");
    for (const k of before) expect(after).toContain(k);
    // destroy turned PITR off and kept the chunks
    expect(lastJson((await runPbm(sb.cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("false");

    const calls = readRecord(record);
    expect(calls.length).toBeGreaterThan(0);
    const argv = JSON.stringify(calls.map((c) => c.argv));
    for (const secret of [sb.cluster.mongodbUri, sb.s3.secretAccessKey, sb.s3.accessKeyId]) expect(argv).not.toContain(secret);
    expect(calls.every((c) => c.env.includes("PBM_MONGODB_URI"))).toBe(true);
    expect(calls.filter((c) => c.argv[0] === "config" && c.argv.includes("--file")).every((c) => c.stdin)).toBe(true);
  });
});
