import path from "node:path";
import { PulumiStackCli, sandboxCliEnv, type ConfigEntry } from "../../sandbox/stack/cli";
import type { Sandbox } from "../../sandbox/testbed";
import { REPO_ROOT } from "../../sandbox/testbed";

export { resourceCounts, type CliResult } from "../../sandbox/stack/cli";

/**
 * A new stack of the project in `projectDir` (relative to the repo), driven with the `pulumi` command from
 * that directory: `pulumi stack init`, then `pulumi config set` per entry (secrets on stdin), the config in a
 * file in the sandbox's data dir (`--config-file`). The env is the sandbox's (offline Pulumi settings, pbm
 * first on PATH) plus `env`.
 */
export async function cliStack(o: {
  sandbox: Sandbox;
  projectDir: string;
  stackName: string;
  config?: Record<string, ConfigEntry>;
  env?: Record<string, string>;
}): Promise<PulumiStackCli> {
  const stack = new PulumiStackCli({
    projectDir: path.join(REPO_ROOT, o.projectDir),
    stack: o.stackName,
    env: sandboxCliEnv(o.sandbox, o.env),
    // The stack config lives with the sandbox, so test runs leave the working tree as it was.
    configFile: path.join(o.sandbox.dataDir, "pulumi-config", o.projectDir.replace(/[\\/]/g, "_"), `Pulumi.${o.stackName}.yaml`),
  });
  await stack.init();
  await stack.setConfig(o.config ?? {});
  return stack;
}
