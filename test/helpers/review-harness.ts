/**
 * Small pieces for the review-regression suites: explicit gates (no sleeps), a port nothing
 * listens on, a MemoryStore session counter and a quiet recording logger.
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
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

/** A loopback port that refuses connections: bound, read, released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
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
