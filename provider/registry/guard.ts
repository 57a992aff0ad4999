// The rule's guard: one document per cluster (admin.pulumiPbmGuard, `_id: "pitr-rule"`) that every enable goes
// through before pbm or the registry's enabled state is touched. Claims are single conditional writes, so two
// stacks or runners racing on one cluster cannot both win:
//   - a schedule joins `schedules` only while `pitr` is null;
//   - a PitrPolicy takes `pitr` only while `schedules` is empty and `pitr` is null or already its own.
// Each claim carries a token that the claimant wrote to its registry entry *before* claiming. A claim whose
// token is no longer its entry's (the entry was deleted, disabled, or claimed again) can never become live
// again, so dropping it is safe: that is how claims left by a killed process are cleaned up. What the guard
// does not cover: pbm's config changed by hand or by PMM at the same moment (the live `pitr.enabled` is read
// after the claim, so it is caught unless it changes in that instant), and clusters reached by two URIs that
// share no host.
import { randomBytes } from "node:crypto";
import type { Db } from "mongodb";
import { sameParty, type RuleParty, type RuleState } from "../core/pitrRule";
import { entryId, listEntries, partyOf, type RegistryEntry } from "./index";

export const GUARD = "pulumiPbmGuard";
const GUARD_ID = "pitr-rule";

interface PitrClaim {
  name: string;
  project?: string;
  stack?: string;
  token: string;
}

interface GuardDoc {
  _id: string;
  pitr: PitrClaim | null;
  /** `<registry id>#<token>` per enabled schedule. */
  schedules: string[];
}

export const newClaimToken = () => randomBytes(8).toString("hex");

const guard = (admin: Db) => admin.collection<GuardDoc>(GUARD);
const scheduleClaim = (name: string, token: string) => `${entryId("schedule", name)}#${token}`;
const claimOwner = (c: PitrClaim): RuleParty => ({ kind: "pitrPolicy", name: c.name, project: c.project, stack: c.stack });

async function readGuard(admin: Db): Promise<GuardDoc> {
  let doc = await guard(admin).findOne({ _id: GUARD_ID });
  if (!doc) {
    // An insert that loses to another process's insert is fine: the document exists either way.
    await guard(admin).insertOne({ _id: GUARD_ID, pitr: null, schedules: [] }).catch((e: { code?: number }) => {
      if (e.code !== 11000) throw e;
    });
    doc = await guard(admin).findOne({ _id: GUARD_ID });
  }
  return { _id: GUARD_ID, pitr: doc?.pitr ?? null, schedules: doc?.schedules ?? [] };
}

/** Claims a place for an enabled schedule; false while a PitrPolicy holds the cluster. */
export async function claimSchedule(admin: Db, name: string, token: string): Promise<boolean> {
  await readGuard(admin);
  const r = await guard(admin).findOneAndUpdate({ _id: GUARD_ID, pitr: null }, { $addToSet: { schedules: scheduleClaim(name, token) } }, { returnDocument: "after" });
  return !!r;
}

/** Drops a schedule's claims: all of them, or all but the one with `keep`. */
export async function releaseSchedule(admin: Db, name: string, keep?: string): Promise<void> {
  const g = await readGuard(admin);
  const prefix = `${entryId("schedule", name)}#`;
  const mine = g.schedules.filter((s) => s.startsWith(prefix) && s !== (keep ? prefix + keep : undefined));
  if (mine.length) await guard(admin).updateOne({ _id: GUARD_ID }, { $pullAll: { schedules: mine } });
}

/** Claims PITR for `owner`; false while schedules are enabled or another PitrPolicy owns it. */
export async function claimPitr(admin: Db, owner: RuleParty, token: string): Promise<boolean> {
  await readGuard(admin);
  const claim: PitrClaim = { name: owner.name, ...(owner.project ? { project: owner.project } : {}), ...(owner.stack ? { stack: owner.stack } : {}), token };
  const r = await guard(admin).findOneAndUpdate(
    {
      _id: GUARD_ID,
      schedules: { $size: 0 },
      $or: [{ pitr: null }, { "pitr.name": owner.name, "pitr.project": owner.project ?? { $exists: false }, "pitr.stack": owner.stack ?? { $exists: false } }],
    },
    { $set: { pitr: claim } },
    { returnDocument: "after" },
  );
  return !!r;
}

/** Gives PITR back, only if `owner` holds it (optionally only the claim with `token`). */
export async function releasePitr(admin: Db, owner: RuleParty, token?: string): Promise<void> {
  const g = await readGuard(admin);
  if (!g.pitr || !sameParty(claimOwner(g.pitr), owner) || (token && g.pitr.token !== token)) return;
  await guard(admin).updateOne({ _id: GUARD_ID, "pitr.token": g.pitr.token }, { $set: { pitr: null } });
}

/** Who holds PITR on the cluster per the guard, if anyone. */
export async function pitrHolder(admin: Db): Promise<RuleParty | undefined> {
  const g = await readGuard(admin);
  return g.pitr ? claimOwner(g.pitr) : undefined;
}

/**
 * The rule's state on this cluster: live claims in the guard, enabled registry entries from before the guard
 * existed, and pbm's own `pitr.enabled`. Claims that can never be live again are dropped on the way.
 */
export async function readRuleState(admin: Db, livePitr: boolean): Promise<RuleState> {
  // Only entries that can hold a claim or count under the rule: enabled or pending schedules and PitrPolicies.
  const [g, entries] = [await readGuard(admin), await listEntries(admin, { kind: { $in: ["schedule", "pitrPolicy"] }, $or: [{ enabled: true }, { pending: true }] })];
  const byId = new Map<string, RegistryEntry>(entries.map((e) => [e._id, e]));
  const holds = (e: RegistryEntry | undefined, token: string) => !!e && e.guardToken === token && (e.enabled || !!e.pending);

  const enabledSchedules: RuleParty[] = [];
  const dead: string[] = [];
  for (const s of g.schedules) {
    const [id, token] = [s.slice(0, s.lastIndexOf("#")), s.slice(s.lastIndexOf("#") + 1)];
    const e = byId.get(id);
    if (holds(e, token)) enabledSchedules.push(partyOf(e!));
    else dead.push(s);
  }
  // Entries enabled before this version had a guard count too.
  for (const e of entries) if (e.kind === "schedule" && e.enabled && !e.guardToken && !enabledSchedules.some((p) => p.name === e.name)) enabledSchedules.push(partyOf(e));
  if (dead.length) await guard(admin).updateOne({ _id: GUARD_ID }, { $pullAll: { schedules: dead } });

  let pitrOwner: RuleParty | undefined;
  if (g.pitr) {
    // An owner whose entry is gone keeps PITR while pbm still slices: the entry is restored by its next `up`.
    if (holds(byId.get(entryId("pitrPolicy", g.pitr.name)), g.pitr.token) || livePitr) pitrOwner = claimOwner(g.pitr);
    else await guard(admin).updateOne({ _id: GUARD_ID, "pitr.token": g.pitr.token }, { $set: { pitr: null } });
  } else {
    const legacy = entries.find((e) => e.kind === "pitrPolicy" && e.enabled && !e.guardToken);
    if (legacy) pitrOwner = partyOf(legacy);
  }
  return { enabledSchedules, ...(pitrOwner ? { pitrOwner } : {}), livePitr };
}
