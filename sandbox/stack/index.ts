// Drives a Pulumi program through the real Go-built CLI with the Automation API, as an inline program: the
// compiled program module is required fresh on each run in this process, with `workDir` set to the directory
// holding its Pulumi.yaml so the dynamic-provider host resolves node_modules from there. Only for callers that
// need the program in-process (the bench); tests and the demo run the `pulumi` command (cli.ts).
import * as automation from "@pulumi/pulumi/automation";
import path from "node:path";

export interface ConfigEntry {
  value: string;
  secret?: boolean;
}

export interface OpenStackOptions {
  /** Directory with Pulumi.yaml; the provider host runs here. */
  workDir: string;
  /** Compiled program module (JS); its exports become the stack outputs. */
  programModule: string;
  stackName: string;
  /** Directory holding the `pulumi` binary. */
  pulumiBinDir: string;
  /** Offline environment (file backend, passphrase, ...) plus anything the provider needs. */
  env: Record<string, string>;
  config?: Record<string, ConfigEntry>;
}

/** Requires a module and everything it loaded from the same directory tree afresh. */
function requireFresh(modulePath: string): Record<string, unknown> {
  const resolved = require.resolve(modulePath);
  const dir = path.dirname(resolved);
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(dir + path.sep) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[key];
  }
  return require(resolved);
}

export async function openStack(o: OpenStackOptions): Promise<automation.Stack> {
  const pulumiCommand = await automation.PulumiCommand.get({ root: path.dirname(o.pulumiBinDir) });
  const program = async () => ({ ...requireFresh(o.programModule) });
  const projectName = path.basename(o.workDir);
  const stack = await automation.LocalWorkspace.createOrSelectStack(
    { stackName: o.stackName, projectName, program },
    { workDir: o.workDir, envVars: o.env, pulumiCommand },
  );
  if (o.config) {
    const entries: automation.ConfigMap = {};
    for (const [k, v] of Object.entries(o.config)) entries[k] = { value: v.value, secret: v.secret ?? false };
    await stack.setAllConfig(entries);
  }
  return stack;
}

export { automation };

/**
 * The stack's state as stored: `pulumi stack export` without `--show-secrets` (the Automation API's
 * exportStack decrypts secrets, which would hide a leak).
 */
export async function exportStoredState(stack: automation.Stack): Promise<string> {
  const ws = stack.workspace as automation.LocalWorkspace;
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    execFile(
      ws.pulumiCommand.command,
      ["stack", "export", "--stack", stack.name],
      { cwd: ws.workDir, env: { ...process.env, ...ws.envVars }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`pulumi stack export failed: ${stderr}`)) : resolve(stdout)),
    );
  });
}
