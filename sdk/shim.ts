// The only code Pulumi serialises into state: one-line methods that require the installed handlers when
// called, so refresh and destroy run the installed package and nothing (no secrets, no libraries) is captured
// but the handler's name.
import type * as pulumi from "@pulumi/pulumi";

type HandlerName = "backupLocation" | "pitrPolicy" | "scheduledBackup";

function forwardTo(handler: HandlerName): pulumi.dynamic.ResourceProvider {
  return {
    check: (olds, news) => require("pulumi-pbm/provider")[handler].check(olds, news),
    diff: (id, olds, news) => require("pulumi-pbm/provider")[handler].diff(id, olds, news),
    create: (inputs) => require("pulumi-pbm/provider")[handler].create(inputs),
    read: (id, props) => require("pulumi-pbm/provider")[handler].read(id, props),
    update: (id, olds, news) => require("pulumi-pbm/provider")[handler].update(id, olds, news),
    delete: (id, props) => require("pulumi-pbm/provider")[handler].delete(id, props),
  };
}

// One module-level object per type: Pulumi caches serialisation per provider object.
export const backupLocationProvider = forwardTo("backupLocation");
export const pitrPolicyProvider = forwardTo("pitrPolicy");
export const scheduledBackupProvider = forwardTo("scheduledBackup");

export const backupInventoryProvider: pulumi.dynamic.ResourceProvider = {
  create: () => require("pulumi-pbm/provider").backupInventory.create(),
  read: (id, props) => require("pulumi-pbm/provider").backupInventory.read(id, props),
};
