// The policy pack (policy/) through the real Go-built Pulumi CLI: `pulumi preview --policy-pack policy` from the
// project's directory, as users and CI run it, with the Node.js language host starting the pack (its RunPlugin,
// sandbox/scripts/language-host/runplugin.go). The fixture is test/fixtures/policy-stack (see its header): PMM's
// rule broken inside one stack, by pulumi-pbm's classes and by resources registered without them, and kept
// across two clusters with every advisory finding. Preview only: nothing is created.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterFromUri, ruleText, ruleViolation, type RuleBlocker, type RuleParty } from "../../provider/core";
import type { PulumiStackCli } from "../../sandbox/stack/cli";
import { REPO_ROOT } from "../../sandbox/testbed";
import { useSandbox } from "../helpers/sandbox";
import { cliStack, type CliResult } from "../helpers/stack";

const PACK = path.join(REPO_ROOT, "policy");
const output = (r: CliResult) => r.stdout + r.stderr;
const oneLine = (s: string) => s.replace(/\s+/g, " ");

interface Finding {
  level: string;
  policy: string;
  /** `pulumi-nodejs:dynamic/pbm:ScheduledBackup: nightly` */
  resource: string;
  /** The policy's description and the violation's message, on one line. */
  text: string;
}

/** The pack's findings as pulumi prints them: `pulumi-pbm@v0.1.0 [level]  policy  (type: name)description\nmessage`. */
function findings(out: string): Finding[] {
  const text = oneLine(out);
  return text
    .split(/pulumi-pbm@v\S+ /)
    .slice(1)
    .flatMap((block) => {
      const m = /^\[(\w+)\] (\S+) \(([^)]*)\)(.*?)(?= [+~-] pulumi|Resources:|$)/.exec(block);
      return m ? [{ level: m[1], policy: m[2], resource: m[3], text: m[4] }] : [];
    });
}

