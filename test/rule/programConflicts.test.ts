// A declaration the program itself refuses (the sdk found the conflict and passed it as `programConflicts`) must
// fail at create, never at check: `pulumi up` checks each resource as the program registers it, and may already
// have created the earlier declaration by then. A failed check stops the whole deployment, so the program's other
// resources (other clusters too) would not deploy even with --continue-on-error. Seen in CI as a timing race.
import { beforeAll, describe, expect, it } from "vitest";
import { pitrPolicy, scheduledBackup } from "../../provider";
import { createBucket, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

describe("a declaration the program refuses, when the cluster already holds its conflict", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;
  const declaredBy = { project: "rules", stack: "mixed" };
  const nightly = () => ({
    mongodbUri: uri(),
    name: "nightly",
    schedule: "0 2 * * *",
    type: "logical" as const,
    enabled: true,
    declaredBy,
    programConflicts: [{ kind: "pitrPolicy" as const, name: "pitr" }],
  });

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await runPbm(sandbox().cluster, ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "program") });
    // Given the up already created the program's PitrPolicy (declared before the ScheduledBackup)
    await pitrPolicy.create({ mongodbUri: uri(), name: "pitr", enabled: true, oplogSpanMin: 10, oplogOnly: false, takeBaseSnapshot: false, declaredBy } as never);
  });

  it("passes check, so the rest of the program still deploys", async () => {
    expect((await scheduledBackup.check({}, nightly())).failures).toBeUndefined();
  });

  it("fails create with the rule's words, naming the program's PitrPolicy, and changes nothing", async () => {
    const msg = await scheduledBackup.create(nightly() as never).then(
      () => "created",
      (e: Error) => e.message,
    );
    expect(msg).toMatch(/^\[PBMP-1002\] ScheduledBackup "nightly": A snapshot backup for cluster 'rs0' can be performed only if there is no enabled PITR backup for this cluster\. PITR is enabled there by PitrPolicy "pitr"/);
    expect(msg).toContain("Nothing was changed");
  });

  it("still refuses at check a conflict the program did not declare", async () => {
    const { programConflicts: _none, ...alone } = nightly();
    expect((await scheduledBackup.check({}, alone)).failures?.[0].reason).toMatch(/^\[PBMP-1002\] /);
  });
});
