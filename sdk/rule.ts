// PMM's rule inside one program: an enabled PitrPolicy and an enabled ScheduledBackup declared together for the
// same cluster are rejected while the program runs (preview included). Across stacks and runs the provider
// checks the cluster's registry instead; this closes the case where both are new and neither is there yet.
import * as pulumi from "@pulumi/pulumi";

interface Declared {
  kind: "schedule" | "pitrPolicy";
  name: string;
  target: string;
}

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

/** The URI without credentials or options: which cluster it reaches. */
function target(uri: string): string {
  return uri.replace(/^mongodb(\+srv)?:\/\/([^@/]*@)?/, "").replace(/[/?].*$/, "").split(",").sort().join(",");
}

export function declareForPitrRule(kind: Declared["kind"], resourceName: pulumi.Input<string>, mongodbUri: pulumi.Input<string>, enabled: pulumi.Input<boolean> | undefined): void {
  const declared = declaredInThisRun();
  pulumi.all([resourceName, mongodbUri, enabled ?? true]).apply(([name, uri, on]) => {
    if (!on || typeof uri !== "string") return;
    const me = { kind, name, target: target(uri) };
    const other = kind === "schedule" ? "pitrPolicy" : "schedule";
    const conflicts = declared.filter((d) => d.kind === other && d.target === me.target);
    declared.push(me);
    if (conflicts.length === 0) return;
    const names = conflicts.map((c) => `"${c.name}"`).join(", ");
    const cluster = me.target;
    const text =
      kind === "pitrPolicy"
        ? `PitrPolicy "${name}": A PITR backup for the cluster '${cluster}' can be enabled only if there are no other scheduled backups for this cluster. This program also enables ScheduledBackup ${names} there. Set enabled: false on those ScheduledBackups, or use the PitrPolicy's baseSnapshotSchedule for base snapshots`
        : `ScheduledBackup "${name}": A snapshot backup for cluster '${cluster}' can be performed only if there is no enabled PITR backup for this cluster. This program also enables PitrPolicy ${names} there. Set enabled: false on this ScheduledBackup, or use the PitrPolicy's baseSnapshotSchedule for base snapshots`;
    // RunError: Pulumi reports the message without a stack trace.
    throw new pulumi.RunError(`[PBMP-1002] ${text}.`);
  });
}
