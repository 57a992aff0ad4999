// The provider host's watch on the engine (provider/engineWatch.ts); the fault matrix (test/e2e/faults.test.ts)
// kills a real `pulumi up` and checks that its provider host ends.
import { createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { engineAddress, pollEngine } from "../../provider/engineWatch";

const HOST_SCRIPT = "/work/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";

describe("engineAddress", () => {
  it("is the first argument of Pulumi's dynamic-provider host, and nothing in any other process", () => {
    expect(engineAddress(["node", HOST_SCRIPT, "127.0.0.1:40123"])).toEqual({ host: "127.0.0.1", port: 40123 });
    expect(engineAddress(["node", HOST_SCRIPT, "[::1]:40123"])).toEqual({ host: "::1", port: 40123 });
    // The CLI, the runner, a test or a user's program: never watched.
    expect(engineAddress(["node", "/usr/lib/node_modules/pulumi-pbm/bin/pulumi-pbm", "127.0.0.1:40123"])).toBeUndefined();
    expect(engineAddress(["node", HOST_SCRIPT])).toBeUndefined();
    expect(engineAddress(["node", HOST_SCRIPT, "not an address"])).toBeUndefined();
  });
});

describe("pollEngine", () => {
  it("says nothing while the engine listens, and says once that it is gone when it stops listening", async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const gone: string[] = [];
    const stop = pollEngine({ host: "127.0.0.1", port }, 20, (a) => gone.push(a));
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(gone).toEqual([]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise((r) => setTimeout(r, 200));
      expect(gone).toEqual([`127.0.0.1:${port}`]);
    } finally {
      stop();
    }
  });
});
