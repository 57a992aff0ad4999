// Issue 10: a history too large for memory gave "exit code 1" or a RangeError instead of saying what happened.
// A fake pbm prints 3 MB against a 1 MB limit (PULUMI_PBM_MAX_OUTPUT_MB), so the test stays fast.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PbmCommandError } from "../../provider/errors";
import { runPbmRaw } from "../../provider/pbm/run";
import { withMadeUpCredentials } from "../helpers/secrets";

describe("runPbmRaw with pbm output beyond the limit", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pbm-big-"));
  const fake = path.join(dir, "pbm");
  const { uri, password } = withMadeUpCredentials("mongodb://db.example:27017/?replicaSet=rs0", "backup");

  beforeAll(() => {
    // pbm status of a long history: one line of JSON, 3 MB of snapshots.
    writeFileSync(fake, `#!/bin/sh\nprintf '{"backups":{"snapshot":['\nyes '{"name":"2025-01-01T00:00:00Z","status":"done"},' | head -c 3000000\n`);
    chmodSync(fake, 0o755);
    process.env.PULUMI_PBM_MAX_OUTPUT_MB = "1";
  });
  afterAll(() => {
    delete process.env.PULUMI_PBM_MAX_OUTPUT_MB;
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails with PBMP-2002 naming the limit and what to do, not a RangeError or an exit code", async () => {
    // When pbm prints more than the limit
    const err = await runPbmRaw(["status"], { mongodbUri: uri, pbmPath: fake }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Then the error says so, with the ways out, and no secret
    expect(err).toBeInstanceOf(PbmCommandError);
    const e = err as PbmCommandError;
    expect(e.code).toBe("PBMP-2002");
    expect(e.message).toMatch(/^\[PBMP-2002\] pbm status printed more than 1 MB of JSON/);
    expect(e.message).toContain("pbm cleanup --older-than");
    expect(e.message).toContain("pulumi-pbm inventory --from-storage");
    expect(e.message).not.toContain(password);
  });

  it("reads output under the limit as before", async () => {
    const small = path.join(dir, "pbm-small");
    writeFileSync(small, `#!/bin/sh\necho '{"backups":{"snapshot":[]}}'\n`);
    chmodSync(small, 0o755);
    const r = await runPbmRaw(["status"], { mongodbUri: uri, pbmPath: small });
    expect(JSON.parse(r.stdout)).toEqual({ backups: { snapshot: [] } });
  });
});
