/**
 * A schema (or any value) built on first use and kept for the process. zod compiles a parser for each schema
 * instance on its first parse, so a schema built per call pays that on every check and read. Module-level values
 * are safe: Pulumi serialises none of the provider's code (sdk/shim.ts writes the one line it keeps in state).
 */
export function builtOnce<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
