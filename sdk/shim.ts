// The only code Pulumi serialises into state: one-line methods that require the installed handlers when
// called, so refresh and destroy run the installed package and nothing (no secrets, no libraries) is captured.
import type * as pulumi from "@pulumi/pulumi";

export const backupLocationProvider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => require("pulumi-pbm/provider").backupLocation.check(olds, news),
  diff: (id, olds, news) => require("pulumi-pbm/provider").backupLocation.diff(id, olds, news),
  create: (inputs) => require("pulumi-pbm/provider").backupLocation.create(inputs),
  read: (id, props) => require("pulumi-pbm/provider").backupLocation.read(id, props),
  update: (id, olds, news) => require("pulumi-pbm/provider").backupLocation.update(id, olds, news),
  delete: (id, props) => require("pulumi-pbm/provider").backupLocation.delete(id, props),
};

export const pitrPolicyProvider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => require("pulumi-pbm/provider").pitrPolicy.check(olds, news),
  diff: (id, olds, news) => require("pulumi-pbm/provider").pitrPolicy.diff(id, olds, news),
  create: (inputs) => require("pulumi-pbm/provider").pitrPolicy.create(inputs),
  read: (id, props) => require("pulumi-pbm/provider").pitrPolicy.read(id, props),
  update: (id, olds, news) => require("pulumi-pbm/provider").pitrPolicy.update(id, olds, news),
  delete: (id, props) => require("pulumi-pbm/provider").pitrPolicy.delete(id, props),
};

export const scheduledBackupProvider: pulumi.dynamic.ResourceProvider = {
  check: (olds, news) => require("pulumi-pbm/provider").scheduledBackup.check(olds, news),
  diff: (id, olds, news) => require("pulumi-pbm/provider").scheduledBackup.diff(id, olds, news),
  create: (inputs) => require("pulumi-pbm/provider").scheduledBackup.create(inputs),
  read: (id, props) => require("pulumi-pbm/provider").scheduledBackup.read(id, props),
  update: (id, olds, news) => require("pulumi-pbm/provider").scheduledBackup.update(id, olds, news),
  delete: (id, props) => require("pulumi-pbm/provider").scheduledBackup.delete(id, props),
};

export const backupInventoryProvider: pulumi.dynamic.ResourceProvider = {
  create: () => require("pulumi-pbm/provider").backupInventory.create(),
  read: (id, props) => require("pulumi-pbm/provider").backupInventory.read(id, props),
};
