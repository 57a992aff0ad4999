// The testbed's end-to-end smoke test: the Go-built Pulumi CLI and Node.js language host, run as `pulumi` from
// the program's directory, drive one dynamic resource whose serialised provider is a thin shim requiring the
// installed handlers; the handlers write to FerretDB and MinIO.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { EXIT_CHANGES_FOUND } from "../../sandbox/stack/cli";
import { useSandbox } from "../helpers/sandbox";
import { cliStack, resourceCounts } from "../helpers/stack";

describe("testbed smoke: a dynamic resource through the pulumi command", () => {
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

  it("runs preview, up, refresh, the drift gate and destroy, writing to FerretDB and MinIO", async () => {
    // Given the Go-built CLI with the language host beside it, and a stack whose credentials are secret config
    const sb = sandbox();
    const pulumi = path.join(sb.pulumiBinDir!, "pulumi");
    const version = execFileSync(pulumi, ["version"], { env: { ...process.env, ...sb.pulumiEnv() } }).toString().trim();
    console.log(`pulumi CLI: ${pulumi} ${version}; language host: ${path.join(sb.pulumiBinDir!, "pulumi-language-nodejs")}`);
    expect(version).toBe("v3.248.0");
    const stack = await cliStack({
      sandbox: sb,
      projectDir: "sandbox/smoke/program",
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
    // The secret went in on stdin and reads back unchanged
    expect(await stack.configGet("mongodbUri")).toBe(sb.cluster.mongodbUri);

    // When previewing, then the resource is only planned
    const preview = await stack.preview();
    expect(preview.exitCode).toBe(0);
    expect(resourceCounts(preview.stdout).create).toBe(2); // the stack and the probe
    expect(await liveDoc("probe-1")).toBeNull();

    // When updating, then both servers hold the value
    const up = await stack.up();
    expect(up.exitCode).toBe(0);
    expect((await stack.outputs()).value).toBe("hello");
    const doc = await liveDoc("probe-1");
    expect(doc?.value).toBe("hello");
    expect(await liveObject("probe-1")).toBe("hello");
    console.log(`FerretDB sandbox_smoke.probes: ${JSON.stringify(doc)}; MinIO smoke/probe-1: "${await liveObject("probe-1")}"`);

    // And the drift gate passes
    expect((await stack.driftGate()).exitCode).toBe(0);

    // And no secret is stored in plain text
    const state = await stack.exportState();
    for (const secret of [sb.cluster.mongodbUri, sb.s3.secretAccessKey, sb.s3.accessKeyId]) expect(state).not.toContain(secret);
    expect(state).toContain("pulumi-nodejs:dynamic/sandbox:SandboxProbe");

    // When the value drifts out of band, then the drift gate fails and refresh records it
    const client = new MongoClient(sb.cluster.mongodbUri);
    await client.db("sandbox_smoke").collection<{ _id: string; value: string }>("probes").updateOne({ _id: "probe-1" }, { $set: { value: "drifted" } });
    await client.close();
    const gate = await stack.driftGate();
    expect(gate.exitCode).toBe(EXIT_CHANGES_FOUND);
    const refresh = await stack.refresh();
    expect(resourceCounts(refresh.stdout).update).toBe(1);

    // When destroying, then both writes are gone
    const destroy = await stack.destroy();
    expect(destroy.exitCode).toBe(0);
    expect(await liveDoc("probe-1")).toBeNull();
    expect(await liveObject("probe-1")).toBeUndefined();
    console.log(`pulumi commands run:\n${stack.history.map((r) => `  ${(r.durationMs / 1000).toFixed(1).padStart(5)} s  exit ${r.exitCode}  ${r.command}`).join("\n")}`);
  });
});
