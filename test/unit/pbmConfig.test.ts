// provider/state: pbm's config document read typed, with nothing of it lost. The documents are what real pbm
// 1.8.1 and 2.14.0 store after `pbm config --file` and `pbm config --set pitr.oplogSpanMin=5 pitr.compression=gzip`
// (dumped from the sandbox; keys, ids and the endpoint's port changed).
import type { Db } from "mongodb";
import { describe, expect, it } from "vitest";
import { readPbmConfig, readPbmProfile } from "../../provider/state/mongo";

const S3 = { region: "us-east-1", endpointUrl: "http://127.0.0.1:9000", bucket: "matrix", maxUploadParts: 10000, storageClass: "STANDARD", insecureSkipTLSVerify: false };
const PBM_2_14 = {
  storage: { type: "s3", s3: { ...S3, forcePathStyle: true, prefix: "m2140", credentials: { "access-key-id": "AKID", "secret-access-key": "SECRET", "session-token": "", vault: { server: "", token: "" } } } },
  pitr: { oplogSpanMin: 5, compression: "gzip" },
};
const PBM_1_8 = {
  backup: {},
  pitr: { enabled: false, oplogSpanMin: 5, compression: "gzip" },
  restore: { batchSize: 0, numInsertionWorkers: 0 },
  storage: {
    type: "s3",
    s3: { provider: "aws", ...S3, prefix: "m181", credentials: { "access-key-id": "AKID", "secret-access-key": "SECRET", vault: { server: "", token: "" } } },
    azure: { account: "", container: "", prefix: "", credentials: { key: "" } },
    filesystem: { path: "" },
  },
};

/** An `admin` database holding `docs` in pbmConfig, answering findOne by `profile` (and `name`). */
function adminWith(...docs: Record<string, unknown>[]): Db {
  const findOne = async (filter: { profile: null | true; name?: string }) =>
    structuredClone(docs.find((d) => (filter.profile === null ? !d.profile : d.profile === true && d.name === filter.name)) ?? null);
  return { collection: (name: string) => (name === "pbmConfig" ? { findOne } : undefined) } as unknown as Db;
}

describe("readPbmConfig", () => {
  it.each([
    ["2.14.0", PBM_2_14],
    ["1.8.1", PBM_1_8],
  ])("returns what pbm %s stores, every key it does not name kept as stored", async (_release, doc) => {
    // Given the config document a real pbm release stores
    // When it is read
    const cfg = await readPbmConfig(adminWith(doc));
    // Then the document comes back whole (1.x's azure and filesystem sections, vault, restore), typed where read
    expect(cfg).toEqual(doc);
    expect(cfg?.storage?.s3?.credentials?.["secret-access-key"]).toBe("SECRET");
    expect(cfg?.pitr?.oplogSpanMin).toBe(5);
  });

  it("returns null when pbm has no config yet", async () => {
    expect(await readPbmConfig(adminWith())).toBeNull();
  });

  it("fails when a key it reads has another type, naming the key and never a value", async () => {
    // Given a config whose forcePathStyle and pitr.oplogSpanMin are strings
    const doc = structuredClone(PBM_2_14) as Record<string, any>;
    doc.storage.s3.forcePathStyle = "SECRET-LOOKING-VALUE";
    doc.pitr.oplogSpanMin = "SECRET-LOOKING-SPAN";
    // When it is read, then the error says which keys and what was expected, without the values
    const err = (await readPbmConfig(adminWith(doc)).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/^\[PBMP-2002\] pbm's config document in admin\.pbmConfig, the main config \(\{profile: null\}\), is not in a shape pulumi-pbm reads: storage\.s3\.forcePathStyle: .*; pitr\.oplogSpanMin: /);
    expect(err.message).not.toContain("SECRET-LOOKING");
  });

  it("reads a compression it does not know (a later pbm may add one) as stored", async () => {
    const doc = structuredClone(PBM_2_14) as Record<string, any>;
    doc.pitr.compression = "xz";
    expect((await readPbmConfig(adminWith(doc)))?.pitr?.compression).toBe("xz");
  });
});

describe("readPbmProfile", () => {
  it("returns the named profile's storage, not the main config's", async () => {
    const profile = { name: "archive", profile: true, storage: { type: "s3", s3: { ...S3, bucket: "archive", region: "eu-west-1" } } };
    const read = await readPbmProfile(adminWith(PBM_2_14, profile), "archive");
    expect(read?.storage.s3).toMatchObject({ bucket: "archive", region: "eu-west-1" });
    expect(await readPbmProfile(adminWith(PBM_2_14, profile), "other")).toBeNull();
  });
});
