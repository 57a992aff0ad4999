// Cron fire times in UTC (pure): which fire time is due, and the next one. Parsed expressions and each job's first
// fire time after its last run are kept in small LRU maps, so a pass over thousands of entries rarely parses.

type Cron = { prev(): { toDate(): Date }; next(): { toDate(): Date }; reset(at: Date): void };

/** Parsed cron expressions by expression string, least recently used first (a pass reads every entry's). */
const cronCache = new Map<string, Cron>();
export const CRON_CACHE_MAX = 4096;
/** The first fire time after a job's `since`, by expression and `since` (ms): a pass where nothing is due reads only this. */
const firstAfterCache = new Map<string, number>();
const FIRST_AFTER_MAX = 16384;

/** Gets `key` from an LRU map, computing and adding it (dropping the least recently used beyond `max`) if absent. */
function lru<V>(m: Map<string, V>, key: string, max: number, make: () => V): V {
  let v = m.get(key);
  if (v !== undefined) m.delete(key); // most recently used goes last
  else {
    v = make();
    if (m.size >= max) m.delete(m.keys().next().value!);
  }
  m.set(key, v);
  return v;
}

/**
 * The expression positioned at `at`. Parsed once per expression string and process (a changed cron is a new
 * string, so it is parsed on the next pass); `reset` repositions it, as parsing it anew at `at` would.
 */
function cronAt(expr: string, at: Date): Cron {
  const c = lru(cronCache, expr, CRON_CACHE_MAX, () => {
    const { CronExpressionParser } = require("cron-parser") as typeof import("cron-parser");
    return CronExpressionParser.parse(expr, { tz: "UTC" }) as unknown as Cron;
  });
  c.reset(at);
  return c;
}

/** Why `expr` is not a cron expression the runner can run (5 fields, or 6 with seconds, in UTC); undefined if it is. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) return `must be a cron expression with 5 fields (or 6 with seconds), evaluated in UTC; got "${expr.slice(0, 100)}"`;
  try {
    cronAt(expr, new Date());
    return undefined;
  } catch (e) {
    return `is not a valid cron expression ("${expr.slice(0, 100)}"): ${(e as Error).message}`;
  }
}

/** How many parsed expressions the process holds (tests). */
export function cachedCronCount(): number {
  return cronCache.size;
}

/**
 * The fire time to run now, if any: the latest fire time after `since` and not after `now`. Runs missed while
 * no runner was up collapse into this one catch-up.
 */
export function dueFireTime(cron: string, since: Date, now: Date): Date | undefined {
  // A fire time lies in (since, now] exactly when the first one after `since` is not after `now`; that first one
  // stays the same until the job runs (or its cron changes), so most passes answer from memory.
  const first = lru(firstAfterCache, `${since.getTime()} ${cron}`, FIRST_AFTER_MAX, () => cronAt(cron, since).next().toDate().getTime());
  if (first > now.getTime()) return undefined;
  const latest = cronAt(cron, new Date(now.getTime() + 1)).prev().toDate();
  return latest.getTime() > since.getTime() && latest.getTime() <= now.getTime() ? latest : undefined;
}

export function nextFireTime(cron: string, after: Date): Date {
  return cronAt(cron, after).next().toDate();
}
