// What every resource class shares: the arguments for its pbm calls, and how it is registered (type token
// `pulumi-nodejs:dynamic/pbm:<Type>`, the connection string and other secrets kept secret in inputs and state).
import * as pulumi from "@pulumi/pulumi";
import { providerModule, type HandlerName } from "./shim";

export interface PbmCallArgs {
  /** The pbm executable to run. @default "pbm" from PATH */
  pbmPath?: pulumi.Input<string>;
  /**
   * How long one pbm call may take, in seconds (1 to 86400); a call that takes longer fails with PBMP-2005.
   * @default 120
   */
  timeoutSec?: pulumi.Input<number>;
}

/**
 * A pbm resource: a Pulumi dynamic resource (type `pulumi-nodejs:dynamic/pbm:<Type>`, served by the nodejs
 * dynamic-provider host) whose provider is the installed handlers (./shim.ts), with `mongodbUri` (and any
 * `secretOutputs`) kept secret.
 */
export abstract class PbmResource extends pulumi.CustomResource {
  /** Replica set (or config server replica set) name the URI reaches. */
  declare public readonly cluster: pulumi.Output<string>;

  protected constructor(
    type: string,
    handler: HandlerName,
    name: string,
    props: { mongodbUri: pulumi.Input<string> } & pulumi.Inputs,
    opts: pulumi.CustomResourceOptions | undefined,
    secretOutputs: string[] = [],
  ) {
    super(
      `pulumi-nodejs:dynamic/pbm:${type}`,
      name,
      { ...props, mongodbUri: pulumi.secret(props.mongodbUri), __provider: providerModule(handler) },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["mongodbUri", ...secretOutputs] }),
    );
  }
}
