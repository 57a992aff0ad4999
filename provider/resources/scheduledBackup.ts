// ScheduledBackup: a cron schedule in the registry collection of the target cluster. pbm has no scheduler;
// the package's runner (`pulumi-pbm scheduler`) executes it. Deleting it keeps every backup it made.
import { nextFireTime } from "../core/cron";
import type { Db } from "mongodb";
import { partyLabel, type RuleParty } from "../core/pitrRule";
import { ERROR_CODES, errors } from "../errors";
import { stdoutNotice, type NoticeSink } from "../notice";
import { deleteEntry, getEntry, mayWrite, partyOf as partyOfEntry, upsertEntry, type Declaration } from "../registry";
import { releaseSchedule } from "../registry/guard";
import { knownCompression, scheduledBackupInputs, type ScheduledBackupInputs } from "../schemas";
import { clusterName, withPbmClient } from "../state/mongo";
import { clusterReads } from "./clusterReads";
import { changedKeys, checkFailure, checkWith, isUnknown, pick, sameTarget, type Handlers } from "./common";
import { checkUnderRule, enableUnderRule } from "./enable";

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
    return nextFireTime(cron, new Date()).toISOString();
  } catch {
    return undefined;
  }
}

const partyOf = (i: Pick<ScheduledBackupInputs, "name" | "declaredBy">): RuleParty => ({ kind: "schedule", name: i.name, ...i.declaredBy });
const label = (i: Pick<ScheduledBackupInputs, "name">) => `ScheduledBackup "${i.name}"`;

/** The registry's declaration of this schedule (its claim in the rule's guard is added by enableUnderRule). */
function declaration(i: ScheduledBackupInputs, enabled: boolean): Omit<Declaration, "guardToken" | "pending"> {
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
  };
}

/**
 * Why this schedule's name is not free on the cluster: another stack declared a ScheduledBackup of that name
 * (names are per cluster); undefined when it is free or this declaration's own.
 */
async function nameTakenBy(admin: Db, i: Pick<ScheduledBackupInputs, "name" | "declaredBy">): Promise<string | undefined> {
  const entry = await getEntry(admin, "schedule", i.name);
  if (!entry || mayWrite(entry, i.declaredBy ?? {})) return undefined;
  return `cluster "${await clusterName(admin)}" already has ${partyLabel(partyOfEntry(entry))}. Names of ScheduledBackups are per cluster: rename this one, or delete that one from its stack first`;
}

async function nameTakenError(admin: Db, i: ScheduledBackupInputs): Promise<Error> {
  const why = (await nameTakenBy(admin, i)) ?? `cluster "${await clusterName(admin)}" already has a ScheduledBackup "${i.name}" from another stack`;
  return errors.input(`${label(i)}: property "name": ${why}`, { advice: "Nothing was changed." });
}

async function apply(i: ScheduledBackupInputs, notice: NoticeSink): Promise<ScheduledBackupOutputs> {
  return withPbmClient(i.mongodbUri, async (admin) => {
    const cluster = await clusterName(admin);
    const before = await getEntry(admin, "schedule", i.name);
    const nameTaken = () => nameTakenError(admin, i);
    if (before && !mayWrite(before, i.declaredBy ?? {})) throw await nameTaken();
    // Enabling: the entry pending, the guard claimed, then the entry live; the runner runs only live entries.
    if (i.enabled) await enableUnderRule(admin, { party: partyOf(i), label: label(i), inputs: i, before, declaration: declaration(i, true), nameTaken, notice });
    else {
      if (!(await upsertEntry(admin, declaration(i, false), { onlyOwn: true }))) throw await nameTaken();
      await releaseSchedule(admin, i.name);
    }
    const { programConflicts: _c, programReleases: _r, ...outs } = i;
    return { ...outs, cluster, nextRunTime: i.enabled ? nextRun(i.schedule) : undefined };
  });
}

/** The ScheduledBackup handlers; notices (a wait for a release in the same update) go to `notice`. */
export function scheduledBackupHandlers(notice: NoticeSink = stdoutNotice) {
  return {
    async check(_olds, news) {
      const checked = await checkUnderRule(checkWith(scheduledBackupInputs(), news, PREVIEW_PLACEHOLDERS), partyOf);
      const i = checked.inputs;
      if (!i || isUnknown(i.mongodbUri) || isUnknown(i.name)) return checked;
      const taken = await withPbmClient(i.mongodbUri, (admin) => nameTakenBy(admin, i));
      return taken ? { failures: [checkFailure(`[${ERROR_CODES.INPUT.code}] property "name": ${taken}.`)] } : checked;
    },

    async diff(_id, olds, news) {
      const changed = changedKeys(olds, news, DESIRED);
      const replaces = [...(!sameTarget(olds.mongodbUri, news.mongodbUri) ? ["mongodbUri"] : []), ...(changed.includes("name") ? ["name"] : [])];
      return { changes: changed.length > 0 || replaces.length > 0 || olds.mongodbUri !== news.mongodbUri, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
      const outs = await apply(inputs, notice);
      return { id: `${outs.cluster}/${inputs.name}`, outs };
    },

    async read(id, props) {
      const entry = (await clusterReads(props.mongodbUri)).entry("schedule", props.name);
      // Gone, or another stack's schedule of the same name: this one is not on the cluster (the next up says why).
      if (!entry || !mayWrite(entry, props.declaredBy ?? {})) return { id: "" };
      const inputs: ScheduledBackupInputs = {
        ...props,
        enabled: entry.enabled,
        schedule: entry.cron ?? props.schedule,
        type: entry.backup?.type ?? props.type,
        compression: entry.backup?.compression ? knownCompression(entry.backup.compression) : undefined,
        compressionLevel: entry.backup?.compressionLevel,
        namespaces: entry.backup?.namespaces,
        profile: entry.backup?.profile,
        retention: entry.retention,
      };
      const outs = { ...props, ...inputs, nextRunTime: entry.enabled ? nextRun(inputs.schedule) : undefined };
      return { id, props: outs, inputs: { ...pick(outs, ["mongodbUri", ...DESIRED, "declaredBy"]), programConflicts: [], programReleases: [] } };
    },

    async update(_id, _olds, news) {
      return { outs: await apply(news, notice) };
    },

    /** Removes the schedule, then its place in the rule's guard; its backups stay. Another stack's schedule of the same name stays too. */
    async delete(_id, props) {
      await withPbmClient(props.mongodbUri, async (admin) => {
        const by = props.declaredBy ?? {};
        if (!(await deleteEntry(admin, "schedule", props.name, { onlyBy: by })) && (await getEntry(admin, "schedule", props.name))) return;
        await releaseSchedule(admin, props.name);
      });
    },
  } satisfies Handlers<ScheduledBackupInputs, ScheduledBackupOutputs>;
}

export const scheduledBackup = scheduledBackupHandlers();
