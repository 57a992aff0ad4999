// A second process for the rule's race test: waits on stdin for a JSON line naming a resource to create, runs
// the provider's own create handler, and answers with one JSON line. Kept alive across rounds, so a round races
// two warm processes rather than two Node start-ups.
import { createInterface } from "node:readline";
import { pitrPolicy, scheduledBackup } from "pulumi-pbm/provider";

interface Order {
  kind: "pitrPolicy" | "schedule";
  name: string;
  mongodbUri: string;
  stack: string;
}

async function create(o: Order): Promise<{ ok: boolean; message?: string }> {
  const declaredBy = { project: "race", stack: o.stack };
  try {
    if (o.kind === "pitrPolicy")
      await pitrPolicy.create({ mongodbUri: o.mongodbUri, name: o.name, enabled: true, oplogSpanMin: 10, oplogOnly: false, takeBaseSnapshot: false, declaredBy } as never);
    else await scheduledBackup.create({ mongodbUri: o.mongodbUri, name: o.name, schedule: "0 2 * * *", type: "logical", enabled: true, declaredBy } as never);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  void create(JSON.parse(line) as Order).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
