// What a user sees when the cluster cannot be reached, through the real `pulumi` command: one message per
// failing resource, with its code, the cause and the fix; no stack trace; no secret.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createBucket } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";
import { cliStack, type CliResult } from "../helpers/stack";

const output = (r: CliResult) => r.stdout + r.stderr;

describe("errors through the pulumi command", () => {
  const sandbox = useSandbox({ pulumi: true });
  beforeAll(async () => createBucket(sandbox().s3, "pbm-backups"));

  const previewWith = async (stackName: string, mongodbUri: string) => {
    const sb = sandbox();
    const stack = await cliStack({
      sandbox: sb,
      projectDir: "examples/quickstart",
      stackName,
      config: {
        mongodbUri: { value: mongodbUri, secret: true },
        bucket: { value: "pbm-backups" },
        endpointUrl: { value: sb.s3.endpoint },
        accessKeyId: { value: sb.s3.accessKeyId, secret: true },
        secretAccessKey: { value: sb.s3.secretAccessKey, secret: true },
      },
    });
    return stack.preview({ okExitCodes: [0, 1, 255] });
  };

  /** Asserts the failure reads as one actionable message per resource, and returns the messages. */
  function expectActionable(r: CliResult, secret: string): string[] {
    const text = output(r);
    expect(r.exitCode, text).not.toBe(0);
    expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack frame
    expect(text).not.toContain(secret);
    const messages = text
      .split("\n")
      .filter((l) => /error: (Preview failed: )?\[PBMP-\d{4}\]/.test(l))
      .map((l) => l.replace(/^.*error: (Preview failed: )?/, "").trim());
    expect(messages.length, text).toBeGreaterThan(0);
    // Pulumi prints each diagnostic twice (live and in the summary); nothing of ours adds a third copy.
    for (const m of new Set(messages)) expect(text.split(m).length - 1, `${m}\n---\n${text}`).toBeLessThanOrEqual(2);
    for (const m of messages) expect(m).not.toMatch(/\.\./);
    return messages;
  }

  it("reports an unreachable cluster with PBMP-3001 within the timeout the URI sets, without a stack trace", async () => {
    const started = Date.now();
    const password = `pw-${randomBytes(6).toString("hex")}`;
    const r = await previewWith("unreachable", `mongodb://pbm:${password}@127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=1500`);
    const messages = expectActionable(r, password);
    expect(messages.every((m) => /^\[PBMP-3001\] (PitrPolicy|BackupLocation|BackupInventory|ScheduledBackup)\b/.test(m)), messages.join("\n")).toBe(true);
    expect(messages[0]).toMatch(/Check the connection string, the network path and the credentials\.$/);
    console.log(`unreachable cluster: preview failed after ${((Date.now() - started) / 1000).toFixed(1)} s:\n  ${[...new Set(messages)].join("\n  ")}`);
  });

  it("reports a wrong password with PBMP-3001 naming the authentication failure once", async () => {
    const wrong = `wrong-${randomBytes(6).toString("hex")}`;
    const uri = sandbox().cluster.mongodbUri.replace(/:([^:@/]+)@/, `:${wrong}@`);
    const r = await previewWith("wrong-password", uri);
    const messages = expectActionable(r, wrong);
    expect(messages.some((m) => /Authentication failed/.test(m)), messages.join("\n")).toBe(true);
  });
});
