// "The cluster": the one definition every resource, the runner, the sdk and every message use. A cluster is
// its replica set (for a sharded cluster, the config server replica set pbm is pointed at) plus the hosts
// the connection string lists. Pure: the replica set comes from the URI or from the server's `hello`.
import ConnectionString from "mongodb-connection-string-url";

export interface ClusterIdentity {
  /** Replica set name; undefined when only the URI is known and it does not say (`replicaSet=`). */
  replicaSet?: string;
  /** `host:port`, lower case, default port 27017, sorted. */
  hosts: string[];
}

/** The hosts and `replicaSet=` of a connection string; never its credentials. Throws on a malformed URI. */
export function clusterFromUri(uri: string): ClusterIdentity {
  const cs = new ConnectionString(uri);
  const hosts = cs.hosts.map((h) => (/:\d+$/.test(h) ? h : `${h}:27017`).toLowerCase()).sort();
  const replicaSet = cs.searchParams.get("replicaSet") ?? undefined;
  return { hosts, ...(replicaSet ? { replicaSet } : {}) };
}

/** Like clusterFromUri, but never throws: undefined for a URI that cannot be parsed. */
export function tryClusterFromUri(uri: unknown): ClusterIdentity | undefined {
  if (typeof uri !== "string") return undefined;
  try {
    return clusterFromUri(uri);
  } catch {
    return undefined;
  }
}

/** The identity once the server has answered `hello` (its `setName`). */
export function withReplicaSet(c: ClusterIdentity, setName: string | undefined): ClusterIdentity {
  return setName ? { ...c, replicaSet: setName } : c;
}

/** How messages name a cluster: by replica set where known, else by its hosts. */
export function clusterLabel(c: ClusterIdentity): string {
  return c.replicaSet ?? c.hosts.join(",");
}

/**
 * Whether two identities are the same cluster: same replica set name when both know it, and at least one host
 * in common (a seed list may name a subset of the members).
 */
export function sameCluster(a: ClusterIdentity, b: ClusterIdentity): boolean {
  if (a.replicaSet && b.replicaSet && a.replicaSet !== b.replicaSet) return false;
  return a.hosts.some((h) => b.hosts.includes(h));
}
