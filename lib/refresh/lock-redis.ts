/**
 * Single-flight refresh across processes: several app instances sharing sessions (e.g. in
 * connect-redis) must not both refresh one rotating refresh token — the second call would get
 * `invalid_grant` and may revoke the whole grant (RFC 9700 §4.14.2). One Redis key is the lock,
 * another holds the (sealed) result for the instances that waited or that hold a stale copy.
 */
import { randomBytes } from "node:crypto";
import { FletAuthError } from "../errors.js";
import { safeError } from "../util/safe-error.js";
import { createInProcessRefreshLock, type RefreshCodec, type RefreshLock } from "./lock.js";

/**
 * What {@link createRedisRefreshLock} needs of a Redis client, typed structurally so flet-auth
 * does not depend on a Redis package. A node-redis v5 `createClient()` instance satisfies it.
 */
export interface RedisRefreshLockClient {
  /** `SET key value NX PX ms` (and `SET key value PX ms`): `"OK"` when set, `null` when NX refused. */
  set(key: string, value: string, options: RedisSetOptions): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  /**
   * When present, the lock is released with an atomic compare-and-delete script; without it,
   * with GET then DEL (a lock that expired in between could be someone else's by then).
   */
  eval?(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** node-redis v5's (non-deprecated) SET options, as far as this lock uses them. */
export interface RedisSetOptions {
  readonly condition?: "NX";
  readonly expiration: { readonly type: "PX"; readonly value: number };
}

/** Options of {@link createRedisRefreshLock}. */
export interface RedisRefreshLockOptions {
  /** Prepended to every key (`{prefix}lock:{key}`, `{prefix}result:{key}`). @default "flet-auth:refresh:" */
  readonly prefix?: string;
  /**
   * Lifetime of the lock: how long other instances trust the leader before they take over. Keep it
   * longer than a refresh can take (fletAuth's `timeoutMs`, 10 s by default).
   * @default 15000
   */
  readonly lockMs?: number;
  /**
   * How long a successful (sealed) result stays in Redis for callers that still hold the old
   * tokens, as the in-process lock's `graceMs`.
   * @default 3600000
   */
  readonly graceMs?: number;
  /** How often a waiting instance looks for the leader's result. @default 50 */
  readonly pollMs?: number;
  /** How long an instance waits for another instance's refresh before failing with 503. @default 20000 */
  readonly waitMs?: number;
}

interface Settings {
  readonly prefix: string;
  readonly lockMs: number;
  readonly graceMs: number;
  readonly pollMs: number;
  readonly waitMs: number;
}

// Deletes the lock only if it still holds our owner token: after `lockMs` it may be another's.
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A {@link RefreshLock} shared by every process that uses the same Redis: concurrent callers in
 * one process share one Redis round trip (in-process single flight first); across processes one
 * instance takes a `SET NX PX` lock and refreshes, stores the result encoded by the caller's codec
 * (flet-auth seals the token with the session secret, so every instance needs the same `secret`),
 * and the others poll for it. When the leader fails, the lock is released without a result and a
 * waiting instance takes over. Redis failures reject with `refresh_failed` (status 503).
 *
 * @example
 * import { RedisStore } from "connect-redis";
 * import { createClient } from "redis";
 * import { createRedisRefreshLock, fletAuth } from "flet-auth";
 *
 * const redis = createClient({ url: process.env.REDIS_URL });
 * redis.on("error", (err) => console.error("redis", err));
 * await redis.connect();
 * app.use(fletAuth({
 *   providers: { github },
 *   secret: process.env.SESSION_SECRET, // the same on every instance
 *   session: { store: new RedisStore({ client: redis }) },
 *   refreshLock: createRedisRefreshLock(redis),
 * }));
 */
export function createRedisRefreshLock(client: RedisRefreshLockClient, options: RedisRefreshLockOptions = {}): RefreshLock {
  assertClient(client);
  if (typeof options !== "object" || options === null) throw new TypeError("createRedisRefreshLock(client, options): options must be an object");
  const settings: Settings = {
    prefix: prefixOption(options.prefix),
    lockMs: msOption("lockMs", options.lockMs, 15_000),
    graceMs: msOption("graceMs", options.graceMs, 3_600_000),
    pollMs: msOption("pollMs", options.pollMs, 50),
    waitMs: msOption("waitMs", options.waitMs, 20_000),
  };
  // Callers of one process share one distributed attempt, and its result for graceMs.
  const local = createInProcessRefreshLock({ graceMs: settings.graceMs });
  return Object.freeze({
    run<T>(key: string, refresh: () => Promise<T>, codec?: RefreshCodec<T>): Promise<T> {
      if (!isCodec(codec)) {
        return Promise.reject(
          new TypeError("createRedisRefreshLock: run(key, refresh, codec) needs a codec; sharing a result between processes needs serialisation"),
        );
      }
      return local.run(key, () => runShared(client, settings, key, refresh, codec));
    },
  });
}

async function runShared<T>(client: RedisRefreshLockClient, s: Settings, key: string, refresh: () => Promise<T>, codec: RefreshCodec<T>): Promise<T> {
  const lockKey = `${s.prefix}lock:${key}`;
  const resultKey = `${s.prefix}result:${key}`;
  const deadline = Date.now() + s.waitMs;
  for (;;) {
    const done = await redis("GET", () => client.get(resultKey));
    if (done !== null) return codec.decode(done);
    const owner = randomBytes(18).toString("base64url");
    const locked = await redis("SET NX", () => client.set(lockKey, owner, { condition: "NX", expiration: { type: "PX", value: s.lockMs } }));
    if (locked === "OK") return lead(client, s, lockKey, resultKey, owner, refresh, codec);
    // Another instance is refreshing; its result, or its lock lapsing (it failed), ends the wait.
    if (Date.now() >= deadline) {
      throw new FletAuthError(
        "refresh_failed",
        `Another instance holds the refresh lock for this token and did not finish within ${s.waitMs} ms.`,
        { status: 503 },
      );
    }
    await sleep(Math.min(s.pollMs, Math.max(1, deadline - Date.now())));
  }
}

async function lead<T>(
  client: RedisRefreshLockClient,
  s: Settings,
  lockKey: string,
  resultKey: string,
  owner: string,
  refresh: () => Promise<T>,
  codec: RefreshCodec<T>,
): Promise<T> {
  let release = true;
  try {
    // A leader may have stored its result and released between our GET and our SET.
    const done = await redis("GET", () => client.get(resultKey));
    if (done !== null) return await codec.decode(done);
    const value = await refresh();
    try {
      const text = await codec.encode(value);
      await client.set(resultKey, text, { expiration: { type: "PX", value: s.graceMs } });
    } catch {
      // The refresh succeeded and rotated the refresh token: this caller keeps the new token. Keep
      // the lock, so other instances wait (then time out) instead of presenting the rotated-out token.
      release = false;
    }
    return value;
  } finally {
    if (release) await releaseLock(client, lockKey, owner).catch(() => undefined);
  }
}

async function releaseLock(client: RedisRefreshLockClient, lockKey: string, owner: string): Promise<void> {
  if (typeof client.eval === "function") {
    await client.eval(RELEASE_SCRIPT, { keys: [lockKey], arguments: [owner] });
  } else if ((await client.get(lockKey)) === owner) {
    await client.del(lockKey);
  }
}

/** Runs one Redis command; its failure becomes `refresh_failed` (503) with a sanitized cause. */
async function redis<R>(command: string, call: () => Promise<R>): Promise<R> {
  try {
    return await call();
  } catch (err) {
    throw new FletAuthError("refresh_failed", `The refresh lock's Redis ${command} failed.`, { status: 503, cause: safeError(err) });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isCodec(codec: unknown): codec is RefreshCodec<unknown> {
  return (
    typeof codec === "object" &&
    codec !== null &&
    typeof (codec as RefreshCodec<unknown>).encode === "function" &&
    typeof (codec as RefreshCodec<unknown>).decode === "function"
  );
}

function assertClient(client: unknown): asserts client is RedisRefreshLockClient {
  const c = client as Partial<Record<string, unknown>> | null;
  for (const method of ["set", "get", "del"]) {
    if (typeof c !== "object" || c === null || typeof c[method] !== "function") {
      throw new TypeError(`createRedisRefreshLock(client): client.${method} must be a function — pass a connected node-redis client (createClient())`);
    }
  }
}

function prefixOption(value: unknown): string {
  if (value === undefined) return "flet-auth:refresh:";
  if (typeof value !== "string") throw new TypeError('options.prefix must be a string, e.g. "flet-auth:refresh:"');
  return value;
}

function msOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`options.${name} must be a positive integer number of milliseconds (default ${fallback})`);
  }
  return value;
}
