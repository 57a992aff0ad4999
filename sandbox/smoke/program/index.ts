// Smoke program: one SandboxProbe. Connection details come from secret stack config.
import * as pulumi from "@pulumi/pulumi";
import { SandboxProbe } from "../probe";

const config = new pulumi.Config();
const probe = new SandboxProbe("probe", {
  mongodbUri: config.requireSecret("mongodbUri"),
  s3Endpoint: config.require("s3Endpoint"),
  s3AccessKeyId: config.requireSecret("s3AccessKeyId"),
  s3SecretAccessKey: config.requireSecret("s3SecretAccessKey"),
  bucket: config.require("bucket"),
  key: config.require("key"),
  value: config.require("value"),
});

export const key = probe.key;
export const value = probe.value;
