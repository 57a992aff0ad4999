// pbm's config documents in `admin.pbmConfig` (the main one, `{profile: null}`, and the storage profiles), typed
// where pulumi-pbm reads them (reference §7, `pbmConfig`). Every object is loose: keys not named here are kept as
// stored, so a document written back to pbm (BackupLocation keeps pitr, backup and restore) loses nothing. Every
// named key is optional because releases differ (1.x stores `storage.azure` and `s3.provider`; 2.x omits empty
// sections), and secrets are clear text, as pbm stores them.
import { z } from "zod";
import { builtOnce } from "../builtOnce";

function storageSchema() {
  return z.looseObject({
    type: z.string().optional(),
    s3: z
      .looseObject({
        region: z.string().optional(),
        endpointUrl: z.string().optional(),
        forcePathStyle: z.boolean().optional(),
        bucket: z.string().optional(),
        prefix: z.string().optional(),
        // 2.x stores `session-token: ""` and an empty `vault` beside the keys: present but meaning nothing.
        credentials: z
          .looseObject({ "access-key-id": z.string().optional(), "secret-access-key": z.string().optional(), "session-token": z.string().optional() })
          .optional(),
        storageClass: z.string().optional(),
        uploadPartSize: z.number().optional(),
        maxUploadParts: z.number().optional(),
        insecureSkipTLSVerify: z.boolean().optional(),
      })
      .optional(),
  });
}

export const pbmConfigSchema = builtOnce(() =>
  z.looseObject({
    storage: storageSchema().optional(),
    pitr: z
      .looseObject({
        enabled: z.boolean().optional(),
        oplogSpanMin: z.number().optional(),
        oplogOnly: z.boolean().optional(),
        // Any string: a later pbm may accept a compression this release of pulumi-pbm does not know.
        compression: z.string().optional(),
        compressionLevel: z.number().optional(),
        priority: z.record(z.string(), z.number()).optional(),
      })
      .optional(),
    backup: z
      .looseObject({
        oplogSpanMin: z.number().optional(),
        compression: z.string().optional(),
        compressionLevel: z.number().optional(),
        priority: z.record(z.string(), z.number()).optional(),
        timeouts: z.looseObject({ startingStatus: z.number().optional(), balancerStop: z.number().optional() }).optional(),
        numParallelCollections: z.number().optional(),
        numParallelFiles: z.number().optional(),
      })
      .optional(),
    restore: z.looseObject({}).optional(),
  }),
);

/** A storage profile (pbm 2.6+): `{name, profile: true, storage}`. */
export const pbmProfileSchema = builtOnce(() =>
  z.looseObject({ name: z.string(), profile: z.literal(true), storage: storageSchema() }),
);

export type PbmConfig = z.output<ReturnType<typeof pbmConfigSchema>>;
export type PbmStorage = NonNullable<PbmConfig["storage"]>;
export type PbmProfile = z.output<ReturnType<typeof pbmProfileSchema>>;
