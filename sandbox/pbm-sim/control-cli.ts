// `pbm-sim`: control tool of the simulated pbm agents (clock, agents, faults). Not part of pbm.
import { clock, configureSimulator, tick } from "./control";

const usage = `pbm-sim: control tool of the pulumi-pbm sandbox's simulated pbm agents (not Percona's pbm)
usage (PBM_MONGODB_URI must point at the simulated cluster):
  pbm-sim clock now | set <RFC3339> | advance <seconds> | run <factor>
  pbm-sim agents up | down [host...]
  pbm-sim fault storage <unreachable|denied|none> | fail-backups <count> <message> | clear
  pbm-sim version <x.y.z>
  pbm-sim tick`;

export async function controlMain(argv: string[]): Promise<number> {
  const uri = process.env.PBM_MONGODB_URI;
  if (!uri || argv.length === 0) {
    process.stderr.write(usage + "\n");
    return 2;
  }
  const [what, sub, ...rest] = argv;
  switch (`${what} ${sub ?? ""}`.trim()) {
    case "clock now":
      console.log((await clock.now(uri)).toISOString());
      return 0;
    case "clock set":
      await clock.set(uri, new Date(rest[0]));
      return 0;
    case "clock advance":
      console.log((await clock.advance(uri, Number(rest[0]))).toISOString());
      return 0;
    case "clock run":
      await clock.run(uri, Number(rest[0]));
      return 0;
    case "agents up":
      await configureSimulator(uri, { agentsDown: [] });
      return 0;
    case "agents down":
      await configureSimulator(uri, { agentsDown: rest.length ? rest : ["*"] });
      return 0;
    case "fault storage":
      await configureSimulator(uri, { faults: rest[0] === "none" ? {} : { storage: rest[0] as "denied" } });
      return 0;
    case "fault fail-backups":
      await configureSimulator(uri, { faults: { failBackups: { count: Number(rest[0]), message: rest.slice(1).join(" ") } } });
      return 0;
    case "fault clear":
      await configureSimulator(uri, { faults: {} });
      return 0;
    case "version " + sub:
      if (what === "version") {
        await configureSimulator(uri, { version: sub });
        return 0;
      }
      break;
    case "tick":
      await tick(uri);
      return 0;
  }
  process.stderr.write(usage + "\n");
  return 2;
}
