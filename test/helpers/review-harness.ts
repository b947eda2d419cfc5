/**
 * Small pieces for the review-regression suites: explicit gates (no sleeps), a port nothing
 * listens on, a MemoryStore session counter and a quiet recording logger.
 */
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import session from "express-session";
import { vi, type Mock } from "vitest";

/** A promise the test resolves by hand: `await gate.promise` waits until `gate.open()`. */
export interface Gate<T = void> {
  readonly promise: Promise<T>;
  open(value: T): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * A loopback port that refuses connections, and keeps refusing for the rest of the run.
 *
 * A port bound with `listen(0)` and released is not enough: the kernel hands it to the next
 * `listen(0)` — another suite's server in a parallel worker — and the "refused" request then
 * reaches that server (CI saw an HTTP 404 where a refused connection was meant). Every server in
 * the suite listens on an ephemeral port, so a port below the kernel's ephemeral range is one no
 * test can take; it is probed to check nothing else on the machine listens there.
 */
export async function closedPort(): Promise<number> {
  const floor = ephemeralFloor();
  for (let port = floor - 1; port > floor - 2000 && port > 1024; port -= 1) {
    if (await refuses(port)) return port;
  }
  throw new Error(`no refusing loopback port found below ${floor}`);
}

/** The first port of the kernel's ephemeral range (Linux), or the IANA default elsewhere. */
function ephemeralFloor(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const floor = Number(low);
    if (Number.isInteger(floor) && floor > 2048) return floor;
  } catch {
    // Not Linux: fall through.
  }
  return 49152;
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

/** How many sessions a MemoryStore holds. */
export function storeLength(store: session.MemoryStore): Promise<number> {
  return new Promise((resolve, reject) => {
    store.length((err: unknown, length?: number) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(length ?? 0)));
  });
}

type LogFn = (message: string, ...details: unknown[]) => void;

/** A logger whose calls the test can inspect (and that keeps the output clean). */
export function recordingLogger(): { warn: Mock<LogFn>; error: Mock<LogFn> } {
  return { warn: vi.fn<LogFn>(), error: vi.fn<LogFn>() };
}

type LoadCallback = (err: unknown, data?: session.SessionData | null) => void;

/**
 * A MemoryStore that can hold session loads: after `holdLoads(n)`, the next `n` loads wait until
 * all `n` have arrived, then proceed together. Concurrent requests then provably read the same
 * session copy before any of them writes — an explicit gate instead of hoping for a race.
 */
export class GatedMemoryStore extends session.MemoryStore {
  #expected = 0;
  #waiting: Array<() => void> = [];

  holdLoads(n: number): void {
    this.#expected = n;
    this.#waiting = [];
  }

  override get(sid: string, callback: LoadCallback): void {
    if (this.#expected === 0) return super.get(sid, callback);
    this.#waiting.push(() => super.get(sid, callback));
    if (this.#waiting.length < this.#expected) return;
    const release = this.#waiting;
    this.#expected = 0;
    this.#waiting = [];
    for (const load of release) load();
  }
}
