// The inventory from storage: `pulumi-pbm inventory --from-storage` against a recording S3 endpoint, and the
// bucket adapter (pbm's files → the inventory) on its own.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../provider/cli/main";
import { inventoryFromBucket } from "../../provider/inventory";

const T = (iso: string) => Date.parse(iso) / 1000;
const meta = (name: string, lastWrite: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, type: "logical", status: "done", size: 1024, start_ts: T(name), last_write_ts: { T: T(lastWrite), I: 1 }, store: { type: "s3" }, ...extra });

/** An S3 endpoint holding pbm's files under `rs0/` of bucket `pbm-backups`; records each request's host, path and session token. */
function fakeS3(): { server: Server; seen: { host: string; path: string; token?: string }[] } {
  const files: Record<string, string> = { "rs0/.pbm.init": "2.14.0", "rs0/2026-06-20T10:00:00Z.pbm.json": meta("2026-06-20T10:00:00Z", "2026-06-20T10:01:40Z") };
  const seen: { host: string; path: string; token?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push({ host: String(req.headers.host), path: url.pathname, token: req.headers["x-amz-security-token"] as string | undefined });
    const key = decodeURIComponent(url.pathname.replace(/^\/pbm-backups\//, ""));
    if (url.searchParams.get("list-type") === "2") {
      const contents = Object.entries(files).map(([k, v]) => `<Contents><Key>${k}</Key><Size>${v.length}</Size></Contents>`).join("");
      res.setHeader("content-type", "application/xml");
      res.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>pbm-backups</Name><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
    } else if (files[key] !== undefined) res.end(files[key]);
    else (res.statusCode = 404), res.end();
  });
  return { server, seen };
}

describe("pulumi-pbm inventory --from-storage", () => {
  // Regression: the from-storage read built its own S3 client, which dropped AWS_SESSION_TOKEN (S3 refuses
  // temporary keys without it) and always sent path-style requests whatever the location's forcePathStyle.
  const { server, seen } = fakeS3();
  let endpoint = "";
  let stdout = "";
  let stderr = "";
  const saved = { ...process.env };

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
    stdout = stderr = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "ASIATEMPORARYKEY", AWS_SECRET_ACCESS_KEY: "temporary-secret-key", AWS_SESSION_TOKEN: "the-session-token" });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.env = { ...saved };
  });

  it("signs every request with AWS_SESSION_TOKEN and sends path-style requests by default", async () => {
    // Given temporary keys in the environment and pbm's files in the bucket
    // When the inventory is read from storage
    const code = await main(["inventory", "--json", "--from-storage", "--bucket", "pbm-backups", "--prefix", "rs0", "--endpoint-url", endpoint]);
    // Then every request carried the session token, addressed the bucket in the path, and the snapshot is listed
    expect(code, stderr).toBe(0);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const r of seen) expect(r).toMatchObject({ host: endpoint.slice("http://".length), path: expect.stringMatching(/^\/pbm-backups\b/), token: "the-session-token" });
    expect(JSON.parse(stdout)).toMatchObject({ configured: true, snapshots: [{ name: "2026-06-20T10:00:00Z", restoreToTime: "2026-06-20T10:01:40Z" }] });
  });

  it("sends virtual-hosted-style requests with --force-path-style false, as a BackupLocation with forcePathStyle: false", async () => {
    // When the location says no path style
    const code = await main(["inventory", "--json", "--from-storage", "--bucket", "pbm-backups", "--prefix", "rs0", "--endpoint-url", endpoint, "--force-path-style", "false"]);
    // Then the bucket is in the host name: `pbm-backups.localhost` (which this machine may not resolve) and never in the path
    expect(`${seen.map((r) => r.host).join(" ")} ${stderr}`).toContain("pbm-backups.localhost");
    expect(seen.filter((r) => r.path.startsWith("/pbm-backups"))).toEqual([]);
    if (code !== 0) expect(stderr).toMatch(/^pulumi-pbm: \[PBMP-3002\] cannot read pbm's metadata from s3:\/\/pbm-backups\/rs0/);
  });

  it("refuses --force-path-style without --from-storage, and a value that is not true or false", async () => {
    expect(await main(["inventory", "--force-path-style", "false"])).toBe(2);
    expect(stderr).toMatch(/--force-path-style only apply with --from-storage/);
    expect(await main(["inventory", "--from-storage", "--bucket", "pbm-backups", "--force-path-style", "yes"])).toBe(2);
    expect(stderr).toMatch(/expected true or false, got "yes"/);
  });
});

describe("inventoryFromBucket", () => {
  const files = (metadata: string[], keys: string[]) => ({
    initialised: true,
    keys: keys.map((key) => ({ key, size: 100 })),
    metadata: metadata.map((text, i) => ({ key: `${i}.pbm.json`, text })),
  });

  it("marks oplog before the first base snapshot unbacked, and backs the rest from one second after the base's last write", () => {
    // Given an hour of chunks on rs0 and a base snapshot whose last write is 10:20 inside it
    const inv = inventoryFromBucket("b/rs0", files([meta("2026-06-20T10:19:00Z", "2026-06-20T10:20:00Z")], [
      "pbmPitr/rs0/20260620/20260620100000-1.20260620103000-1.oplog.s2",
      "pbmPitr/rs0/20260620/20260620103000-1.20260620110000-1.oplog.s2",
    ]));
    // Then the range splits at the base, and the restorable window runs from the base's restore time to the end
    expect(inv.pitrRanges).toEqual([
      { start: "2026-06-20T10:00:00Z", end: "2026-06-20T10:20:00Z", backed: false },
      { start: "2026-06-20T10:20:01Z", end: "2026-06-20T11:00:00Z", backed: true },
    ]);
    expect(inv.latestRestorableWindow).toEqual({ start: "2026-06-20T10:20:00Z", end: "2026-06-20T11:00:00Z" });
    expect(inv.pitr).toEqual({ enabled: false, running: false, lastChunkTime: "2026-06-20T11:00:00Z" });
  });

  it("keeps only the oplog every replica set has, so a point in it is restorable cluster-wide", () => {
    const inv = inventoryFromBucket("b/p", files([], [
      "pbmPitr/rs0/20260620/20260620100000-1.20260620110000-1.oplog.s2",
      "pbmPitr/rs1/20260620/20260620103000-1.20260620113000-1.oplog.s2",
    ]));
    expect(inv.pitrRanges).toEqual([{ start: "2026-06-20T10:30:00Z", end: "2026-06-20T11:00:00Z", backed: false }]);
  });

  it("lists snapshots newest first and skips metadata pbm's resync cannot decode either", () => {
    const inv = inventoryFromBucket("b/p", files([meta("2026-06-20T09:00:00Z", "2026-06-20T09:01:00Z"), "{not json", JSON.stringify({ name: 7 }), meta("2026-06-20T10:00:00Z", "2026-06-20T10:01:00Z")], []));
    expect(inv.snapshots.map((s) => s.name)).toEqual(["2026-06-20T10:00:00Z", "2026-06-20T09:00:00Z"]);
  });

  it("reads an uninitialised prefix as not configured", () => {
    expect(inventoryFromBucket("b/p", { initialised: false, keys: [], metadata: [] })).toMatchObject({ configured: false, snapshots: [], restorableWindows: [] });
  });
});
