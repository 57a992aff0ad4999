/**
 * A schema (or any value) built on first use and kept for the process. zod compiles a parser for each schema
 * instance on its first parse, so a schema built per call pays that on every check and read. Module-level values
 * are safe here: Pulumi serialises only the sdk's shims (sdk/shim.ts), which capture nothing but a `require`.
 */
export function builtOnce<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
