// Shared pieces of the resource handlers: preview unknowns, check results, diffs over desired fields.
import type * as pulumi from "@pulumi/pulumi";
import { sameCluster, tryClusterFromUri } from "../core/cluster";
import { ERROR_CODES, PbmProviderError } from "../errors";
import type { z } from "zod";
import { describeIssuePath, issueMessage } from "../schemas";
import { watchEngine } from "../engineWatch";

/** `pulumi.runtime.unknownValue`: what check/diff see for values unknown during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isUnknown = (v: unknown) => v === UNKNOWN;

export function containsUnknown(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** Drops unknown values (at any depth) so validation judges only what is known. */
export function withoutUnknowns<T>(v: T): T {
  if (Array.isArray(v)) return v.filter((x) => !isUnknown(x)).map(withoutUnknowns) as T;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!isUnknown(x)) out[k] = withoutUnknowns(x);
    return out as T;
  }
  return v;
}

export interface CheckFailure {
  /**
   * Always "": the engine prints a failure on a named property as `property X value {<value>} has a problem`,
   * showing the value even when it is a secret (pulumi/pulumi#19465: a bad mongodbUri printed whole, password
   * included). The property is named in `reason` instead, which the engine prints alone.
   */
  property: "";
  /** `property "oplogSpanMin": must be …` */
  reason: string;
}

/** What check returns: failures, or the inputs (typed as up sees them; in preview a value may be `UNKNOWN`). */
export interface CheckResult<I> {
  inputs?: I;
  failures?: pulumi.dynamic.CheckFailure[];
}

/**
 * A resource's handlers, typed by its inputs I (what check returns; what create, diff and update get) and its
 * state O. These are `pulumi.dynamic.ResourceProvider<I, O>`'s own signatures but for two: check gets the raw
 * property bags (they are not inputs until it has judged them), and read gets the state (the host always passes
 * it; the SDK has it optional) and returns inputs as inputs (the SDK's `ReadResult<O>` types them as state).
 */
export type Handlers<I, O> = Pick<pulumi.dynamic.ResourceProvider<I, O>, "diff" | "create" | "update" | "delete"> & {
  check?: (olds: Record<string, unknown>, news: Record<string, unknown>) => Promise<CheckResult<I>>;
  read?: (id: string, props: O) => Promise<{ id?: string; props?: O; inputs?: Partial<I> }>;
};

/**
 * Validates known inputs; returns failures naming each property, or the parsed inputs with defaults.
 * Top-level values unknown during preview are validated as `placeholders` (so rules across fields still run)
 * and handed back unknown.
 */
export function checkWith<T>(schema: z.ZodType<T>, news: Record<string, unknown>, placeholders: Record<string, unknown> = {}): CheckResult<T> {
  const { __provider, ...rest } = news;
  const unknownTop = Object.keys(rest).filter((k) => isUnknown(rest[k]));
  const candidate = withoutUnknowns(rest) as Record<string, unknown>;
  for (const k of unknownTop) if (k in placeholders) candidate[k] = placeholders[k];
  const nestedUnknown = Object.entries(rest).some(([k, v]) => !unknownTop.includes(k) && containsUnknown(v));
  const parsed = schema.safeParse(candidate);
  if (!parsed.success) {
    const failures = parsed.error.issues
      // A value missing only because it is unknown in preview is not a failure.
      .filter((i) => !(i.code === "invalid_type" && containsUnknown(getPath(rest, i.path))))
      // A rule across fields whose other field is unknown in preview waits for the value (check runs again in up).
      .filter((i) => !(DEPENDS_ON[String(i.path[i.path.length - 1])] ?? []).some((k) => containsUnknown(getPath(rest, [...i.path.slice(0, -1), k]))))
      .map((i) => checkFailure(`[${ERROR_CODES.INPUT.code}] ${describeIssuePath(i)}: ${issueMessage(i)}`));
    if (failures.length) return { failures };
    // Judged again in up, once the values are known.
    return { inputs: news as T };
  }
  if (nestedUnknown) return { inputs: news as T };
  const out: Record<string, unknown> = { ...(parsed.data as Record<string, unknown>) };
  for (const k of unknownTop) out[k] = UNKNOWN;
  return { inputs: { ...out, ...(__provider ? { __provider } : {}) } as T };
}

/** Properties whose rules read a sibling (schemas.ts): judged only when the sibling is known. */
const DEPENDS_ON: Record<string, string[]> = { compressionLevel: ["compression"], namespaces: ["type"], maxRetryDelayMs: ["minRetryDelayMs"] };

/** A check failure the engine prints as given, without any input's value (see CheckFailure). */
export function checkFailure(reason: string): CheckFailure {
  return { property: "", reason };
}

function getPath(o: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((acc, k) => (acc && typeof acc === "object" ? (acc as Record<PropertyKey, unknown>)[k] : undefined), o);
}

