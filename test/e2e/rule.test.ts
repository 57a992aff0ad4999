// PMM's rule through the real `pulumi` command, on two clusters (rs0, rs1): a program that breaks it on one
// cluster while another cluster deploys, PITR switched on by hand, a second PitrPolicy from another stack, a
// registry document removed by hand, and a create that fails half-way.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEDULES } from "../../provider/registry";
import { GUARD } from "../../provider/registry/guard";
import { withPbmClient } from "../../provider/state/mongo";
import type { PulumiStackCli } from "../../sandbox/stack/cli";
import { createBucket, lastJson, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { cliStack, resourceCounts, type CliResult } from "../helpers/stack";

interface Declared {
  kind: "pitr" | "schedule";
  name: string;
  cluster: "a" | "b";
  enabled?: boolean;
}

const output = (r: CliResult) => r.stdout + r.stderr;
const NO_STACK_TRACE = /\n\s+at .*\(.*:\d+:\d+\)/;

describe("PMM's rule with the pulumi command", () => {
  const sandbox = useSandbox({ replSets: ["rs0", "rs1"], pulumi: true });
  const stacks: PulumiStackCli[] = [];
  const uri = (rs: "rs0" | "rs1") => sandbox().clusters[rs].mongodbUri;

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    for (const rs of ["rs0", "rs1"] as const) await runPbm(sandbox().clusters[rs], ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", rs) });
  });

  afterAll(() => {
    const runs = stacks.flatMap((s) => s.history.map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  ${s.stack}: ${r.command}`));
    console.log(`pulumi commands run:\n${runs.join("\n")}`);
  });

  async function rules(stackName: string, resources: Declared[], extra: Record<string, string> = {}): Promise<PulumiStackCli> {
    const stack = await cliStack({
      sandbox: sandbox(),
      projectDir: "test/fixtures/rules-stack",
      stackName,
      // This test program has no tsconfig.json (no skipLibCheck): type-checking it would check every .d.ts it loads.
      env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
      config: {
        uriA: { value: uri("rs0"), secret: true },
        uriB: { value: uri("rs1"), secret: true },
        resources: { value: JSON.stringify(resources) },
        ...Object.fromEntries(Object.entries(extra).map(([k, value]) => [k, { value }])),
      },
    });
    stacks.push(stack);
    return stack;
  }

  const registry = (rs: "rs0" | "rs1") => withPbmClient(uri(rs), (admin) => admin.collection(SCHEDULES).find({}).toArray());
  const guard = (rs: "rs0" | "rs1") => withPbmClient(uri(rs), (admin) => admin.collection(GUARD).findOne({}));
  const pitrConfig = async (rs: "rs0" | "rs1") => lastJson((await runPbm(sandbox().clusters[rs], ["config", "-o", "json"])).stdout).pitr ?? {};

  it("in one program, refuses only the declarations that break the rule, reports each of them, and deploys the rest (--continue-on-error)", async () => {
    const stack = await rules("mixed", [
      { kind: "pitr", name: "pitr", cluster: "a" },
      { kind: "schedule", name: "nightly", cluster: "a" },
      { kind: "schedule", name: "weekly", cluster: "a" },
      { kind: "schedule", name: "other", cluster: "b" },
    ]);
    const refusal = (name: string) => `[PBMP-1002] ScheduledBackup "${name}": A snapshot backup for cluster 'rs0' can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled there by PitrPolicy "pitr" (in this program).`;

    // The preview shows every violation as an error on its resource, and the rest of the plan.
    const preview = await stack.preview();
    for (const name of ["nightly", "weekly"]) expect(output(preview)).toContain(refusal(name));
    expect(resourceCounts(preview.stdout).create).toBe(5);
    expect(output(preview)).not.toMatch(NO_STACK_TRACE);

    const up = await stack.up(["--continue-on-error"]).catch((e: { result?: CliResult }) => e.result!);
    expect(up.exitCode).not.toBe(0);
    for (const name of ["nightly", "weekly"]) expect(output(up)).toMatch(new RegExp(`ScheduledBackup ${name} \\*\\*creating failed\\*\\*`));
    expect(output(up)).toContain(refusal("nightly").replace("[PBMP-1002] ", ""));
    expect(output(up)).not.toMatch(NO_STACK_TRACE);
    expect(resourceCounts(up.stdout).create).toBe(3); // the stack, the PitrPolicy on rs0, the schedule on rs1

    expect((await registry("rs1")).map((e) => [e.name, e.enabled])).toEqual([["other", true]]);
    expect((await registry("rs0")).map((e) => [e.name, e.enabled])).toEqual([["pitr", true]]);
    expect((await pitrConfig("rs0")).enabled).toBe(true);

    expect((await stack.destroy()).exitCode).toBe(0);
    expect((await pitrConfig("rs0")).enabled).toBe(false);
    expect(await registry("rs0")).toEqual([]);
  });

  it("counts PITR switched on by hand: a ScheduledBackup is refused at preview, saying who did not declare it and what to do", async () => {
    await runPbm(sandbox().clusters.rs1, ["config", "--set", "pitr.enabled=true"]);
    try {
      const stack = await rules("handmade", [{ kind: "schedule", name: "nightly", cluster: "b" }]);
      const preview = await stack.preview({ okExitCodes: [1] });
      expect(output(preview)).toContain(
        "[PBMP-1002] A snapshot backup for cluster 'rs1' can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled in pbm's config there (pitr.enabled=true) but no PitrPolicy declares it: it was set by hand, by PMM or by another tool. Turn it off with `pbm config --set pitr.enabled=false`",
      );
      expect(output(preview)).not.toMatch(NO_STACK_TRACE);
    } finally {
      await runPbm(sandbox().clusters.rs1, ["config", "--set", "pitr.enabled=false"]);
    }
  });

  it("keeps one PITR owner per cluster: a second PitrPolicy is refused at preview naming the owner, and a disabled one never touches the owner's PITR", async () => {
    const owner = await rules("owner", [{ kind: "pitr", name: "pitr", cluster: "a" }]);
    expect((await owner.up()).exitCode).toBe(0);
    await runPbm(sandbox().clusters.rs0, ["config", "--set", "pitr.oplogSpanMin=10"]);

    const second = await rules("second", [{ kind: "pitr", name: "pitr", cluster: "a" }]);
    const preview = await second.preview({ okExitCodes: [1] });
    expect(output(preview)).toContain(`[PBMP-1002] PITR on cluster 'rs0' already has an owner: PitrPolicy "pitr" (project pbm-rules, stack owner). A cluster has one PitrPolicy. Change that PitrPolicy instead`);

    // Declared disabled, it deploys and changes nothing; destroying it leaves the owner's PITR on.
    const disabled = await rules("second-off", [{ kind: "pitr", name: "pitr", cluster: "a", enabled: false }]);
    expect((await disabled.up()).exitCode).toBe(0);
    expect(await pitrConfig("rs0")).toMatchObject({ enabled: true, oplogSpanMin: 10 });
    expect((await disabled.destroy()).exitCode).toBe(0);
    expect(await pitrConfig("rs0")).toMatchObject({ enabled: true, oplogSpanMin: 10 });
    expect((await registry("rs0")).find((e) => e.name === "pitr")?.declaredBy).toMatchObject({ stack: "owner" });
  });

  it("shows a removed registry document as drift on refresh, still refuses schedules meanwhile, and restores it on up", async () => {
    const owner = stacks.find((s) => s.stack === "owner")!;
    await withPbmClient(uri("rs0"), (admin) => admin.collection(SCHEDULES).deleteMany({}));

    // Meanwhile PITR is still on, so another stack's schedule is refused.
    const other = await rules("meanwhile", [{ kind: "schedule", name: "nightly", cluster: "a" }]);
    const preview = await other.preview({ okExitCodes: [1] });
    expect(output(preview)).toContain(`can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled there by PitrPolicy "pitr" (project pbm-rules, stack owner)`);

    const refresh = await owner.refresh();
    expect(refresh.stdout).toMatch(/PitrPolicy pitr updated .*\[diff: -declaredBy\]/);
    const up = await owner.up();
    expect(resourceCounts(up.stdout).update).toBe(1);
    expect((await registry("rs0")).map((e) => [e.name, e.enabled, e.declaredBy.stack])).toEqual([["pitr", true, "owner"]]);
    expect((await owner.destroy()).exitCode).toBe(0);
    expect((await pitrConfig("rs0")).enabled).toBe(false);
    expect((await guard("rs0"))?.pitr).toBeNull();
  });

  it("leaves nothing half-done when a create fails after pbm was touched, says so, and converges on the next up", async () => {
    // A pbm whose first `config --set` fails as pbm would after writing part of the keys: it sets one, then exits 1.
    const dir = mkdtempSync(path.join(tmpdir(), "pbm-flaky-"));
    const flaky = path.join(dir, "pbm");
    writeFileSync(
      flaky,
      `#!/bin/sh
if [ ! -e "${dir}/failed" ] && echo "$*" | grep -q -- "--set"; then
  touch "${dir}/failed"
  "${path.join(sandbox().pbmBinDir, "pbm")}" config --set pitr.oplogSpanMin=3 >/dev/null 2>&1
  echo "Error: set config: connection reset by peer" >&2
  exit 1
fi
exec "${path.join(sandbox().pbmBinDir, "pbm")}" "$@"
`,
    );
    chmodSync(flaky, 0o755);
    const before = await pitrConfig("rs1");
    const stack = await rules("flaky", [{ kind: "pitr", name: "pitr", cluster: "b" }], { pbmPath: flaky });
    const failed = await stack.up().catch((e: { result?: CliResult }) => e.result!);
    expect(failed.exitCode).not.toBe(0);
    expect(output(failed)).toContain(`PitrPolicy "pitr": pbm's pitr settings were put back as they were.`);
    expect(output(failed)).not.toMatch(NO_STACK_TRACE);
    // As it was: pbm's PITR settings (a key that was unset is back at pbm's default), no registry entry, no claim.
    const effective = (p: Record<string, unknown>) => ({ enabled: !!p.enabled, oplogSpanMin: p.oplogSpanMin ?? 10, oplogOnly: !!p.oplogOnly, compression: p.compression });
    expect(effective(await pitrConfig("rs1"))).toEqual(effective(before));
    expect((await registry("rs1")).filter((e) => e.kind === "pitrPolicy")).toEqual([]);
    expect((await guard("rs1"))?.pitr ?? null).toBeNull();

    const again = await stack.up();
    expect(resourceCounts(again.stdout).create).toBe(1);
    expect((await pitrConfig("rs1")).enabled).toBe(true);
    expect((await guard("rs1"))?.pitr).toMatchObject({ name: "pitr", stack: "flaky" });
    expect((await stack.destroy()).exitCode).toBe(0);
  });

  it("moves a cluster from PITR to scheduled snapshots in one up, and back, without a refusal", async () => {
    const stack = await rules("move", [{ kind: "pitr", name: "pitr", cluster: "b" }]);
    expect((await stack.up()).exitCode).toBe(0);
    const declare = (resources: Declared[]) => stack.setConfig({ resources: { value: JSON.stringify(resources) } });

    await declare([
      { kind: "pitr", name: "pitr", cluster: "b", enabled: false },
      { kind: "schedule", name: "nightly", cluster: "b" },
    ]);
    const toSchedules = await stack.up();
    expect(toSchedules.exitCode).toBe(0);
    expect((await registry("rs1")).map((e) => [e.kind, e.name, e.enabled]).sort()).toEqual([
      ["pitrPolicy", "pitr", false],
      ["schedule", "nightly", true],
    ]);
    expect((await pitrConfig("rs1")).enabled).toBe(false);

    await declare([
      { kind: "pitr", name: "pitr", cluster: "b" },
      { kind: "schedule", name: "nightly", cluster: "b", enabled: false },
    ]);
    expect((await stack.up()).exitCode).toBe(0);
    expect((await registry("rs1")).map((e) => [e.kind, e.name, e.enabled]).sort()).toEqual([
      ["pitrPolicy", "pitr", true],
      ["schedule", "nightly", false],
    ]);
    expect((await pitrConfig("rs1")).enabled).toBe(true);
    expect((await stack.destroy()).exitCode).toBe(0);
  });
});
