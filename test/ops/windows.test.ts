// The restorable windows, the gaps between them and the restore hint on a real history with a gap: the real pbm
// CLI and the simulated agents, which stop slicing while they are down and resume after the oplog window has
// rolled past (`oplogWindowMin`), leaving oplog no base snapshot covers until the next snapshot.
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pitrPolicy } from "../../provider";
import type { Inventory } from "../../provider/inventory";
import type { PitrPolicyInputs } from "../../provider/schemas";
import { clock, configureSimulator } from "../../sandbox/pbm-sim/control";
import { REPO_ROOT } from "../../sandbox/testbed";
import { createBucket, lastJson, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

const T0 = new Date("2026-06-20T10:00:00Z");
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z/g;

describe("pulumi-pbm inventory and restore: not configured yet, then a history with a gap", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "pulumi-pbm"), ...args], { env: { ...process.env, PBM_MONGODB_URI: uri() } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  let policy: { inputs: PitrPolicyInputs; outs: Record<string, unknown> };
  let inv: Inventory;

  it("says pbm is not configured yet before a BackupLocation, in the table and as `configured: false`", async () => {
    const table = await cli(["inventory"]);
    expect(table, table.stderr).toMatchObject({ code: 0, stdout: "cluster rs0: pbm is not configured yet (no BackupLocation has set its storage): no backups, nothing restorable\n" });
    const json = await cli(["inventory", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({
      cluster: "rs0",
      configured: false,
      snapshots: [],
      pitrRanges: [],
      restorableWindows: [],
      gaps: [],
      latestRestorableWindow: null,
      pitr: { enabled: false, running: false },
    });
  });

  it("builds a history with a gap", async () => {
    // Given a cluster with storage and a PitrPolicy (which takes the base snapshot), an hour of oplog,
    await createBucket(sandbox().s3, "pbm-backups");
    await clock.set(uri(), T0);
    await runPbm(sandbox().cluster, ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "rs0") });
    const checked = await pitrPolicy.check({}, { mongodbUri: uri(), name: "pitr", oplogSpanMin: 10 });
    const inputs = checked.inputs as PitrPolicyInputs;
    const created = await pitrPolicy.create(inputs);
    policy = { inputs, outs: created.outs as unknown as Record<string, unknown> };
    await clock.advance(uri(), 120);
    await clock.advance(uri(), 3600);
    // then every agent down for two hours with a 30-minute oplog window, half an hour of oplog with no base,
    await configureSimulator(uri(), { agentsDown: ["*"], oplogWindowMin: 30 });
    await clock.advance(uri(), 2 * 3600);
    await configureSimulator(uri(), { agentsDown: [] });
    await clock.advance(uri(), 1800);
    // and a new snapshot with half an hour of oplog after it
    await runPbm(sandbox().cluster, ["backup"]);
    await clock.advance(uri(), 120);
    await clock.advance(uri(), 1800);
  }, 120_000);

  it("lists two windows and the gap between them in `pulumi-pbm inventory --json` and the table", async () => {
    const json = await cli(["inventory", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    inv = JSON.parse(json.stdout);
    const [base, second] = [...inv.snapshots].sort((a, b) => a.restoreToTime.localeCompare(b.restoreToTime)); // pbm lists newest first
    expect(inv.configured).toBe(true);
    expect(inv.pitrRanges.map((r) => r.backed)).toEqual([true, false, true]);
    expect(inv.restorableWindows).toEqual([
      { start: base.restoreToTime, end: inv.pitrRanges[0].end },
      { start: second.restoreToTime, end: inv.pitrRanges[2].end },
    ]);
    expect(inv.gaps).toEqual([{ start: inv.pitrRanges[0].end, end: second.restoreToTime }]);
    expect(Date.parse(inv.gaps[0].end) - Date.parse(inv.gaps[0].start)).toBeGreaterThan(2 * 3600_000);
    expect(inv.latestRestorableWindow).toEqual(inv.restorableWindows[1]);

    const table = await cli(["inventory"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain("RESTORABLE WINDOWS (2, 1 gap)\n");
    expect(table.stdout).toContain(`  ${inv.restorableWindows[0].start} … ${inv.restorableWindows[0].end}\n`);
    expect(table.stdout).toMatch(new RegExp(`  gap [^:]+: nothing restorable between ${inv.gaps[0].start} and ${inv.gaps[0].end}\\n`));
    expect(table.stdout).toContain(`  ${inv.restorableWindows[1].start} … ${inv.restorableWindows[1].end}  latest\n`);
  });

  it("refuses a time in the gap, naming the window edges on each side and never a span containing it", async () => {
    // inside the oplog that no base snapshot covers, and inside the outage
    for (const t of [new Date(Date.parse(inv.gaps[0].end) - 600_000), new Date(Date.parse(inv.gaps[0].start) + 3600_000)]) {
      const r = await cli(["restore", "--to", t.toISOString()]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`nearest restorable times: latest before: ${inv.gaps[0].start}, earliest after: ${inv.gaps[0].end})`);
      expect(r.stderr).toContain(`Pick ${inv.gaps[0].start} or earlier, or ${inv.gaps[0].end} or later`);
      for (const named of r.stderr.match(ISO) ?? []) {
        if (named === t.toISOString()) continue;
        expect(inv.restorableWindows.some((w) => Date.parse(w.start) <= Date.parse(named) && Date.parse(named) <= Date.parse(w.end)), named).toBe(true);
      }
    }
  });

  it("restores to the latest window, turns PITR off, says how the policy comes back, and refresh + up bring it back", async () => {
    // When a restore inside the latest window runs (the clock runs on so the agents finish it)
    await clock.run(uri(), 60, await clock.now(uri()));
    const target = new Date(Date.parse(inv.latestRestorableWindow!.start) + 600_000).toISOString();
    const r = await cli(["restore", "--to", target]);
    expect(r.code, r.stderr).toBe(0);
    // Then pbm has turned PITR off and the command says so, with the way back
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^restore \\S+ to ${target.replace(/\./g, "\\.")}: done$`));
    expect(lines[1]).toMatch(/^pbm turned PITR off for the restore, and it stays off\. To bring the declared PitrPolicy back, run `pulumi up --refresh`/);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("false");

    // And what `pulumi up --refresh` does: the refresh reads PITR off, the diff sees the declared `enabled: true`,
    // and the update applies it again
    const refreshed = await pitrPolicy.read(String(policy.outs.cluster) + "/pitr", policy.outs as never);
    expect(refreshed.props.enabled).toBe(false);
    const diff = await pitrPolicy.diff("rs0/pitr", refreshed.props as never, policy.inputs);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await pitrPolicy.update("rs0/pitr", refreshed.props as never, policy.inputs);
    expect(lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value).toBe("true");
    // pbm resumes PITR only from a backup taken after the restore: the update started one, and slicing resumes
    expect(updated.outs.baseSnapshot).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await clock.advance(uri(), 120);
    await clock.advance(uri(), 900);
    const st = lastJson((await runPbm(sandbox().cluster, ["status", "-s", "pitr", "-o", "json"])).stdout);
    expect(st.pitr).toMatchObject({ conf: true, run: true });
    expect(st.pitr.error ?? "").toBe("");
  });
});
