// PMM's rule under a race: two processes create conflicting resources on one cluster at the same moment, round
// after round. The guard's conditional write must let exactly one win every round, and leave the cluster as
// the winner alone would have: its registry entry, its claim, and pbm's pitr.enabled to match.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUARD } from "../../provider/registry/guard";
import { SCHEDULES } from "../../provider/registry";
import { withPbmClient } from "../../provider/state/mongo";
import { SANDBOX_DIST } from "../../sandbox/testbed";
import { createBucket, lastJson, runPbm, s3ConfigYaml } from "../helpers/pbmSim";
import { useSandbox } from "../helpers/sandbox";

const ROUNDS = Number(process.env.PULUMI_PBM_RACE_ROUNDS ?? 20);

interface Order {
  kind: "pitrPolicy" | "schedule";
  name: string;
  stack: string;
}

class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((v: { ok: boolean; message?: string; ready?: boolean }) => void)[] = [];
  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [path.join(SANDBOX_DIST, "rule", "raceWorker.js")], { env, stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.child.stdout }).on("line", (l) => this.waiting.shift()?.(JSON.parse(l)));
    this.child.stderr.on("data", () => undefined);
  }
  next() {
    return new Promise<{ ok: boolean; message?: string; ready?: boolean }>((r) => this.waiting.push(r));
  }
  send(o: Order & { mongodbUri: string }) {
    const answer = this.next();
    this.child.stdin.write(`${JSON.stringify(o)}\n`);
    return answer;
  }
  stop() {
    this.child.kill();
  }
}

describe("PMM's rule across processes", () => {
  const sandbox = useSandbox();
  const uri = () => sandbox().cluster.mongodbUri;
  let workers: Worker[] = [];

  beforeAll(async () => {
    await createBucket(sandbox().s3, "pbm-backups");
    await runPbm(sandbox().cluster, ["config", "--file=-"], { stdin: s3ConfigYaml(sandbox().s3, "pbm-backups", "race") });
    const env = { ...process.env, PATH: `${sandbox().pbmBinDir}${path.delimiter}${process.env.PATH}` };
    workers = [new Worker(env), new Worker(env)];
    await Promise.all(workers.map((w) => w.next()));
  });
  afterAll(() => workers.forEach((w) => w.stop()));

  async function reset() {
    await withPbmClient(uri(), async (admin) => {
      await admin.collection(SCHEDULES).deleteMany({});
      await admin.collection(GUARD).deleteMany({});
    });
    await runPbm(sandbox().cluster, ["config", "--set", "pitr.enabled=false"]);
  }

  async function race(a: Order, b: Order, loserSays = /^\[PBMP-1002\] (PitrPolicy|ScheduledBackup) "[^"]+": /) {
    const tally: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await reset();
      const [ra, rb] = await Promise.all([workers[0].send({ ...a, mongodbUri: uri() }), workers[1].send({ ...b, mongodbUri: uri() })]);
      const winners = [ra.ok && a, rb.ok && b].filter((w): w is Order => !!w);
      expect(winners, `round ${round}: ${JSON.stringify([ra, rb])}`).toHaveLength(1);
      const loser = ra.ok ? rb : ra;
      expect(loser.message).toMatch(loserSays);
      const winner = winners[0];
      tally.push(`${winner.name}@${winner.stack}`);

      // The cluster holds the winner's declaration only, and pbm's PITR follows it.
      const { entries, guard } = await withPbmClient(uri(), async (admin) => ({
        entries: await admin.collection(SCHEDULES).find({}).toArray(),
        guard: await admin.collection(GUARD).findOne({}),
      }));
      expect(entries.filter((e) => e.enabled).map((e) => `${e.name}@${e.declaredBy.stack}`)).toEqual([`${winner.name}@${winner.stack}`]);
      expect(entries.some((e) => e.pending)).toBe(false);
      const pitrOn = lastJson((await runPbm(sandbox().cluster, ["config", "pitr.enabled", "-o", "json"])).stdout).value === "true";
      expect(pitrOn).toBe(winner.kind === "pitrPolicy");
      if (winner.kind === "pitrPolicy") expect(guard).toMatchObject({ pitr: { name: winner.name, stack: winner.stack }, schedules: [] });
      else {
        const entry = entries.find((e) => e.name === winner.name);
        expect(guard).toMatchObject({ pitr: null, schedules: [`schedule/${winner.name}#${entry?.guardToken}`] });
      }
    }
    const counts = tally.reduce<Record<string, number>>((acc, w) => ({ ...acc, [w]: (acc[w] ?? 0) + 1 }), {});
    console.log(`${ROUNDS} rounds, exactly one winner each: ${JSON.stringify(counts)}`);
  }

  it(`PitrPolicy against ScheduledBackup: exactly one of two processes wins, ${ROUNDS} rounds of ${ROUNDS}`, async () => {
    await race({ kind: "pitrPolicy", name: "pitr", stack: "one" }, { kind: "schedule", name: "nightly", stack: "two" });
  });

  it(`PitrPolicy against PitrPolicy from another stack: exactly one owner, ${ROUNDS} rounds of ${ROUNDS}`, async () => {
    await race({ kind: "pitrPolicy", name: "pitr", stack: "one" }, { kind: "pitrPolicy", name: "pitr-b", stack: "two" });
  });

  it(`ScheduledBackup against a ScheduledBackup of the same name from another stack: one owns the name, ${ROUNDS} rounds of ${ROUNDS}`, async () => {
    await race({ kind: "schedule", name: "nightly", stack: "one" }, { kind: "schedule", name: "nightly", stack: "two" }, /^\[PBMP-1001\] ScheduledBackup "nightly": property "name": cluster "rs0" already has ScheduledBackup "nightly" \(project race, stack (one|two)\)\. /);
  });
});
