// PMM's rule as a pure function: who may enable what on one cluster, and how a refusal reads.
import { describe, expect, it } from "vitest";
import { clusterFromUri, clusterLabel, programViolations, ruleBlockers, ruleText, ruleViolation, sameCluster, type Declared, type RuleParty } from "../../provider/core";
import { withMadeUpCredentials } from "../helpers/secrets";

const pitr: RuleParty = { kind: "pitrPolicy", name: "pitr", project: "shop", stack: "prod" };
const nightly: RuleParty = { kind: "schedule", name: "nightly", project: "shop", stack: "prod" };
// With credentials: the identity must never carry them.
const rs0 = clusterFromUri(withMadeUpCredentials("mongodb://Mongo1,mongo2:27018/?replicaSet=rs0&authSource=admin", "u").uri);

describe("the cluster", () => {
  it("is the URI's hosts, lower case with the default port, sorted, and its replica set; never its credentials", () => {
    expect(rs0).toEqual({ hosts: ["mongo1:27017", "mongo2:27018"], replicaSet: "rs0" });
    expect(clusterLabel(rs0)).toBe("rs0");
    expect(clusterLabel(clusterFromUri(withMadeUpCredentials("mongodb://b:1,a:2/", "u").uri))).toBe("a:2,b:1");
  });

  it("is the same cluster through a seed list naming only some members, but not with another replica set name", () => {
    expect(sameCluster(rs0, clusterFromUri("mongodb://mongo2:27018/"))).toBe(true);
    expect(sameCluster(rs0, clusterFromUri("mongodb://mongo2:27018/?replicaSet=rs1"))).toBe(false);
    expect(sameCluster(rs0, clusterFromUri("mongodb://mongo3/?replicaSet=rs0"))).toBe(false);
  });
});

describe("PMM's rule", () => {
  it("refuses a schedule while a PitrPolicy holds PITR, or while pbm slices with no PitrPolicy at all", () => {
    expect(ruleBlockers(nightly, { enabledSchedules: [], pitrOwner: pitr, livePitr: true })).toEqual([{ by: "pitrPolicy", party: pitr }]);
    expect(ruleBlockers(nightly, { enabledSchedules: [], livePitr: true })).toEqual([{ by: "livePitr" }]);
    expect(ruleBlockers(nightly, { enabledSchedules: [{ ...nightly, name: "weekly" }], livePitr: false })).toEqual([]);
  });

  it("refuses PITR while schedules are enabled, and a second PitrPolicy, but lets the owner re-apply and adopt PITR set by hand", () => {
    expect(ruleBlockers(pitr, { enabledSchedules: [nightly], livePitr: false })).toEqual([{ by: "schedule", party: nightly }]);
    const other = { ...pitr, stack: "staging" };
    expect(ruleBlockers(other, { enabledSchedules: [], pitrOwner: pitr, livePitr: true })).toEqual([{ by: "pitrPolicy", party: pitr }]);
    expect(ruleBlockers(pitr, { enabledSchedules: [], pitrOwner: pitr, livePitr: true })).toEqual([]);
    expect(ruleBlockers(pitr, { enabledSchedules: [], livePitr: true })).toEqual([]);
  });

  it("names the cluster, every blocker with its project and stack, and the fix, with the code", () => {
    const v = ruleViolation(rs0, pitr, [{ by: "schedule", party: nightly }, { by: "schedule", party: { kind: "schedule", name: "hourly", inThisProgram: true } }]);
    expect(ruleText(v, 'PitrPolicy "pitr"')).toBe(
      `[PBMP-1002] PitrPolicy "pitr": A PITR backup for the cluster 'rs0' can be enabled only if there are no other scheduled backups for this cluster. Enabled there: ScheduledBackup "nightly" (project shop, stack prod), ScheduledBackup "hourly" (in this program). Set enabled: false on those ScheduledBackups (or delete them) before enabling PITR; for base snapshots use this PitrPolicy's baseSnapshotSchedule. Other clusters are not affected.`,
    );
    expect(ruleViolation(rs0, nightly, [{ by: "livePitr" }]).what).toContain("no PitrPolicy declares it: it was set by hand, by PMM or by another tool");
    expect(ruleViolation(rs0, { ...pitr, stack: "b" }, [{ by: "pitrPolicy", party: pitr }]).what).toBe(`PITR on cluster 'rs0' already has an owner: PitrPolicy "pitr" (project shop, stack prod). A cluster has one PitrPolicy`);
  });

  it("in one program, refuses the later of two conflicting declarations on one cluster, and nothing on other clusters", () => {
    const rs1 = clusterFromUri("mongodb://other:27017/?replicaSet=rs1");
    const d = (kind: "schedule" | "pitrPolicy", name: string, cluster = rs0, enabled = true): Declared => ({ kind, name, cluster, enabled, inThisProgram: true });
    const found = programViolations([d("schedule", "nightly"), d("pitrPolicy", "pitr-off", rs0, false), d("pitrPolicy", "pitr"), d("pitrPolicy", "pitr-rs1", rs1), d("schedule", "hourly", rs1), d("schedule", "weekly")], sameCluster);
    expect(found.map((f) => [f.who.name, f.blockers.map((b) => (b.by === "livePitr" ? "live" : b.party.name))])).toEqual([
      ["pitr", ["nightly"]],
      ["hourly", ["pitr-rs1"]],
    ]);
  });
});
