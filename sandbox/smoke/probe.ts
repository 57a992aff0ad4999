// The smoke resource's class. Its provider is a thin shim: each method requires the installed handlers when
// called, which is the pattern every pulumi-pbm resource uses. The sandbox is not part of the package (nor of its
// "exports"), so the shim names the compiled handlers by absolute path, resolved here when the program loads
// (from sandbox/smoke/probe.ts under ts-node, or sandbox/dist/smoke/probe.js); Pulumi serialises the string.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

const handlers = path.resolve(__dirname, __filename.endsWith(".ts") ? "../dist/smoke/index.js" : "index.js");

const shim: pulumi.dynamic.ResourceProvider = {
  diff: (id, olds, news) => require(handlers).sandboxProbe.diff(id, olds, news),
  create: (inputs) => require(handlers).sandboxProbe.create(inputs),
  read: (id, props) => require(handlers).sandboxProbe.read(id, props),
  update: (id, olds, news) => require(handlers).sandboxProbe.update(id, olds, news),
  delete: (id, props) => require(handlers).sandboxProbe.delete(id, props),
};

export interface SandboxProbeArgs {
  mongodbUri: pulumi.Input<string>;
  s3Endpoint: pulumi.Input<string>;
  s3AccessKeyId: pulumi.Input<string>;
  s3SecretAccessKey: pulumi.Input<string>;
  bucket: pulumi.Input<string>;
  key: pulumi.Input<string>;
  value: pulumi.Input<string>;
}

export class SandboxProbe extends pulumi.dynamic.Resource {
  declare public readonly value: pulumi.Output<string>;
  declare public readonly key: pulumi.Output<string>;

  constructor(name: string, args: SandboxProbeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shim,
      name,
      {
        ...args,
        mongodbUri: pulumi.secret(args.mongodbUri),
        s3AccessKeyId: pulumi.secret(args.s3AccessKeyId),
        s3SecretAccessKey: pulumi.secret(args.s3SecretAccessKey),
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["mongodbUri", "s3AccessKeyId", "s3SecretAccessKey"] }),
      "sandbox",
      "SandboxProbe",
    );
  }
}