/** Stable JSON for comparing desired fields. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
}

/** The properties of `o` named in `keys` that are set. */
export function pick<T extends object, K extends string>(o: T, keys: readonly K[]): { [P in K & keyof T]?: T[P] } {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (valueAt(o, k) !== undefined) out[k] = valueAt(o, k);
  return out as { [P in K & keyof T]?: T[P] };
}

/** A property of a resource's inputs or state by name (for the lists of desired fields). */
const valueAt = (o: object, k: string): unknown => (o as Record<string, unknown>)[k];

/**
 * Whether a changed `mongodbUri` still reaches the same cluster (provider/core/cluster.ts): a password rotation,
 * another option or a member added to the seed list is an update; another cluster is a replacement.
 */
export function sameTarget(oldUri: unknown, newUri: unknown): boolean {
  // Every diff asks (a refresh diffs each resource it reads): the same text needs no parsing.
  if (typeof oldUri === "string" && oldUri === newUri) return true;
  const [a, b] = [tryClusterFromUri(oldUri), tryClusterFromUri(newUri)];
  return a && b ? sameCluster(a, b) : oldUri === newUri;
}

/** The keys whose value differs between the state and the new inputs (or is unknown in preview). */
export function changedKeys(olds: object, news: object, keys: readonly string[]): string[] {
  return keys.filter((k) => containsUnknown(valueAt(news, k)) || canonical(valueAt(olds, k)) !== canonical(valueAt(news, k)));
}

/** Plain JSON (no undefined, no driver types): what the dynamic-provider host can encode as a Struct. */
export function plain<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

type Handler = Record<string, (...args: any[]) => Promise<any>>;

/** Which argument of each handler method holds the resource's properties (the dynamic provider's signatures). */
const PROPS_ARG: Record<string, number> = { check: 1, diff: 2, create: 0, read: 1, update: 2, delete: 1 };

/**
 * Makes every result of a resource's handlers encodable by the provider host, and names the resource in its
 * errors. The first call in Pulumi's dynamic-provider host starts the watch on the engine (../engineWatch.ts).
 */
export function encodable<H extends Handler>(h: H, label?: (props: Record<string, unknown>, id?: string) => string): H {
  const out: Handler = {};
  for (const [name, fn] of Object.entries(h))
    out[name] = async (...args: unknown[]) => {
      watchEngine();
      const r = await fn(...args).catch((err: unknown) => {
        const props = (args[PROPS_ARG[name] ?? -1] ?? {}) as Record<string, unknown>;
        throw reportedOnce(label ? namedFor(err, label(props, typeof args[0] === "string" ? args[0] : undefined)) : err);
      });
      if (!r || typeof r !== "object") return r;
      const { outs, props, inputs, ...rest } = r as Record<string, unknown>;
      return { ...rest, ...(outs !== undefined ? { outs: plain(outs) } : {}), ...(props !== undefined ? { props: plain(props) } : {}), ...(inputs !== undefined ? { inputs: plain(inputs) } : {}) };
    };
  return out as H;
}

/** Puts the resource in front of an error of ours that does not name it yet: `[PBMP-3001] PitrPolicy "pitr": …`. */
function namedFor(err: unknown, resource: string): unknown {
  if (!(err instanceof PbmProviderError) || !resource) return err;
  // Messages that already start with the resource kind name it their own way (e.g. a location by its cluster).
  const kind = resource.split(" ")[0];
  if (err.message.includes(resource) || new RegExp(`^\\[PBMP-\\d{4}\\] ${kind}\\b`).test(err.message)) return err;
  err.message = err.message.replace(/^(\[PBMP-\d{4}\] )/, `$1${resource}: `);
  return err;
}

/** Marks an error whose message the engine already shows, so the provider host does not print it again. */
const REPORTED = "pulumi-pbm: reported by the engine";

/**
 * For check, diff, read and delete, Pulumi's dynamic-provider host prints `${err}: ${err.stack}` to its stderr
 * before it returns the error, and the engine then shows the message once more: a user would see our message
 * twice and a stack trace through our code. Errors of ours (PBMP codes) carry everything a user needs in their
 * message, so they get a marker instead of a stack, and the host's line with the marker is dropped. Anything
 * else (a bug) keeps its stack.
 */
function reportedOnce(err: unknown): unknown {
  if (!(err instanceof PbmProviderError)) return err;
  silenceReportedLines();
  Object.defineProperty(err, "stack", { value: REPORTED, configurable: true, writable: true });
  Object.defineProperty(err, "toString", { value: () => REPORTED, configurable: true, writable: true });
  return err;
}

let silenced = false;
function silenceReportedLines(): void {
  if (silenced) return;
  silenced = true;
  const print = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].includes(REPORTED)) return;
    print(...args);
  };
}
