/**
 * A real, throw-away `redis-server` child process for the Redis session suite: 127.0.0.1,
 * an ephemeral port, no persistence. `findRedisServer()` says whether the binary exists, so the
 * suite can skip loudly instead of passing silently.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";

/**
 * Debian's path first, then whatever `redis-server` the PATH gives. `REDIS_SERVER_BIN` (tests
 * only) replaces the search, e.g. to check that the suite reports a missing binary.
 */
export function findRedisServer(): string | undefined {
  const override = process.env["REDIS_SERVER_BIN"];
  const candidates = override !== undefined && override !== "" ? [override] : ["/usr/bin/redis-server", "redis-server"];
  for (const candidate of candidates) {
    if (candidate.startsWith("/") && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
    if (probe.status === 0 && /Redis server/i.test(probe.stdout)) return candidate;
  }
  return undefined;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the child (SIGTERM, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One PING over a raw socket: resolves true on `+PONG`. */
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

/** Starts `redis-server` and resolves once it answers PING (or rejects with its output). */
export async function startRedisServer(binary: string): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString("utf8")));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });

  // Readiness polling (not a timing assertion): up to ~10 s for the server to come up.
  for (let attempt = 0; ; attempt++) {
    if (exited) throw new Error(`redis-server exited before answering PING:\n${output}`);
    if (await ping(port)) break;
    if (attempt >= 200) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exit;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
