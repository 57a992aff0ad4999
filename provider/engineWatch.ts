// The engine's liveness, seen from Pulumi's Node.js dynamic-provider host. The engine starts that host in a
// process group of its own, so when the `pulumi` command is killed (SIGKILL, a cancelled CI job that kills only
// its group) the host lives on: it finishes the pbm call it was making, a change landing after the user has moved
// on, and then it idles with its MongoDB connections open until the machine restarts. Pulumi's language hosts
// poll the engine for the same reason (rpcutil.Healthcheck); this host does not. So once a handler of this
// package runs there, the engine's address (the host's first argument) is dialled every few seconds; when it
// refuses, the host exits, and execa ends the pbm calls still running (its `cleanup`).
import { connect } from "node:net";
import debugFactory from "debug";

const debug = debugFactory("pulumi-pbm:engine");

/** How often the engine is dialled. A loopback connect costs well under a millisecond. */
export const ENGINE_POLL_MS = 2_000;

const DYNAMIC_PROVIDER_HOST = /[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]dynamic-provider[\\/]index\.js$/;

/** Whether this process has looked for the engine: once, so every later handler call costs one check. */
let looked = false;

/** The engine's `host:port` when this process is the dynamic-provider host, else undefined. */
export function engineAddress(argv: readonly string[] = process.argv): { host: string; port: number } | undefined {
  if (!DYNAMIC_PROVIDER_HOST.test(argv[1] ?? "")) return undefined;
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(argv[2] ?? "");
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** Starts watching the engine, once per process; does nothing outside the dynamic-provider host. */
export function watchEngine(): void {
  if (looked) return;
  looked = true;
  const address = engineAddress();
  if (address) pollEngine(address, ENGINE_POLL_MS, exitHost);
}

/** Dials `address` every `pollMs` and calls `onGone` once it is refused; returns a stop. Keeps no process alive. */
export function pollEngine(address: { host: string; port: number }, pollMs: number, onGone: (address: string) => void): () => void {
  let stopped = false;
  const stop = () => ((stopped = true), clearInterval(timer));
  const timer = setInterval(() => {
    const socket = connect(address.port, address.host);
    socket.once("connect", () => socket.destroy());
    // A listener with a full backlog drops the dial rather than refusing it: give up on it, never pile them up.
    socket.setTimeout(pollMs, () => socket.destroy());
    socket.once("error", (err: NodeJS.ErrnoException) => {
      // Only a refusal means nobody listens there any more; anything else (a full file table) may pass.
      if (err.code !== "ECONNREFUSED" || stopped) return;
      stop();
      onGone(`${address.host}:${address.port}`);
    });
  }, pollMs);
  timer.unref();
  return stop;
}

// Quietly: nobody reads the host's output any more, except in the moment an engine that is shutting down still
// does, where a line would show up under a finished `pulumi up`.
function exitHost(address: string): void {
  debug("the pulumi engine at %s is gone; ending this provider host and its pbm calls", address);
  process.exit(0);
}
