// ScheduledBackup: a cron schedule in the registry collection of the target cluster. pbm has no scheduler;
// the package's runner (`pulumi-pbm scheduler`) executes it. Deleting it keeps every backup it made.
import type { Db } from "mongodb";
import { partyLabel, type RuleBlocker, type RuleParty } from "../core/pitrRule";
import { PbmProviderError } from "../errors";
import { deleteEntry, getEntry, restoreEntry, upsertEntry, type Declaration, type RegistryEntry } from "../registry";
import { claimSchedule, newClaimToken, releaseSchedule } from "../registry/guard";
import { scheduledBackupInputs, type ScheduledBackupInputs } from "../schemas";
import { clusterName, withPbmClient } from "../state/mongo";
import { changedKeys, checkWith, isUnknown, pick, sameTarget } from "./common";
import { claimUnderRule, lastingBlockers, programBlockers, ruleError, ruleFailure, violationOn } from "../registry/rule";

/** Stand-ins for values unknown during preview, so cross-field rules still run. */
const PREVIEW_PLACEHOLDERS = { mongodbUri: "mongodb://unknown/", name: "unknown", schedule: "0 0 * * *" };

const DESIRED = ["name", "schedule", "type", "compression", "compressionLevel", "namespaces", "profile", "retention", "enabled", "pbmPath", "timeoutSec"] as const;

export interface ScheduledBackupOutputs extends Omit<ScheduledBackupInputs, "programConflicts" | "programReleases"> {
  cluster: string;
  /** The next run time (UTC) by the schedule. */
  nextRunTime?: string;
}

function nextRun(cron: string): string | undefined {
  try {
    const { CronExpressionParser } = require("cron-parser") as typeof import("cron-parser");
    return CronExpressionParser.parse(cron, { tz: "UTC" }).next().toDate().toISOString();
  } catch {
    return undefined;
  }
}

const partyOf = (i: Pick<ScheduledBackupInputs, "name" | "declaredBy">): RuleParty => ({ kind: "schedule", name: i.name, ...i.declaredBy });
const label = (i: Pick<ScheduledBackupInputs, "name">) => `ScheduledBackup "${i.name}"`;
const notice = (line: string) => console.log(`pulumi-pbm: ${line}`);

function declaration(i: ScheduledBackupInputs, enabled: boolean, claim?: { token: string; pending?: boolean }): Declaration {
  return {
    kind: "schedule",
    name: i.name,
    enabled,
    cron: i.schedule,
    backup: {
      type: i.type,
      ...(i.compression ? { compression: i.compression } : {}),
      ...(i.compressionLevel !== undefined ? { compressionLevel: i.compressionLevel } : {}),
      ...(i.namespaces?.length ? { namespaces: i.namespaces } : {}),
      ...(i.profile ? { profile: i.profile } : {}),
    },
    retention: i.retention,
    ...(i.timeoutSec ? { timeoutSec: i.timeoutSec } : {}),
    declaredBy: i.declaredBy ?? {},
    ...(claim ? { guardToken: claim.token, ...(claim.pending ? { pending: true } : {}) } : {}),
  };
}

/**
 * Enables the schedule under the rule: the registry entry is written pending with a new claim token, then the
 * guard is claimed (one conditional write), then the entry is made live. A refusal or a failure on the way puts
 * the entry and the guard back as they were.
 */
async function enable(admin: Db, i: ScheduledBackupInputs, before: RegistryEntry | null): Promise<void> {
  const me = partyOf(i);
  const refuse = async (blockers: RuleBlocker[]) => ruleError(label(i), await violationOn(admin, i.mongodbUri, me, blockers), "Nothing was changed");
  if (i.programConflicts?.length) throw await refuse(programBlockers(i.programConflicts));
  const early = await lastingBlockers(admin, me, i.programReleases);
  if (early.length) throw await refuse(early);

  // An entry that already holds a live claim keeps its token: a new one would leave it unguarded for a moment.
  const holding = before?.enabled && !before.pending && before.guardToken ? before.guardToken : undefined;
  const token = holding ?? newClaimToken();
  await upsertEntry(admin, declaration(i, true, { token, pending: true }));
  try {
    const { claimed, blockers } = await claimUnderRule(admin, me, {
      claim: () => claimSchedule(admin, i.name, token),
      releases: i.programReleases,
      onWait: (b) => notice(`${label(i)} waits for ${b.map((x) => (x.by === "livePitr" ? "PITR" : partyLabel(x.party))).join(", ")} to be disabled by this same update`),
    });
    if (!claimed || blockers.length) throw await refuse(blockers);
    await upsertEntry(admin, declaration(i, true, { token }));
    await releaseSchedule(admin, i.name, token);
  } catch (err) {
    await restoreEntry(admin, "schedule", i.name, before)
      .then(() => (holding ? undefined : releaseSchedule(admin, i.name, before?.guardToken)))
      .catch((e: Error) => {
        if (err instanceof PbmProviderError) err.tellLeft(`Its record on the cluster could not be put back (${e.message.replace(/^\[PBMP-\d+\] /, "")}); the next pulumi up clears it`);
      });
    throw err;
  }
}

