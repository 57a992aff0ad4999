// What the read handlers (refresh, import) of the resources on one cluster share within a provider process:
// pbm's main config and the registry's declarations, each read with one query per cluster rather than per
// resource (a refresh read the config twice and the registry twice per cluster: BackupLocation and PitrPolicy,
// ScheduledBackup and PitrPolicy). Held as the inventory is (../core/readShare.ts): dropped by every pbm write
// through the adapter and every registry write in this process, read again after 30 s. Checks, the rule's
// guard and every write read afresh.
import { ReadShare, sharedReadMaxAgeMs } from "../core/readShare";
import { onPbmWrite } from "../pbm/commands";
import { entryLookup, onRegistryWrite, type EntryKind, type RegistryEntry } from "../registry";
import { readPbmConfig, withPbmClient } from "../state/mongo";
import type { PbmConfig } from "../state/pbmConfig";

export interface ClusterReads {
  /** pbm's main config document, or null (readPbmConfig). */
  config: PbmConfig | null;
  /** The registry entry `kind`/`name`, or null (getEntry). */
  entry(kind: EntryKind, name: string): RegistryEntry | null;
}

const share = new ReadShare<ClusterReads>(sharedReadMaxAgeMs);
onPbmWrite(forgetClusterReads);
// Registry verbs get a database handle, not the URI: a write forgets every cluster's (writes are rare where reads share).
onRegistryWrite(() => forgetClusterReads());

/** Drops what is held for `mongodbUri`, or for every cluster. */
export function forgetClusterReads(mongodbUri?: string): void {
  share.forget(mongodbUri);
}

export function clusterReads(mongodbUri: string): Promise<ClusterReads> {
  return share.get(mongodbUri, mongodbUri, () =>
    withPbmClient(mongodbUri, async (admin) => {
      const config = await readPbmConfig(admin);
      return { config, entry: await entryLookup(admin) };
    }),
  );
}
