// PMM's rule inside one program. Two resources declared together are both new, so the cluster's registry knows
// neither yet: the sdk judges them here, in declaration order (the later of two conflicting declarations is
// refused, as the later of two stacks is). A refused declaration gets an error on its resource at preview, and
// its create fails with the same [PBMP-1002] message; every other resource, on this cluster or another, still
// deploys (`pulumi up --continue-on-error`). A failed check would stop the whole program instead.
// Declarations the program disables on the same cluster are passed on too: what they hold is being given up in
// this same `up`, so the provider waits for it rather than refusing.
import * as pulumi from "@pulumi/pulumi";
import { programViolations, ruleText, ruleViolation, sameCluster, tryClusterFromUri, type Declared, type RuleKind } from "../provider/core";

// Per program run: the Automation API can run several programs in one process, each with its own stack resource.
const declaredByRun = new WeakMap<object, Declared[]>();
const outsideRun: Declared[] = [];
function declaredInThisRun(): Declared[] {
  const stack = pulumi.runtime.getStackResource();
  if (!stack) return outsideRun;
  let list = declaredByRun.get(stack);
  if (!list) declaredByRun.set(stack, (list = []));
  return list;
}

const KIND_NAME: Record<RuleKind, string> = { schedule: "ScheduledBackup", pitrPolicy: "PitrPolicy" };

async function replicaSetOf(uri: string): Promise<string | undefined> {
  try {
    const { identifyCluster } = require("pulumi-pbm/provider") as typeof import("../provider");
    return (await identifyCluster(uri)).replicaSet;
  } catch {
    return undefined;
  }
}

export interface ProgramConflict {
  kind: RuleKind;
  name: string;
}

/**
 * Records a declaration and judges it against the ones before it. Returns the resource's inputs for the rule:
 * `declaredBy`; the conflicts, as `programConflicts`; the program's disabled declarations on the same cluster, as
 * `programReleases` (a move from PITR to schedules, or back, in one `up`: the create waits for them to be
 * disabled); and `report`, to call with the resource once it exists.
 */
export function declareForPitrRule(
  kind: RuleKind,
  resourceName: pulumi.Input<string>,
  mongodbUri: pulumi.Input<string>,
  enabled: pulumi.Input<boolean> | undefined,
): {
  /** The resource's inputs for the rule: who declares it, and what the program found (see above). */
  inputs: { declaredBy: { project: string; stack: string }; programConflicts: pulumi.Output<ProgramConflict[]>; programReleases: pulumi.Output<ProgramConflict[]> };
  report: (resource: pulumi.Resource) => void;
} {
  const declared = declaredInThisRun();
  let resolveResource: (r: pulumi.Resource) => void = () => undefined;
  const resource = new Promise<pulumi.Resource>((r) => (resolveResource = r));
  const judged = pulumi.unsecret(
    pulumi.all([resourceName, mongodbUri, enabled ?? true]).apply(async ([name, uri, on]) => {
      const cluster = tryClusterFromUri(uri);
      if (!cluster) return { conflicts: [], releases: [] };
      const me: Declared = { kind, name, inThisProgram: true, cluster, enabled: !!on };
      declared.push(me);
      // Judged once the program's top level has declared everything, so a declaration also sees the ones after it.
      await new Promise((r) => setImmediate(r));
      const releases = declared.filter((d) => d !== me && !d.enabled && sameCluster(d.cluster, cluster)).map((d) => ({ kind: d.kind, name: d.name }));
      const found = on ? programViolations(declared, sameCluster).find((v) => v.who === me) : undefined;
      if (!found) return { conflicts: [], releases };
      // Messages name a cluster by its replica set: ask the server when the URI does not say.
      const named = cluster.replicaSet ? cluster : await replicaSetOf(uri).then((rs) => ({ ...cluster, ...(rs ? { replicaSet: rs } : {}) }));
      const text = ruleText(ruleViolation(named, me, found.blockers), `${KIND_NAME[kind]} "${name}"`);
      void resource.then((r) => pulumi.log.error(text, r));
      return { conflicts: found.blockers.flatMap((b) => (b.by === "livePitr" ? [] : [{ kind: b.party.kind, name: b.party.name }])), releases };
    }),
  );
  return {
    inputs: { declaredBy: { project: pulumi.getProject(), stack: pulumi.getStack() }, programConflicts: judged.conflicts, programReleases: judged.releases },
    report: resolveResource,
  };
}