async function apply(i: ScheduledBackupInputs): Promise<ScheduledBackupOutputs> {
  return withPbmClient(i.mongodbUri, async (admin) => {
    const cluster = await clusterName(admin);
    const before = await getEntry(admin, "schedule", i.name);
    if (i.enabled) await enable(admin, i, before);
    else {
      await upsertEntry(admin, declaration(i, false));
      await releaseSchedule(admin, i.name);
    }
    const { programConflicts: _c, programReleases: _r, ...outs } = i;
    return { ...outs, cluster, nextRunTime: i.enabled ? nextRun(i.schedule) : undefined };
  });
}

export const scheduledBackup = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const r = checkWith(scheduledBackupInputs(), news, PREVIEW_PLACEHOLDERS);
    if (r.failures || !r.inputs) return r;
    const i = r.inputs as ScheduledBackupInputs;
    // Conflicts with what the cluster already holds are refused here, at preview. Conflicts inside this program
    // are reported by the sdk and refused at create, so other resources of the program still deploy.
    if (i.enabled === true && typeof i.mongodbUri === "string" && !isUnknown(i.mongodbUri) && !isUnknown(i.name)) {
      const v = await withPbmClient(i.mongodbUri, async (admin) => {
        const blockers = await lastingBlockers(admin, partyOf(i), i.programReleases);
        return blockers.length ? violationOn(admin, i.mongodbUri, partyOf(i), blockers) : undefined;
      });
      if (v) return ruleFailure(v);
    }
    return r;
  },

  async diff(_id: string, olds: ScheduledBackupOutputs, news: ScheduledBackupInputs) {
    const changed = changedKeys(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>, DESIRED);
    const replaces = [...(!sameTarget(olds.mongodbUri, news.mongodbUri) ? ["mongodbUri"] : []), ...(changed.includes("name") ? ["name"] : [])];
    return { changes: changed.length > 0 || replaces.length > 0 || olds.mongodbUri !== news.mongodbUri, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: ScheduledBackupInputs) {
    const outs = await apply(inputs);
    return { id: `${outs.cluster}/${inputs.name}`, outs };
  },

  async read(id: string, props: ScheduledBackupOutputs) {
    const entry = await withPbmClient(props.mongodbUri, (admin) => getEntry(admin, "schedule", props.name));
    if (!entry) return { id: "" };
    const inputs: ScheduledBackupInputs = {
      ...props,
      enabled: entry.enabled,
      schedule: entry.cron ?? props.schedule,
      type: entry.backup?.type ?? props.type,
      compression: entry.backup?.compression as ScheduledBackupInputs["compression"],
      compressionLevel: entry.backup?.compressionLevel,
      namespaces: entry.backup?.namespaces,
      profile: entry.backup?.profile,
      retention: entry.retention,
    };
    const outs = { ...props, ...inputs, nextRunTime: entry.enabled ? nextRun(inputs.schedule) : undefined };
    return { id, props: outs, inputs: { ...pick(outs as unknown as Record<string, unknown>, ["mongodbUri", ...DESIRED, "declaredBy"]), programConflicts: [], programReleases: [] } };
  },

  async update(_id: string, _olds: ScheduledBackupOutputs, news: ScheduledBackupInputs) {
    return { outs: await apply(news) };
  },

  /** Removes the schedule, then its place in the rule's guard; its backups stay. */
  async delete(_id: string, props: ScheduledBackupOutputs) {
    await withPbmClient(props.mongodbUri, async (admin) => {
      await deleteEntry(admin, "schedule", props.name);
      await releaseSchedule(admin, props.name);
    });
  },
};
