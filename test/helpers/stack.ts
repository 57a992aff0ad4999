import { createRequire } from "node:module";
import path from "node:path";
import type * as StackModule from "../../sandbox/stack";
import type { Sandbox } from "../../sandbox/testbed";
import { REPO_ROOT } from "../../sandbox/testbed";

// The stack driver and the programs are loaded with Node's own require from dist/, not through vitest's
// transform: Pulumi serialises provider closures by looking modules up in require.cache.
const nativeRequire = createRequire(__filename);
export const stackDriver: typeof StackModule = nativeRequire(path.join(REPO_ROOT, "dist", "sandbox", "stack", "index.js"));

/** Absolute path of a compiled module under dist/, e.g. distPath("examples/quickstart/index.js"). */
export const distPath = (rel: string) => path.join(REPO_ROOT, "dist", rel);

/** PATH with the pbm simulator first, as the provider host must see it. */
export function pathWithSimulator(): string {
  return [path.join(REPO_ROOT, "sandbox", "pbm-sim", "bin"), process.env.PATH ?? ""].join(path.delimiter);
}

export interface ProgramStackOptions {
  sandbox: Sandbox;
  /** Directory (relative to the repo) holding Pulumi.yaml, e.g. "examples/quickstart". */
  workDir: string;
  /** Compiled program, relative to dist/, e.g. "examples/quickstart/index.js". */
  program: string;
  stackName: string;
  config?: Record<string, StackModule.ConfigEntry>;
  env?: Record<string, string>;
}

export function programStack(o: ProgramStackOptions) {
  const base = o.sandbox.pulumiEnv();
  return stackDriver.openStack({
    workDir: path.join(REPO_ROOT, o.workDir),
    programModule: distPath(o.program),
    stackName: o.stackName,
    pulumiBinDir: o.sandbox.pulumiBinDir!,
    env: { ...base, ...o.env },
    config: o.config,
  });
}
