// PMM's rule for the two resources under it (ScheduledBackup, PitrPolicy): check refuses what the cluster already
// holds; an enable goes through the registry entry, the guard and pbm in one order, and puts back all three on
// failure. The resources say only what differs: their declaration, and for PITR the pbm change and its undo.
import type { Db } from "mongodb";
import { partyLabel, type RuleBlocker, type RuleParty } from "../core/pitrRule";
import { tellLeft } from "../errors";
import type { NoticeSink } from "../notice";
import { restoreEntry, upsertEntry, type Declaration, type RegistryEntry } from "../registry";
import { claimPitr, claimSchedule, newClaimToken, releasePitr, releaseSchedule } from "../registry/guard";
import { claimUnderRule, lastingBlockers, programBlockers, ruleError, ruleFailure, violationOn, type ProgramConflict } from "../registry/rule";
import { withPbmClient } from "../state/mongo";
import { isUnknown, type CheckResult } from "./common";

/** What the rule needs of a resource's inputs. */
export interface RuledInputs {
  mongodbUri: string;
  name: string;
  enabled: boolean;
  programConflicts?: ProgramConflict[];
  programReleases?: ProgramConflict[];
}

/**
 * check() for a resource under the rule, after `checked` (checkWith): an enabled one whose URI and name are known
 * is judged against what the cluster already holds (schedules, a PitrPolicy), refused here, at preview.
 * Conflicts inside this program are reported by the sdk and refused at create, so the program's other resources
 * still deploy. `more` runs on the same connection when nothing conflicts, and may add to the inputs.
 */
export async function checkUnderRule<I extends RuledInputs>(
  checked: CheckResult<I>,
  party: (i: I) => RuleParty,
  more?: (admin: Db, i: I) => Promise<Partial<I> | undefined>,
): Promise<CheckResult<I>> {
  const i = checked.inputs;
  if (checked.failures || !i || i.enabled !== true || typeof i.mongodbUri !== "string" || isUnknown(i.mongodbUri) || isUnknown(i.name)) return checked;
  // Refused already by the program (the sdk logged why, and create fails with the same words). The cluster may
  // hold that conflict by now too, when `up` created the earlier declaration before checking this one; failing the
  // check then would stop the whole deployment, the program's other clusters included.
  if (i.programConflicts?.length) return checked;
  return withPbmClient(i.mongodbUri, async (admin) => {
    const blockers = await lastingBlockers(admin, party(i), i.programReleases);
    if (blockers.length) return ruleFailure(await violationOn(admin, i.mongodbUri, party(i), blockers));
    const extra = await more?.(admin, i);
    return extra ? { inputs: { ...i, ...extra } } : checked;
  });
}

/** Puts back a change to pbm; says how that went, for the error that caused it. */
export type Undo = () => Promise<string>;

export interface EnableUnderRule<T> {
  /** Who enables: the registry entry's kind and name are the party's. */
  party: RuleParty;
  /** `PitrPolicy "pitr"`, for messages. */
  label: string;
  inputs: Pick<RuledInputs, "mongodbUri" | "programConflicts" | "programReleases">;
  /** The registry entry before this change: put back on failure. */
  before: RegistryEntry | null;
  /** The enabled declaration to write; its claim (token, pending until live) is added here. */
  declaration: Omit<Declaration, "guardToken" | "pending">;
  /** Whether `before`'s live claim is still this declaration's in the guard (default: it is). */
  holdsClaim?: () => Promise<boolean>;
  /**
   * When set, the entry is written only if no other stack declared it (registry `upsertEntry`'s `onlyOwn`, one
   * atomic write), and this error is thrown when one did, before anything else changes.
   */
  nameTaken?: () => Promise<Error>;
  /** The change to pbm, once the guard is claimed; returns how to put it back. */
  change?: () => Promise<Undo>;
  /** What follows the change before the entry goes live (a failure undoes the change). */
  then?: () => Promise<T>;
  notice: NoticeSink;
}

/** The guard's verbs (registry/guard.ts) for each kind of declaration under the rule. */
const GUARD = {
  schedule: {
    claim: (admin: Db, p: RuleParty, token: string) => claimSchedule(admin, p.name, token),
    /** After a failure: drops the schedule's claims but the one its entry had before. */
    giveBack: (admin: Db, p: RuleParty, _token: string, before: RegistryEntry | null) => releaseSchedule(admin, p.name, before?.guardToken),
    /** Once live: drops the schedule's older claims. */
    tidy: (admin: Db, p: RuleParty, token: string) => releaseSchedule(admin, p.name, token),
  },
  pitrPolicy: {
    claim: (admin: Db, p: RuleParty, token: string) => claimPitr(admin, p, token),
    giveBack: (admin: Db, p: RuleParty, token: string) => releasePitr(admin, p, token),
    tidy: async () => undefined,
  },
};

/**
 * Enables a declaration under the rule: refused at once for the program's own conflicts and for what lasts on the
 * cluster; else the entry is written pending with a claim token, the guard is claimed (one conditional write;
 * blockers this same update disables are waited for), and only then is pbm changed and the entry made live. A
 * refusal or failure puts back pbm's settings, the entry and the guard, and the error says what was left.
 */
export async function enableUnderRule<T>(admin: Db, o: EnableUnderRule<T>): Promise<T | undefined> {
  const { party, label, inputs: i, before } = o;
  const guard = GUARD[party.kind];
  const refuse = async (blockers: RuleBlocker[]) => ruleError(label, await violationOn(admin, i.mongodbUri, party, blockers), "Nothing was changed");
  if (i.programConflicts?.length) throw await refuse(programBlockers(i.programConflicts));
  const early = await lastingBlockers(admin, party, i.programReleases);
  if (early.length) throw await refuse(early);

  // An entry that already holds a live claim keeps its token: a new one would leave it unguarded for a moment.
  const holding = before?.enabled && !before.pending && before.guardToken && (await (o.holdsClaim?.() ?? true)) ? before.guardToken : undefined;
  const token = holding ?? newClaimToken();
  if (!(await upsertEntry(admin, { ...o.declaration, guardToken: token, pending: true }, { onlyOwn: !!o.nameTaken }))) throw await o.nameTaken!();
  let undo: Undo | undefined;
  try {
    const { claimed, blockers } = await claimUnderRule(admin, party, {
      claim: () => guard.claim(admin, party, token),
      releases: i.programReleases,
      onWait: (b) => o.notice(`${label} waits for ${b.map((x) => (x.by === "livePitr" ? "PITR" : partyLabel(x.party))).join(", ")} to be disabled by this same update`),
    });
    if (!claimed || blockers.length) throw await refuse(blockers);
    undo = await o.change?.();
    const result = await o.then?.();
    await upsertEntry(admin, { ...o.declaration, guardToken: token });
    await guard.tidy(admin, party, token);
    return result;
  } catch (err) {
    if (undo) tellLeft(err, `${label}: ${await undo()}`);
    // Putting the record back may fail for the same reason (a lost cluster): say so, never hide the cause.
    await restoreEntry(admin, party.kind, party.name, before)
      .then(() => (holding ? undefined : guard.giveBack(admin, party, token, before)))
      .catch((e: Error) => tellLeft(err, `${label}: its record on the cluster could not be put back (${e.message.replace(/^\[PBMP-\d+\] /, "")}); the next pulumi up clears it`));
    throw err;
  }
}
