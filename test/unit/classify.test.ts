// Issue 11 (hardening): a pbm failure's advice is chosen by its cause. Storage 403 and DNS failures during a
// resync used to be told to "check that pbm-agent runs on every member". Texts are pbm's (and the simulated
// agents', sandbox/pbm-sim/world.ts storageFaultText, which copy pbm 2.14's).
import { describe, expect, it } from "vitest";
import { MongoNetworkError, MongoServerError } from "mongodb";
import { errors } from "../../provider/errors";
import { classifyFailure, whenIdle } from "../../provider/pbm/run";
import { lostConnection } from "../../provider/state/mongo";

describe("classifyFailure", () => {
  it.each([
    ["storage: storage check failed with: file stat: get S3 object header: https response error StatusCode: 403, RequestID: X, api error AccessDenied: Access Denied.", "S3_PROBE", /HTTP 403/],
    ["upload to storage: dial tcp: lookup storage: no such host", "S3_PROBE", /resolve the storage endpoint/],
    ["storage check failed with: NoSuchBucket: The specified bucket does not exist", "S3_PROBE", /bucket does not exist/],
    ["connect to mongodb: server selection error: dial tcp: lookup mongo1 on 127.0.0.53:53: no such host", "MONGO_UNREACHABLE", /host name in mongodbUri/],
    ["pbm: error: unknown long flag '--out', try --help", "PBM_TOO_OLD", undefined],
    ["unable to  unmarshal config file: yaml: unmarshal errors: line 7: field forcePathStyle not found in type s3.Conf", "PBM_FAILED", /does not accept a setting/],
    ["backup pre-check: no available agent(s) on replsets: rs0", "PBM_FAILED", undefined],
    ["another operation in progress, Snapshot backup/abc [rs0/mongo1:27017]", "PBM_FAILED", /Wait for that operation/],
  ])("%s → %s", (message, key, solution) => {
    const r = classifyFailure(message);
    expect(r.key).toBe(key);
    if (solution) expect(r.advice).toMatch(solution);
    else expect(r.advice ?? "").not.toMatch(/storage|bucket/);
  });
});

describe("lostConnection", () => {
  it("counts the socket's own EPIPE, which the driver passes through unwrapped, as a lost connection", () => {
    const epipe = Object.assign(new Error("This socket has been ended by the other party"), { code: "EPIPE" });
    expect(lostConnection(epipe)).toBe(true);
    expect(lostConnection(new MongoNetworkError("connection 3 to 127.0.0.1:1 closed"))).toBe(true);
  });
  it("leaves a refused command alone", () => {
    expect(lostConnection(new MongoServerError({ errmsg: "not authorized on admin", code: 13 }))).toBe(false);
    expect(lostConnection(new Error("E11000 duplicate key"))).toBe(false);
  });
});

describe("whenIdle", () => {
  it("tells the sink it is given that it waits for pbm's lock, once, and returns the call's result", async () => {
    // Given a pbm call refused once because another operation holds pbm's lock
    const lines: string[] = [];
    let calls = 0;
    const call = async () => {
      if (++calls === 1) throw errors.pbmFailed("pbm config --set exited with code 1: another operation in progress", { exitCode: 1 });
      return "done";
    };
    // When it is retried
    const r = await whenIdle("pbm config --set", 10, call, (l) => lines.push(l));
    // Then the wait went to the sink, without the default's prefix
    expect(r).toBe("done");
    expect(lines).toEqual(["pbm config --set: waiting up to 10s for pbm's running operation to finish"]);
  });
});
