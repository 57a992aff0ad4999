// The only code Pulumi keeps in state for a pbm resource (its `__provider` input): a module whose handler()
// returns the installed handlers, which is what Pulumi's dynamic-provider host evaluates
// (`requireFromString(text).handler()`). So refresh and destroy run the installed package, and nothing (no secrets,
// no libraries) is in state but the handler's name. Written out, not serialised from a closure as
// `pulumi.dynamic.Resource` does: 70 bytes instead of 2 KiB in every resource's inputs and state and in every
// request the engine sends about it, and the program never loads Pulumi's closure serialiser.
export type HandlerName = "backupLocation" | "pitrPolicy" | "scheduledBackup" | "backupInventory";

export function providerModule(handler: HandlerName): string {
  return `exports.handler = () => require("pulumi-pbm/provider").${handler};\n`;
}