describe("the policy pack with pulumi preview --policy-pack", () => {
  const sandbox = useSandbox({ replSets: ["rs0", "rs1"], pulumi: true });
  let stack: PulumiStackCli;
  let secrets: string[];
  const preview = async (scenario: string) => {
    await stack.configSet("scenario", scenario);
    return stack.preview({ policyPacks: [PACK], okExitCodes: "any" });
  };
  /** The rule's words from pulumi-pbm/core for `who` on cluster rs0, refused because of the PitrPolicy "pitr". */
  const ruleWords = (who: RuleParty, label: string) => {
    const blocker: RuleBlocker = { by: "pitrPolicy", party: { kind: "pitrPolicy", name: "pitr", inThisProgram: true } };
    return oneLine(ruleText(ruleViolation(clusterFromUri(sandbox().clusters.rs0.mongodbUri), who, [blocker]), label));
  };

  beforeAll(async () => {
    const sb = sandbox();
    const [a, b] = [sb.clusters.rs0.mongodbUri, sb.clusters.rs1.mongodbUri];
    const passwords = [a, b].map((u) => decodeURIComponent(new URL(u).password));
    secrets = [a, b, ...passwords, sb.s3.secretAccessKey];
    stack = await cliStack({
      sandbox: sb,
      projectDir: "test/fixtures/policy-stack",
      stackName: "policy",
      config: {
        scenario: { value: "conflict" },
        mongodbUriA: { value: a, secret: true },
        mongodbUriB: { value: b, secret: true },
        accessKeyId: { value: sb.s3.accessKeyId, secret: true },
        secretAccessKey: { value: sb.s3.secretAccessKey, secret: true },
      },
    });
  });

  afterAll(() => {
    const runs = (stack?.history ?? []).map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  ${r.command}`);
    console.log(`pulumi commands run:\n${runs.join("\n")}`);
  });

  it("blocks a stack that enables PITR and a scheduled backup on one cluster: [mandatory], with the rule's own words", async () => {
    const r = await preview("conflict");
    const out = output(r);
    expect(r.exitCode, out).not.toBe(0);
    const mandatory = findings(out).filter((f) => f.level === "mandatory");
    // Only the later of the two; the disabled schedule and the schedule on the other cluster do not conflict.
    expect(mandatory.map((f) => `${f.policy} ${f.resource}`)).toEqual(["pbm-pitr-rule pulumi-nodejs:dynamic/pbm:ScheduledBackup: nightly"]);
    const words = ruleWords({ kind: "schedule", name: "nightly", inThisProgram: true }, 'ScheduledBackup "nightly"');
    expect(words).toMatch(/^\[PBMP-1002\] ScheduledBackup "nightly": A snapshot backup for cluster 'rs0' can be performed only if/);
    expect(mandatory[0].text).toContain(words);
    expect(oneLine(out)).not.toMatch(/unhandled exception|failed to (start|load)|not supported/i);
  });

  it("blocks resources of pulumi-pbm's types registered without its classes, and a second PitrPolicy on the cluster", async () => {
    const r = await preview("unchecked");
    const out = output(r);
    expect(r.exitCode, out).not.toBe(0);
    const mandatory = findings(out).filter((f) => f.level === "mandatory");
    expect(mandatory.map((f) => `${f.policy} ${f.resource}`).sort()).toEqual([
      "pbm-pitr-rule pulumi-nodejs:dynamic/pbm:PitrPolicy: pitr-again",
      "pbm-pitr-rule pulumi-nodejs:dynamic/pbm:ScheduledBackup: nightly",
    ]);
    const byResource = (name: string) => mandatory.find((f) => f.resource.endsWith(`: ${name}`))!.text;
    expect(byResource("pitr-again")).toContain(ruleWords({ kind: "pitrPolicy", name: "pitr-again", inThisProgram: true }, 'PitrPolicy "pitr-again"'));
    expect(byResource("pitr-again")).toContain("already has an owner");
    expect(byResource("nightly")).toContain(ruleWords({ kind: "schedule", name: "nightly", inThisProgram: true }, 'ScheduledBackup "nightly"'));
    // Nothing but the pack stopped this preview.
    expect(oneLine(out)).not.toMatch(/error: \[PBMP-1002\]|unhandled exception|failed to (start|load)|not supported/i);
  });

  it("passes PitrPolicy and ScheduledBackup on two clusters, and advises on retention, static keys, encryption and base snapshots", async () => {
    const r = await preview("advice");
    const out = output(r);
    expect(r.exitCode, out).toBe(0);
    const found = findings(out);
    expect(found.filter((f) => f.level !== "advisory")).toEqual([]);
    const advice = Object.fromEntries(found.map((f) => [f.policy, f]));
    expect(Object.keys(advice).sort()).toEqual(["pbm-pitr-base-snapshots", "pbm-s3-server-side-encryption", "pbm-s3-static-keys", "pbm-schedule-retention"]);
    expect(advice["pbm-schedule-retention"].text).toContain('ScheduledBackup "nightly" keeps every backup it makes: it has no retention');
    expect(advice["pbm-s3-static-keys"].text).toContain('BackupLocation "backups" gives pbm a static S3 access key');
    expect(advice["pbm-s3-server-side-encryption"].text).toContain('BackupLocation "backups" does not set serverSideEncryption');
    expect(advice["pbm-pitr-base-snapshots"].text).toContain("PitrPolicy \"pitr\" enables PITR on cluster 'rs0' without a baseSnapshotSchedule");
    expect(oneLine(out)).toMatch(/\+ 4 to create/); // the stack and the three resources
  });

  it("never prints a secret: the clusters' URIs and passwords, the S3 secret key", () => {
    expect(stack.history.filter((r) => r.args[0] === "preview")).toHaveLength(3);
    for (const r of stack.history) {
      for (const s of secrets) {
        expect(r.command.includes(s), r.command).toBe(false);
        expect(output(r).includes(s), `a secret in the output of ${r.command}`).toBe(false);
      }
    }
  });
});
