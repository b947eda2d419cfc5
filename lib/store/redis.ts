import { FletAuthError } from "../errors.js";
import type { RedisRefreshLockClient } from "../refresh/lock-redis.js";
import { withDeadline } from "../util/deadline.js";
import { safeError } from "../util/safe-error.js";
import type { FletAuthStore } from "./store.js";

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** Prepended to every key. @default "flet-auth:" */
  readonly prefix?: string;
  /**
   * Deadline of each Redis command. node-redis queues commands while disconnected and nothing
   * bounds them; past this, the request gets 503 `session_unavailable` instead of hanging.
   * @default 2000
   */
  readonly commandTimeoutMs?: number;
}

// MGET inside a script: one round trip on the client shape createRedisRefreshLock already uses.
const MGET_SCRIPT = "return redis.call('mget', unpack(KEYS))";
// Compare-and-set: replaces ARGV[1] by ARGV[2] with a PX of ARGV[3] only if the key holds ARGV[1].
const SWAP_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

/**
 * A {@link FletAuthStore} in Redis, for several app instances: pass the same connected node-redis
 * client as to `createRedisRefreshLock` (it needs `set`, `get`, `del` and `eval`). Every command
 * has a deadline; a failure or a missed deadline rejects with `session_unavailable` (503), and the
 * store recovers by itself when Redis answers again. Create the client with
 * `disableOfflineQueue: true` so commands fail at once while disconnected.
 *
 * @example
 * const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * await redis.connect();
 * app.use(fletAuth({ providers, secret, store: createRedisStore(redis), refreshLock: createRedisRefreshLock(redis) }));
 */
export function createRedisStore(client: RedisRefreshLockClient, options: RedisStoreOptions = {}): FletAuthStore {
  for (const method of ["set", "get", "del", "eval"] as const) {
    if (typeof (client as unknown as Record<string, unknown> | null)?.[method] !== "function") {
      throw new TypeError(`createRedisStore(client): client.${method} must be a function — pass a connected node-redis client (createClient())`);
    }
  }
  const prefix = options.prefix ?? "flet-auth:";
  if (typeof prefix !== "string") throw new TypeError('createRedisStore: options.prefix must be a string, e.g. "flet-auth:"');
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw new TypeError("createRedisStore: options.commandTimeoutMs must be an integer from 1 to 60000 (milliseconds)");
  }
  const evaluate = client.eval?.bind(client) as NonNullable<RedisRefreshLockClient["eval"]>;

  const command = async <R>(name: string, call: () => Promise<R>): Promise<R> => {
    try {
      return await withDeadline(call(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (err) {
      throw new FletAuthError("session_unavailable", `flet-auth's Redis store did not answer (${name}); try again shortly.`, {
        status: 503,
        cause: safeError(err),
      });
    }
  };
  const ttl = (ms: number): number => Math.max(1, Math.ceil(ms));

  return Object.freeze({
    async getMany(keys: readonly string[]) {
      if (keys.length === 0) return [];
      const values = await command("MGET", () => evaluate(MGET_SCRIPT, { keys: keys.map((k) => prefix + k), arguments: [] }));
      const list = Array.isArray(values) ? (values as unknown[]) : [];
      return keys.map((_, i) => (typeof list[i] === "string" ? (list[i] as string) : undefined));
    },
    async set(key: string, value: string, ttlMs: number, setOptions?: { readonly ifAbsent?: boolean }) {
      const expiration = { type: "PX" as const, value: ttl(ttlMs) };
      const reply = await command("SET", () =>
        client.set(prefix + key, value, setOptions?.ifAbsent === true ? { condition: "NX", expiration } : { expiration }),
      );
      return reply === "OK";
    },
    async swap(key: string, expected: string, value: string, ttlMs: number) {
      const reply = await command("SWAP", () => evaluate(SWAP_SCRIPT, { keys: [prefix + key], arguments: [expected, value, String(ttl(ttlMs))] }));
      return reply === 1 || reply === "1";
    },
    async delete(key: string) {
      await command("DEL", () => client.del(prefix + key));
    },
  });
}
