/**
 * An in-memory stand-in for the node-redis client that `createRedisStore()` (lib/store/redis.ts)
 * is given, so the store's tests need no redis-server: it implements exactly the four methods the
 * store calls (`set`, `get`, `del`, `eval`), records every call with its arguments before running
 * it, and follows Redis's semantics where the store depends on them:
 *
 * - `SET key value PX ms [NX]`: "OK", or `null` when NX finds a live key; like Redis it rejects a
 *   PX that is not a positive integer ("ERR invalid expire time in 'set' command").
 * - keys expire on the injected clock (milliseconds), never on real time.
 * - `EVAL` runs only the store's two scripts, recognised by their exact text: MGET (which, like
 *   Redis, rejects an empty key list) and compare-and-set (integer reply 1 or 0).
 *
 * A fault can be set for the next commands: reject, throw synchronously, or never answer.
 * The methods use `this`, as node-redis's do, so a store that loses the binding fails.
 */
import type { RedisRefreshLockClient, RedisSetOptions } from "../../lib/index.js";

/** The store's MGET script (lib/store/redis.ts), as Redis would receive it. */
export const MGET_SCRIPT = "return redis.call('mget', unpack(KEYS))";
/** The store's compare-and-set script (lib/store/redis.ts). */
export const SWAP_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

/** One call the store made, recorded when it was made (a call that never answers is here too). */
export type StoreClientCall =
  | { readonly method: "set"; readonly key: string; readonly value: string; readonly options: RedisSetOptions }
  | { readonly method: "get"; readonly key: string }
  | { readonly method: "del"; readonly key: string }
  | { readonly method: "eval"; readonly script: string; readonly keys: readonly string[]; readonly arguments: readonly string[] };

/** What the next commands do instead of answering. */
export type StoreClientFault =
  | { readonly kind: "reject"; readonly error: unknown }
  | { readonly kind: "throw"; readonly error: unknown }
  | { readonly kind: "hang" };

interface Entry {
  readonly value: string;
  readonly expiresAt: number;
}

export class FakeStoreClient implements Required<RedisRefreshLockClient> {
  /** Every call, in order. */
  readonly calls: StoreClientCall[] = [];
  /** Set to make every following command fail or hang; `undefined` answers normally. */
  fault: StoreClientFault | undefined;
  private readonly data = new Map<string, Entry>();

  constructor(private readonly clock: () => number = () => 0) {}

  /** The live value under the full (prefixed) key, as `GET` would see it; `undefined` when none. */
  peek(key: string): string | undefined {
    return this.live(key)?.value;
  }

  /** Milliseconds until the full key expires (Redis's PTTL), `undefined` when it does not exist. */
  pttl(key: string): number | undefined {
    const entry = this.live(key);
    return entry === undefined ? undefined : entry.expiresAt - this.clock();
  }

  set(key: string, value: string, options: RedisSetOptions): Promise<unknown> {
    this.calls.push({ method: "set", key, value, options });
    return this.answer((): unknown => {
      if (options.condition === "NX" && this.live(key) !== undefined) return null;
      this.write(key, value, options.expiration.value);
      return "OK";
    });
  }

  get(key: string): Promise<string | null> {
    this.calls.push({ method: "get", key });
    return this.answer(() => this.live(key)?.value ?? null);
  }

  del(key: string): Promise<number> {
    this.calls.push({ method: "del", key });
    return this.answer(() => (this.data.delete(key) ? 1 : 0));
  }

  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    this.calls.push({ method: "eval", script, keys: [...options.keys], arguments: [...options.arguments] });
    return this.answer((): unknown => {
      if (script === MGET_SCRIPT) {
        if (options.keys.length === 0) throw new Error("ERR wrong number of arguments for 'mget' command");
        return options.keys.map((key) => this.live(key)?.value ?? null);
      }
      if (script === SWAP_SCRIPT) {
        const [key] = options.keys;
        const [expected, value, px] = options.arguments;
        if (key === undefined || expected === undefined || value === undefined || px === undefined) throw new Error("ERR script: missing KEYS or ARGV");
        if (this.live(key)?.value !== expected) return 0;
        this.write(key, value, Number(px), px);
        return 1;
      }
      throw new Error(`FakeStoreClient: unexpected script ${script}`);
    });
  }

  private live(key: string): Entry | undefined {
    const entry = this.data.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.clock()) return entry;
    this.data.delete(key);
    return undefined;
  }

  private write(key: string, value: string, px: number, text = String(px)): void {
    if (!Number.isSafeInteger(px) || px < 1 || String(px) !== text) throw new Error("ERR invalid expire time in 'set' command");
    this.data.set(key, { value, expiresAt: this.clock() + px });
  }

  /** Runs `run` unless a fault is set; an error it throws becomes a rejection, as Redis errors do. */
  private answer<T>(run: () => T): Promise<T> {
    const fault = this.fault;
    if (fault?.kind === "throw") throw fault.error;
    if (fault?.kind === "hang") return new Promise<never>(() => {});
    if (fault?.kind === "reject") return Promise.reject(fault.error as Error);
    try {
      return Promise.resolve(run());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}

/** A manual milliseconds clock shared by a store and its fake client. */
export interface TestClock {
  readonly fn: () => number;
  now(): number;
  advance(ms: number): void;
}

export function testClock(start = 1_000_000): TestClock {
  let now = start;
  return {
    fn: () => now,
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}
