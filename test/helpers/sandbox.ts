import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../sandbox/testbed";

/**
 * Starts a private sandbox (FerretDB per replica set behind the simulated agents, MinIO, the real pbm CLI, and
 * the Pulumi CLI when asked) for one test file, puts its pbm first on PATH, and stops it afterwards. Call at the top of a describe block; the returned getter is valid inside tests.
 */
export function useSandbox(options: SandboxOptions = {}): () => Sandbox {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ pulumi: false, ...options });
    // The provider runs `pbm` from PATH, as users' hosts do: the sandbox's real release comes first.
    process.env.PATH = `${sandbox.pbmBinDir}${path.delimiter}${process.env.PATH ?? ""}`;
    console.log(`sandbox: real pbm ${sandbox.pbmRelease}`);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });
  return () => {
    if (!sandbox) throw new Error("sandbox not started: call useSandbox() at describe level");
    return sandbox;
  };
}
