/**
 * A real, throw-away `redis-server` child process for the Redis session suite: 127.0.0.1,
 * an ephemeral port, no persistence. `findRedisServer()` says whether the binary exists, so the
 * suite can skip loudly instead of passing silently.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createConnection, createServer, type AddressInfo } from "node:net";
import { createClient } from "redis";
import { afterAll, beforeAll } from "vitest";

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

export type RedisClient = ReturnType<typeof createClient>;

/** {@link findRedisServer}, warning loudly when the binary is missing (the suite then skips, never passes). */
export function findRedisServerOrWarn(suite: string, what: string): string | undefined {
  const binary = findRedisServer();
  if (binary === undefined) {
    console.warn(
      `\n[${suite}] SKIPPED: no redis-server binary (looked for $REDIS_SERVER_BIN, else /usr/bin/redis-server and redis-server on PATH). ` +
        `Install Debian's redis-server to run ${what}.\n`,
    );
  }
  return binary;
}

/** A suite's Redis: connected clients on demand, and one client for inspecting what Redis holds. */
export interface RedisSuite {
  /** A new connected client, closed after the suite. */
  client(): Promise<RedisClient>;
  /** A client for reading keys in assertions. */
  readonly inspector: RedisClient;
}

/**
 * Starts one redis-server before the suite and stops it (and every client handed out) after.
 * Call inside the suite's `describe.skipIf(binary === undefined)`.
 */
export function useRedisServer(binary: string | undefined, suite: string): RedisSuite {
  let server: RedisServer | undefined;
  let inspector: RedisClient | undefined;
  const clients: RedisClient[] = [];
  const client = async (): Promise<RedisClient> => {
    if (server === undefined) throw new Error("redis-server is not running (use the client inside the suite's tests)");
    const c = createClient({ url: server.url });
    c.on("error", (err: unknown) => console.error(`[${suite}] client error`, err));
    await c.connect();
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    if (binary === undefined) throw new Error("no redis-server binary");
    server = await startRedisServer(binary);
    inspector = await client();
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => c.destroy());
    await server?.stop();
  });
  return {
    client,
    get inspector(): RedisClient {
      if (inspector === undefined) throw new Error("redis-server is not running");
      return inspector;
    },
  };
}
