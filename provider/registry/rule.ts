// PMM's rule applied to one cluster (for the resources and the runner): judge a wanted enable against the cluster (guard, registry, pbm's live
// config) and against the program's own declarations, and word the refusal one way everywhere.
import type { Db } from "mongodb";
import { withReplicaSet, clusterFromUri, type ClusterIdentity } from "../core/cluster";
import { ruleBlockers, ruleText, ruleViolation, type RuleBlocker, type RuleParty, type RuleViolation } from "../core/pitrRule";
import { errors, type PbmProviderError } from "../errors";
import { readRuleState } from "./guard";
import { readPbmConfig, withPbmClient } from "../state/mongo";

/** The cluster `admin` reaches: the URI's hosts and the replica set the server reports. */
export async function clusterIdentity(admin: Db, mongodbUri: string): Promise<ClusterIdentity> {
  const hello = await admin.command({ hello: 1 });
  return withReplicaSet(clusterFromUri(mongodbUri), hello.setName ? String(hello.setName) : undefined);
}

export async function livePitrEnabled(admin: Db): Promise<boolean> {
  return !!(await readPbmConfig(admin))?.pitr?.enabled;
}

/** What on the cluster stops `wanted` from being enabled now (read-only but for dropping dead claims). */
export async function clusterBlockers(admin: Db, wanted: RuleParty): Promise<RuleBlocker[]> {
  return ruleBlockers(wanted, await readRuleState(admin, await livePitrEnabled(admin)));
}

/** Conflicts the sdk found among the program's own declarations (the `programConflicts` input). */
export interface ProgramConflict {
  kind: "schedule" | "pitrPolicy";
  name: string;
}

/** Whether a blocker is a declaration of this same program that the program disables (`programReleases`). */
export function isReleased(b: RuleBlocker, releases: ProgramConflict[] | undefined, me: RuleParty): boolean {
  if (b.by === "livePitr") return false;
  const p = b.party;
  return (releases ?? []).some((r) => r.kind === p.kind && r.name === p.name && (p.project ?? "") === (me.project ?? "") && (p.stack ?? "") === (me.stack ?? ""));
}

/** What blocks `wanted` now, less what this program is giving up in the same `up`. */
export async function lastingBlockers(admin: Db, wanted: RuleParty, releases: ProgramConflict[] | undefined): Promise<RuleBlocker[]> {
  return (await clusterBlockers(admin, wanted)).filter((b) => !isReleased(b, releases, wanted));
}

/**
 * Claims the rule's guard with `claim` (one conditional write), then reads what still blocks. Blockers that the
 * program itself disables in this `up` are waited for (the engine runs their update alongside this create), up
 * to `waitMs`; anything else is returned at once for the caller to refuse. Returns [] once claimed and clear.
 */
export async function claimUnderRule(
  admin: Db,
  wanted: RuleParty,
  o: { claim: () => Promise<boolean>; releases?: ProgramConflict[]; waitMs?: number; onWait?: (blockers: RuleBlocker[]) => void },
): Promise<{ claimed: boolean; blockers: RuleBlocker[] }> {
  const deadline = Date.now() + (o.waitMs ?? 120_000);
  let told = false;
  for (let attempt = 1; ; attempt++) {
    const claimed = await o.claim();
    const blockers = await clusterBlockers(admin, wanted);
    if (claimed && !blockers.length) return { claimed, blockers };
    // The holder let go between the claim and the read: claim again.
    if (!blockers.length && attempt < 5) continue;
    const waitable = blockers.length > 0 && blockers.every((b) => isReleased(b, o.releases, wanted));
    if (!waitable || Date.now() > deadline) return { claimed, blockers };
    if (!told) o.onWait?.(blockers);
    told = true;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

export function programBlockers(conflicts: ProgramConflict[] | undefined): RuleBlocker[] {
  return (conflicts ?? []).map((c) => ({ by: c.kind, party: { kind: c.kind, name: c.name, inThisProgram: true } }));
}

export async function violationOn(admin: Db, mongodbUri: string, wanted: RuleParty, blockers: RuleBlocker[]): Promise<RuleViolation> {
  return ruleViolation(await clusterIdentity(admin, mongodbUri), wanted, blockers);
}

/** The refusal as an error of ours: `[PBMP-1002] ScheduledBackup "b": … . <fix>.` */
export function ruleError(resource: string, v: RuleViolation, left?: string): PbmProviderError {
  return errors.pitrConflict(`${resource}: ${v.what}${left ? `. ${left}` : ""}`, { advice: `${v.fix}.` });
}

/** The refusal as a check failure on `enabled` (the engine names the resource). */
export function ruleFailure(v: RuleViolation) {
  return { failures: [{ property: "enabled", reason: ruleText(v) }] };
}

/** The cluster a connection string reaches, asked of the server (for the sdk, which has only the URI). */
export async function identifyCluster(mongodbUri: string): Promise<ClusterIdentity> {
  return withPbmClient(mongodbUri, (admin) => clusterIdentity(admin, mongodbUri));
}
