// What a pbm resource keeps in state as its provider (`__provider`): the module Pulumi's dynamic-provider host
// evaluates for every call (`requireFromString(text).handler()`). It must hand the host the installed handlers, and
// it is in every resource's inputs and state and in every request the engine sends, so it must stay one line.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { madeUpSecret, withMadeUpCredentials } from "../helpers/secrets";

const nativeRequire = createRequire(__filename);

describe("the provider module kept in state", () => {
  it("is one line per resource type that gives the dynamic-provider host the installed handlers", async () => {
    const pulumi: typeof import("@pulumi/pulumi") = nativeRequire("@pulumi/pulumi");
    const registered: { type: string; inputs: Record<string, any> }[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, inputs: args.inputs });
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "pbm-provider-module",
      "test",
      false,
    );
    const sdk: typeof import("pulumi-pbm") = nativeRequire("pulumi-pbm");
    const { uri: mongodbUri, password } = withMadeUpCredentials("mongodb://mongo1:27017/?replicaSet=rs0");
    const secretAccessKey = madeUpSecret(16);
    const location = new sdk.BackupLocation("loc", { mongodbUri, bucket: "b", credentials: { accessKeyId: "AKIAEXAMPLEKEY123", secretAccessKey } });
    new sdk.PitrPolicy("pitr", { mongodbUri, takeBaseSnapshot: false }, { dependsOn: [location] });
    new sdk.ScheduledBackup("nightly", { mongodbUri, schedule: "0 2 * * *" }, { dependsOn: [location] });
    sdk.BackupInventory.get("inventory", { mongodbUri });
    await new Promise((r) => setTimeout(r, 200));

    // The host's own loader, as the host calls it.
    const requireFromString: (code: string) => { handler: () => unknown } = nativeRequire("require-from-string");
    const handlers = nativeRequire("pulumi-pbm/provider");
    const expected: Record<string, unknown> = {
      BackupLocation: handlers.backupLocation,
      PitrPolicy: handlers.pitrPolicy,
      ScheduledBackup: handlers.scheduledBackup,
      BackupInventory: handlers.backupInventory,
    };
    const ours = registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/pbm:"));
    expect(ours.map((r) => r.type.split(":").pop()).sort()).toEqual(Object.keys(expected).sort());
    for (const r of ours) {
      const text = String(r.inputs.__provider);
      expect(text.trim().split("\n")).toHaveLength(1);
      expect(text).not.toContain(password);
      expect(text).not.toContain(secretAccessKey);
      expect(requireFromString(text).handler()).toBe(expected[r.type.split(":").pop()!]);
    }
  });
});
