// Independent reads run at the same time, with a failure that does not depend on timing.

/**
 * Waits for every promise and returns their values in order. When some fail, throws the failure of the first one
 * listed, whichever failed first in time: a cluster that is down fails the driver's read and pbm's call alike, and
 * the user should always see the same message for it.
 */
export async function together<T extends readonly unknown[]>(...work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const s of settled) if (s.status === "rejected") throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
