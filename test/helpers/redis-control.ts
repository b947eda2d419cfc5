/**
 * A redis-server child the fault tests and the soak can take down and bring back on the SAME
 * port, as an outage of a real Redis looks to its clients:
 *
 * - `pause()` / `resume()`: SIGSTOP / SIGCONT — a hung server. Connections stay open and
 *   commands go unanswered: only client-side deadlines end the wait.
 * - `stop()` / `start()`: SIGTERM, then a new server on the same port — a restart. Connections
 *   drop; clients reconnect by themselves. With `persist` (the default) the data survives the
 *   restart (an RDB save point exists, so SIGTERM saves, and the new server loads it).
 * - `kill()`: SIGKILL, nothing saved.
 *
 * 127.0.0.1 only, protected mode, data in a throw-away directory removed by `close()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ControlledRedis {
  readonly url: string;
  readonly port: number;
  /** True while a server process runs (paused or not). */
  running(): boolean;
  /** True while the server is stopped with SIGSTOP. */
  paused(): boolean;
  /** SIGSTOP: the server hangs, connections stay open. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGTERM (saving first when persistent) and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and waits for the exit: nothing is saved. */
  kill(): Promise<void>;
  /** Starts a server on the same port (and data directory); resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops the server and removes its data directory. Idempotent. */
  close(): Promise<void>;
}

export interface ControlledRedisOptions {
  /** Keep the data across `stop()`/`start()` (RDB saved on SIGTERM). @default true */
  readonly persist?: boolean;
  /** Prefix of the server's output lines forwarded to stderr on failure. */
  readonly name?: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One PING over a raw socket: true on `+PONG` within a second. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("utf8");
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
  });
}

/** Starts a controllable redis-server on a free port. */
export async function startControlledRedis(binary: string, options: ControlledRedisOptions = {}): Promise<ControlledRedis> {
  const persist = options.persist ?? true;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "flet-auth-redis-"));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let paused = false;
  let output = "";

  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error("redis-server is already running");
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", "--dir", dir, "--dbfilename", "dump.rdb", "--appendonly", "no"];
    args.push("--save", persist ? "3600 1" : "");
    output = "";
    const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout?.on("data", (c: Buffer) => (output += c.toString("utf8")));
    proc.stderr?.on("data", (c: Buffer) => (output += c.toString("utf8")));
    let gone = false;
    exited = new Promise<void>((resolve) =>
      proc.once("exit", () => {
        gone = true;
        if (child === proc) child = undefined;
        paused = false;
        resolve();
      }),
    );
    child = proc;
    // Readiness polling (not a timing assertion): up to ~10 s for the server to come up.
    for (let attempt = 0; ; attempt++) {
      if (gone) throw new Error(`redis-server exited before answering PING:\n${output}`);
      if (await ping(port)) return;
      if (attempt >= 200) {
        proc.kill("SIGKILL");
        throw new Error(`redis-server on port ${port} did not answer PING:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const signal = async (sig: "SIGTERM" | "SIGKILL"): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    if (paused) proc.kill("SIGCONT");
    proc.kill(sig);
    const force = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(force);
  };

  await start();
  let closing: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    running: () => child !== undefined,
    paused: () => paused,
    pause() {
      if (child === undefined) throw new Error("redis-server is not running");
      child.kill("SIGSTOP");
      paused = true;
    },
    resume() {
      if (child === undefined) return;
      child.kill("SIGCONT");
      paused = false;
    },
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    start,
    close() {
      closing ??= (async () => {
        await signal("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
