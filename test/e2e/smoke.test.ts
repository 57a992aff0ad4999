// The testbed's end-to-end smoke test: the Go-built Pulumi CLI drives one dynamic resource whose serialised
// provider is a thin shim requiring the installed handlers; the handlers write to FerretDB and MinIO.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { useSandbox } from "../helpers/sandbox";
import { programStack, stackDriver } from "../helpers/stack";

describe("testbed smoke: a dynamic resource through the real Pulumi engine", () => {
  const sandbox = useSandbox({ pulumi: true });

  async function liveDoc(key: string) {
    const client = new MongoClient(sandbox().cluster.mongodbUri);
    try {
      return await client.db("sandbox_smoke").collection<{ _id: string; value: string }>("probes").findOne({ _id: key });
    } finally {
      await client.close();
    }
  }
  async function liveObject(key: string): Promise<string | undefined> {
    const { endpoint, accessKeyId, secretAccessKey, region } = sandbox().s3;
    const s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: "smoke", Key: key }));
      return await r.Body!.transformToString();
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  }

  it("runs preview, up, refresh and destroy, writing to FerretDB and MinIO", async () => {
    // Given the Go-built CLI and a stack whose credentials are secret config
    const sb = sandbox();
    const version = execFileSync(path.join(sb.pulumiBinDir!, "pulumi"), ["version"], { env: { ...process.env, ...sb.pulumiEnv() } })
      .toString()
      .trim();
    console.log(`pulumi CLI: ${path.join(sb.pulumiBinDir!, "pulumi")} ${version}`);
    expect(version).toBe("v3.248.0");
    const stack = await programStack({
      sandbox: sb,
      workDir: "sandbox/smoke/program",
      program: "sandbox/smoke/program/index.js",
      stackName: "smoke",
      config: {
        mongodbUri: { value: sb.cluster.mongodbUri, secret: true },
        s3Endpoint: { value: sb.s3.endpoint },
        s3AccessKeyId: { value: sb.s3.accessKeyId, secret: true },
        s3SecretAccessKey: { value: sb.s3.secretAccessKey, secret: true },
        bucket: { value: "smoke" },
        key: { value: "probe-1" },
        value: { value: "hello" },
      },
    });

    // When previewing, then the resource is only planned
    const preview = await stack.preview();
    expect(preview.changeSummary.create).toBe(2); // the stack and the probe
    expect(await liveDoc("probe-1")).toBeNull();

    // When updating, then both servers hold the value
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.value.value).toBe("hello");
    const doc = await liveDoc("probe-1");
    expect(doc?.value).toBe("hello");
    expect(await liveObject("probe-1")).toBe("hello");
    console.log(`FerretDB sandbox_smoke.probes: ${JSON.stringify(doc)}; MinIO smoke/probe-1: "${await liveObject("probe-1")}"`);

    // And a refresh finds no drift
    await stack.refresh({ expectNoChanges: true });

    // And no secret is stored in plain text
    const state = await stackDriver.exportStoredState(stack);
    for (const secret of [sb.cluster.mongodbUri, sb.s3.secretAccessKey, sb.s3.accessKeyId]) expect(state).not.toContain(secret);
    expect(state).toContain("pulumi-nodejs:dynamic/sandbox:SandboxProbe");

    // When the value drifts out of band, then refresh reports it
    const client = new MongoClient(sb.cluster.mongodbUri);
    await client.db("sandbox_smoke").collection<{ _id: string; value: string }>("probes").updateOne({ _id: "probe-1" }, { $set: { value: "drifted" } });
    await client.close();
    const refresh = await stack.refresh();
    expect(refresh.summary.resourceChanges?.update).toBe(1);

    // When destroying, then both writes are gone
    const destroy = await stack.destroy();
    expect(destroy.summary.result).toBe("succeeded");
    expect(await liveDoc("probe-1")).toBeNull();
    expect(await liveObject("probe-1")).toBeUndefined();
  });
});
