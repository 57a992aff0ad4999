// PMM's rule, the one place it is written down: PITR may not be enabled on a cluster while other scheduled
// backups are enabled there, and the reverse; a cluster has one PITR owner. Other clusters are not affected.
// Pure: callers gather the state (registry, guard, pbm's live config, the program's declarations) and word
// their error with `ruleViolation`. Used by the resources, the runner, the sdk and the policy pack.
import { clusterLabel, type ClusterIdentity } from "./cluster";

export const RULE_CODE = "PBMP-1002";

export type RuleKind = "schedule" | "pitrPolicy";

/** A declaration the rule is about: a ScheduledBackup or a PitrPolicy, and who declared it. */
export interface RuleParty {
  kind: RuleKind;
  name: string;
  project?: string;
  stack?: string;
  /** Declared by the program being run (named "in this program" rather than by stack). */
  inThisProgram?: boolean;
}

/** What is enabled on one cluster, as far as the rule is concerned. */
export interface RuleState {
  /** Enabled ScheduledBackups (a PitrPolicy's base-snapshot cadence is not one). */
  enabledSchedules: RuleParty[];
  /** The PitrPolicy that holds PITR on the cluster, enabled. */
  pitrOwner?: RuleParty;
  /** pbm's own `pitr.enabled`, whoever set it. */
  livePitr: boolean;
}

export type RuleBlocker = { by: "schedule" | "pitrPolicy"; party: RuleParty } | { by: "livePitr" };

export function sameParty(a: RuleParty, b: RuleParty): boolean {
  return a.kind === b.kind && a.name === b.name && (a.project ?? "") === (b.project ?? "") && (a.stack ?? "") === (b.stack ?? "");
}

/** What stops `wanted` from being enabled; empty when the rule allows it. */
export function ruleBlockers(wanted: RuleParty, state: RuleState): RuleBlocker[] {
  if (wanted.kind === "schedule") {
    if (state.pitrOwner) return [{ by: "pitrPolicy", party: state.pitrOwner }];
    return state.livePitr ? [{ by: "livePitr" }] : [];
  }
  const blockers: RuleBlocker[] = [];
  if (state.pitrOwner && !sameParty(state.pitrOwner, wanted)) blockers.push({ by: "pitrPolicy", party: state.pitrOwner });
  for (const s of state.enabledSchedules) blockers.push({ by: "schedule", party: s });
  return blockers;
}

const KIND_NAME: Record<RuleKind, string> = { schedule: "ScheduledBackup", pitrPolicy: "PitrPolicy" };

/** `ScheduledBackup "nightly" (project shop, stack prod)`. */
export function partyLabel(p: RuleParty): string {
  const where = p.inThisProgram ? "in this program" : [p.project && `project ${p.project}`, p.stack && `stack ${p.stack}`].filter(Boolean).join(", ");
  return `${KIND_NAME[p.kind]} "${p.name}"${where ? ` (${where})` : ""}`;
}

export interface RuleViolation {
  /** What is refused and why, naming the cluster and every blocker. */
  what: string;
  /** What to do about it. */
  fix: string;
}

/** The rule's wording for `wanted` refused on `cluster` by `blockers` (non-empty). */
export function ruleViolation(cluster: ClusterIdentity, wanted: RuleParty, blockers: RuleBlocker[]): RuleViolation {
  const c = clusterLabel(cluster);
  if (wanted.kind === "schedule") {
    const b = blockers[0];
    if (b && b.by !== "livePitr")
      return {
        what: `A snapshot backup for cluster '${c}' can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled there by ${partyLabel(b.party)}`,
        fix: "Set enabled: false on this ScheduledBackup, or disable that PitrPolicy first; to keep base snapshots while PITR runs, use the PitrPolicy's baseSnapshotSchedule",
      };
    return {
      what: `A snapshot backup for cluster '${c}' can be performed only if there is no enabled PITR backup for this cluster. PITR is enabled in pbm's config there (pitr.enabled=true) but no PitrPolicy declares it: it was set by hand, by PMM or by another tool`,
      fix: "Turn it off with `pbm config --set pitr.enabled=false`, or declare it with a PitrPolicy and use its baseSnapshotSchedule instead of this ScheduledBackup",
    };
  }
  const owner = blockers.flatMap((b) => (b.by === "pitrPolicy" ? [b] : []))[0];
  if (owner)
    return {
      what: `PITR on cluster '${c}' already has an owner: ${partyLabel(owner.party)}. A cluster has one PitrPolicy`,
      fix: "Change that PitrPolicy instead of declaring a second one, or delete it first (remove it from its program and run pulumi up there)",
    };
  const schedules = blockers.flatMap((b) => (b.by === "schedule" ? [partyLabel(b.party)] : []));
  return {
    what: `A PITR backup for the cluster '${c}' can be enabled only if there are no other scheduled backups for this cluster. Enabled there: ${schedules.join(", ")}`,
    fix: "Set enabled: false on those ScheduledBackups (or delete them) before enabling PITR; for base snapshots use this PitrPolicy's baseSnapshotSchedule. Other clusters are not affected",
  };
}

/** The violation as one line with its code: what check failures, the sdk and the runner print. */
export function ruleText(v: RuleViolation, resource?: string): string {
  return `[${RULE_CODE}] ${resource ? `${resource}: ` : ""}${v.what}. ${v.fix}.`;
}

/** One declaration in a program (or a stack, for the policy pack). */
export interface Declared extends RuleParty {
  cluster: ClusterIdentity;
  enabled: boolean;
}

/**
 * The violations among one program's declarations, in declaration order: each enabled declaration is judged
 * against the enabled ones declared before it on the same cluster, so the later of two conflicting
 * declarations is the one refused, as the later of two stacks is.
 */
export function programViolations(declared: Declared[], same: (a: ClusterIdentity, b: ClusterIdentity) => boolean): { who: Declared; blockers: RuleBlocker[] }[] {
  const out: { who: Declared; blockers: RuleBlocker[] }[] = [];
  declared.forEach((d, i) => {
    if (!d.enabled) return;
    const before = declared.slice(0, i).filter((e) => e.enabled && same(e.cluster, d.cluster) && !out.some((o) => o.who === e));
    const state: RuleState = {
      enabledSchedules: before.filter((e) => e.kind === "schedule"),
      pitrOwner: before.find((e) => e.kind === "pitrPolicy"),
      livePitr: false,
    };
    const blockers = ruleBlockers(d, state);
    if (blockers.length) out.push({ who: d, blockers });
  });
  return out;
}
