// pulumi-pbm's CrossGuard policy pack. Run it with `pulumi preview --policy-pack <this directory>` (see README.md
// here and docs/POLICY.md). One mandatory policy, PMM's rule across the resources of the stack, and four
// advisory ones. Every decision and message is in rules.ts.
import { PolicyPack, type ReportViolation, type ResourceValidationArgs } from "@pulumi/policy";
import { baseSnapshotAdvice, encryptionAdvice, propReader, retentionAdvice, stackRuleViolations, staticKeysAdvice, type Seen } from "./rules";

const seen = (r: { type: string; name: string; urn: string; props: Record<string, unknown> }): Seen => ({
  type: r.type,
  name: r.name,
  urn: r.urn,
  prop: propReader(r.props),
});

/** A resource policy from an advice function: one advisory violation when it returns a message. */
const advise = (advice: (r: Seen) => string | undefined) => (args: ResourceValidationArgs, report: ReportViolation) => {
  const message = advice(seen(args));
  if (message) report(message);
};

new PolicyPack("pulumi-pbm", {
  description: "PMM's rule for Percona Backup for MongoDB across a stack, and what pbm users most often get wrong.",
  policies: [
    {
      name: "pbm-pitr-rule",
      description:
        "PMM's rule: PITR may not be enabled on a cluster while other scheduled backups are enabled there, and the reverse; one PitrPolicy per cluster (PBMP-1002). Disabled resources never conflict; other clusters are not affected.",
      enforcementLevel: "mandatory",
      validateStack: (args, report) => {
        for (const v of stackRuleViolations(args.resources.map(seen))) report(v.message, v.urn);
      },
    },
    {
      name: "pbm-schedule-retention",
      description: "Scheduled backups (and a PitrPolicy's baseSnapshotSchedule) should set a retention, or they keep every backup.",
      enforcementLevel: "advisory",
      validateResource: advise(retentionAdvice),
    },
    {
      name: "pbm-s3-static-keys",
      description: "On AWS S3, let pbm use the instance's credentials (instance profile, IRSA) rather than a static access key.",
      enforcementLevel: "advisory",
      validateResource: advise(staticKeysAdvice),
    },
    {
      name: "pbm-s3-server-side-encryption",
      description: "Backup locations should ask S3 for server-side encryption (serverSideEncryption).",
      enforcementLevel: "advisory",
      validateResource: advise(encryptionAdvice),
    },
    {
      name: "pbm-pitr-base-snapshots",
      description: "An enabled PitrPolicy should set a baseSnapshotSchedule: with PITR on, PMM's rule keeps other scheduled backups off.",
      enforcementLevel: "advisory",
      validateResource: advise(baseSnapshotAdvice),
    },
  ],
});
