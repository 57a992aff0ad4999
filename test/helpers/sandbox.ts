import { afterAll, beforeAll } from "vitest";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../sandbox/testbed";

/**
 * Starts a private sandbox (FerretDB per replica set, MinIO, and the Pulumi CLI when asked) for one test
 * file and stops it afterwards. Call at the top of a describe block; the returned getter is valid inside tests.
 */
export function useSandbox(options: SandboxOptions = {}): () => Sandbox {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ pulumi: false, ...options });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });
  return () => {
    if (!sandbox) throw new Error("sandbox not started: call useSandbox() at describe level");
    return sandbox;
  };
}
