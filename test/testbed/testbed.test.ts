import { spawn } from "node:child_process";
import { connect } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SANDBOX_DIST, startSandbox } from "../../sandbox/testbed";

const isListening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

async function waitUntilClosed(ports: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let open = ports;
  while (Date.now() < deadline) {
    open = (await Promise.all(ports.map(async (p) => ((await isListening(p)) ? p : -1)))).filter((p) => p > 0);
    if (open.length === 0) return [];
    await new Promise((r) => setTimeout(r, 200));
  }
  return open;
}

describe("testbed", () => {
  it("starts one FerretDB per replica set that reports its set name, and requires the password", async () => {
    const sb = await startSandbox({ replSets: ["rs0", "rs9"], pulumi: false });
    try {
      const { MongoClient } = await import("mongodb");
      for (const name of ["rs0", "rs9"]) {
        const client = new MongoClient(sb.clusters[name].mongodbUri);
        const hello = await client.db("admin").command({ hello: 1 });
        await client.close();
        expect(hello.setName).toBe(name);
      }
      const wrong = new MongoClient(sb.cluster.mongodbUri.replace(/:([0-9a-f]+)@/, ":not-the-password@"), { serverSelectionTimeoutMS: 3000 });
      await expect(wrong.db("admin").command({ ping: 1 })).rejects.toThrow(/Authentication failed/);
      await wrong.close();
    } finally {
      await sb.stop();
    }
  });

  it("leaves nothing listening when the process that started it is killed", async () => {
    // Given a separate process that started a sandbox and reported its ports
    const script = `
      const { startSandbox } = require(${JSON.stringify(path.join(SANDBOX_DIST, "testbed", "index.js"))});
      startSandbox({ pulumi: false }).then((sb) => {
        console.log(JSON.stringify({ ports: [sb.cluster.port, Number(new URL(sb.s3.endpoint).port)] }));
      });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const ports: number[] = await new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve(JSON.parse(line).ports);
      });
      child.once("exit", (code) => reject(new Error(`sandbox process exited early with ${code}`)));
    });
    expect(await Promise.all(ports.map(isListening))).toEqual([true, true]);

    // When it dies without cleaning up
    child.kill("SIGKILL");

    // Then its servers go away on their own
    expect(await waitUntilClosed(ports, 15_000)).toEqual([]);
  });
});
