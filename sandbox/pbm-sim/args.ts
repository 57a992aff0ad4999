// A small command-line parser with pbm's flag semantics: global flags anywhere, `--flag=value` or
// `--flag value`, repeatable flags, and each release's wording for parse errors.
import { PbmError } from "./io";
import type { Features } from "./version";

export type FlagType = "bool" | "string" | "strings";
export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  since?: string;
}

export interface Parsed {
  command: string[];
  args: string[];
  flags: Map<string, string[]>;
  mongodbUri?: string;
  out: string;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "mongodb-uri", type: "string" },
  { name: "out", short: "o", type: "string" },
];

export function parseError(f: Features, cobraText: string, kingpinText: string): PbmError {
  return new PbmError(f.cobra ? cobraText : `parse command line parameters: ${kingpinText}`, "parse");
}

/** Splits argv into the command words, positional args and flags, validating flags against `specFor`. */
export function parseArgs(argv: string[], f: Features, specFor: (command: string[]) => FlagSpec[] | undefined, commandDepth: (first: string) => number): Parsed {
  const flags = new Map<string, string[]>();
  let out = "text";
  let mongodbUri: string | undefined;
  const tokens = [...argv];
  // The command words decide which flags exist: find them first (flags may come before or after them).
  const positional: string[] = [];
  for (let i = 0; i < tokens.length && tokens[i] !== "--"; i++) {
    const t = tokens[i];
    if (t === "-o" || t === "--out" || t === "--mongodb-uri") i++; // a global flag's value, not a command word
    else if (!t.startsWith("-") || t === "-") positional.push(t);
  }
  const first = positional[0];
  const depth = first ? commandDepth(first) : 1;
  const specs = [...GLOBAL_FLAGS, ...(specFor(positional.slice(0, depth)) ?? [])];
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));

  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === "--") {
      rest.push(...tokens.slice(i + 1));
      break;
    }
    if (!t.startsWith("-") || t === "-") {
      rest.push(t);
      continue;
    }
    let spec: FlagSpec | undefined;
    let value: string | undefined;
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const name = eq >= 0 ? t.slice(2, eq) : t.slice(2);
      if (eq >= 0) value = t.slice(eq + 1);
      spec = byLong.get(name);
      if (!spec) throw parseError(f, `unknown flag: --${name}`, `unknown long flag '--${name}'`);
    } else {
      const short = t[1];
      spec = byShort.get(short);
      if (!spec) throw parseError(f, `unknown shorthand flag: '${short}' in ${t}`, `unknown short flag '-${short}'`);
      if (t.length > 2) value = t.slice(2).replace(/^=/, "");
    }
    if (spec.type === "bool") {
      value = value ?? "true";
    } else if (value === undefined) {
      if (i + 1 >= tokens.length) throw parseError(f, `flag needs an argument: --${spec.name}`, `expected argument for flag '--${spec.name}'`);
      value = tokens[++i];
    }
    const list = flags.get(spec.name) ?? [];
    list.push(value);
    flags.set(spec.name, list);
  }
  if (flags.has("out")) out = flags.get("out")!.at(-1)!;
  if (flags.has("mongodb-uri")) mongodbUri = flags.get("mongodb-uri")!.at(-1)!;
  return { command: rest.slice(0, depth), args: rest.slice(depth), flags, mongodbUri, out };
}

export const flag = {
  bool: (p: Parsed, name: string) => p.flags.has(name) && p.flags.get(name)!.at(-1) !== "false",
  str: (p: Parsed, name: string) => p.flags.get(name)?.at(-1),
  all: (p: Parsed, name: string) => p.flags.get(name) ?? [],
};
