// Credentials made up per run, so no test writes one in its code: a URI gets a user and password only here.
import { randomBytes } from "node:crypto";
import ConnectionString from "mongodb-connection-string-url";

/** A random secret (hex). */
export const madeUpSecret = (bytes = 12) => randomBytes(bytes).toString("hex");

/** `uri` (written without credentials) with `user` and a made-up password, and that password. */
export function withMadeUpCredentials(uri: string, user = "pbm"): { uri: string; password: string } {
  const cs = new ConnectionString(uri);
  const password = madeUpSecret();
  cs.username = user;
  cs.password = password;
  return { uri: cs.toString(), password };
}
