// Follows one pbm operation (a backup or a restore) to its end: polls `describe` until the status is final, the
// timeout passes, or describing it keeps failing. The one follow loop: the runner's backup jobs, restores and
// `pbm.backup({ wait })` on releases whose CLI cannot wait share it.
import { ERROR_CODES, PbmProviderError } from "../errors";
import { realDeadline } from "../core/time";

export interface FollowOptions<S extends { status: string }> {
  describe: () => Promise<S>;
  /** Statuses that end the operation. */
  final: readonly string[];
  timeoutSec: number;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Each new status, as it is first seen. */
  onStatus?: (s: S) => void;
  /** After each poll that did not end the follow, before the wait (e.g. to renew a lease). */
  onWait?: () => Promise<void>;
  /** Consecutive failed describe calls that end the follow. */
  maxFailures?: number;
}

export type FollowEnd<S> =
  | { ended: "final"; last: S }
  | { ended: "timeout"; last?: S }
  /** Describing the operation failed `failures` times in a row, or once in a way a retry cannot fix. */
  | { ended: "lost"; last?: S; error: Error; failures: number };

/**
 * Enough to ride out a busy or restarting agent (and the first moment after a start, when pbm may not list the
 * operation yet), few enough that a lasting failure surfaces in seconds rather than at the timeout.
 */
export const MAX_DESCRIBE_FAILURES = 10;

/** Failures a retry cannot fix: no pbm, a release that does not take our flags or output we cannot read, bad input. */
const LASTING = new Set<string>([ERROR_CODES.PBM_MISSING, ERROR_CODES.PBM_TOO_OLD, ERROR_CODES.PBM_OUTPUT, ERROR_CODES.INPUT].map((c) => c.code));
const isLasting = (err: unknown) => err instanceof PbmProviderError && LASTING.has(err.code);

export async function follow<S extends { status: string }>(o: FollowOptions<S>): Promise<FollowEnd<S>> {
  const timedOut = realDeadline(o.timeoutSec * 1000);
  const maxFailures = o.maxFailures ?? MAX_DESCRIBE_FAILURES;
  let last: S | undefined;
  let failures = 0;
  for (;;) {
    try {
      const d = await o.describe();
      failures = 0;
      if (d.status !== last?.status) o.onStatus?.(d);
      last = d;
      if (o.final.includes(d.status)) return { ended: "final", last: d };
    } catch (err) {
      failures++;
      if (isLasting(err) || failures >= maxFailures) return { ended: "lost", last, error: err as Error, failures };
    }
    if (timedOut()) return { ended: "timeout", last };
    await o.onWait?.();
    await o.sleep(o.pollMs);
  }
}
