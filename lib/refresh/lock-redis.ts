/**
 * Single-flight refresh across processes: several app instances sharing sessions (e.g. in
 * connect-redis) must not both refresh one rotating refresh token — the second call would get
 * `invalid_grant` and may revoke the whole grant (RFC 9700 §4.14.2). One Redis key is the lock,
 * another holds the (sealed) result for the instances that waited or that hold a stale copy.
 */
import { randomBytes } from "node:crypto";
import { ErrorCodes, FletAuthError, type FletAuthErrorCode } from "../errors.js";
import { withDeadline } from "../util/deadline.js";
import { safeError } from "../util/safe-error.js";
import { createInProcessRefreshLock, type RefreshCodec, type RefreshLock } from "./lock.js";

/**
 * What {@link createRedisRefreshLock} needs of a Redis client, typed structurally so flet-auth
 * does not depend on a Redis package. A node-redis v5 `createClient()` instance satisfies it.
 */
export interface RedisRefreshLockClient {
  /** `SET key value NX PX ms` (and `SET key value PX ms`): `"OK"` when set, `null` when NX refused. */
  set(key: string, value: string, options: RedisSetOptions): Promise<unknown>;
  /** `GET key`: the value, `null` when the key does not exist. */
  get(key: string): Promise<string | null>;
  /** `DEL key`: how many keys were removed. */
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
  /** Prepended to every key (`{prefix}lock:{key}`, `{prefix}result:{key}`, `{prefix}attempt:{key}`). @default "flet-auth:refresh:" */
  readonly prefix?: string;
  /**
   * Lifetime of the lock: how long other instances trust a leader. Keep it above the refresh's
   * hard limit (the HTTP client's `refreshTimeoutMs`, 60 s by default), so a slow but live
   * leader is never joined by a second refresh.
   * @default 75000
   */
  readonly lockMs?: number;
  /** How long a successful (sealed) result stays in Redis for this sign-in's other requests, as the in-process lock's `graceMs`. @default 60000 */
  readonly graceMs?: number;
  /** How long a failed refresh's outcome is shared with the callers that come next. @default 5000 */
  readonly failureMs?: number;
  /** How often a waiting instance looks for the leader's result. @default 50 */
  readonly pollMs?: number;
  /** How long an instance polls for another instance's refresh; fletAuth's `timeoutMs` bounds a request's wait anyway. @default 20000 */
  readonly waitMs?: number;
  /** Deadline of each Redis command (node-redis queues commands while disconnected). @default 2000 */
  readonly commandTimeoutMs?: number;
}

interface Settings {
  readonly prefix: string;
  readonly lockMs: number;
  readonly graceMs: number;
  readonly failureMs: number;
  readonly pollMs: number;
  readonly waitMs: number;
  readonly commandTimeoutMs: number;
}

// Deletes the lock only if it still holds our owner token: after `lockMs` it may be another's.
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A {@link RefreshLock} shared by every process that uses the same Redis: concurrent callers in
 * one process share one Redis round trip (in-process single flight first); across processes one
 * instance takes a `SET NX PX` lock, marks the refresh token as attempted, refreshes, and stores
 * the outcome — the result encoded by the caller's codec (flet-auth seals the token with the
 * session secret, so every instance needs the same `secret`), or a failure for `failureMs` — and
 * the others poll for it.
 *
 * A refresh token that may already have been sent is never sent again while that attempt can
 * still matter: when a leader died mid-refresh (its lock lapsed, its attempt mark remains, no
 * outcome), callers fail with a retryable `refresh_failed` (503) and stay signed in, for
 * `lockMs + graceMs`; only then does one instance try that token again (if the provider had
 * rotated it, it refuses, and that one sign-in ends — the documented dead-leader case). Redis
 * failures and missed command deadlines reject with `refresh_failed` (503).
 *
 * @example
 * import { RedisStore } from "connect-redis";
 * import { createClient } from "redis";
 * import { createRedisRefreshLock, createRedisStore, fletAuth } from "flet-auth";
 *
 * const redis = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * redis.on("error", (err) => console.error("redis", err));
 * await redis.connect();
 * app.use(fletAuth({
 *   providers: { github },
 *   secret: process.env.SESSION_SECRET, // the same on every instance
 *   session: { store: new RedisStore({ client: redis }) },
 *   store: createRedisStore(redis),
 *   refreshLock: createRedisRefreshLock(redis),
 * }));
 */
export function createRedisRefreshLock(client: RedisRefreshLockClient, options: RedisRefreshLockOptions = {}): RefreshLock {
  assertClient(client);
  if (typeof options !== "object" || options === null) throw new TypeError("createRedisRefreshLock(client, options): options must be an object");
  const settings: Settings = {
    prefix: prefixOption(options.prefix),
    lockMs: msOption("lockMs", options.lockMs, 75_000),
    graceMs: msOption("graceMs", options.graceMs, 60_000),
    failureMs: msOption("failureMs", options.failureMs, 5_000),
    pollMs: msOption("pollMs", options.pollMs, 50),
    waitMs: msOption("waitMs", options.waitMs, 20_000),
    commandTimeoutMs: msOption("commandTimeoutMs", options.commandTimeoutMs, 2_000),
  };
  if (settings.pollMs >= settings.waitMs) throw new TypeError(`createRedisRefreshLock: options.pollMs (${settings.pollMs}) must be below options.waitMs (${settings.waitMs})`);
  if (settings.pollMs >= settings.lockMs) throw new TypeError(`createRedisRefreshLock: options.pollMs (${settings.pollMs}) must be below options.lockMs (${settings.lockMs})`);
  if (settings.commandTimeoutMs >= settings.lockMs) {
    throw new TypeError(`createRedisRefreshLock: options.commandTimeoutMs (${settings.commandTimeoutMs}) must be below options.lockMs (${settings.lockMs})`);
  }
  // Callers of one process share one distributed attempt and its outcome.
  const local = createInProcessRefreshLock({ graceMs: settings.graceMs, failureMs: settings.failureMs });
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

interface Keys {
  readonly lock: string;
  readonly result: string;
  readonly attempt: string;
}

async function runShared<T>(client: RedisRefreshLockClient, s: Settings, key: string, refresh: () => Promise<T>, codec: RefreshCodec<T>): Promise<T> {
  const keys: Keys = { lock: `${s.prefix}lock:${key}`, result: `${s.prefix}result:${key}`, attempt: `${s.prefix}attempt:${key}` };
  const deadline = Date.now() + s.waitMs;
  for (;;) {
    const done = await redis(s, "GET", () => client.get(keys.result));
    if (done !== null) return outcome(done, codec);
    const owner = randomBytes(18).toString("base64url");
    const locked = await redis(s, "SET NX", () => client.set(keys.lock, owner, { condition: "NX", ...expiringIn(s.lockMs) }));
    if (locked === "OK") return lead(client, s, keys, owner, refresh, codec);
    // Another instance is refreshing; its outcome, or its lock lapsing, ends the wait.
    if (Date.now() >= deadline) {
      throw new FletAuthError("refresh_failed", `Another instance is refreshing this token and did not finish within ${s.waitMs} ms; try again.`, {
        status: 503,
      });
    }
    await sleep(Math.min(s.pollMs, Math.max(1, deadline - Date.now())));
  }
}

async function lead<T>(client: RedisRefreshLockClient, s: Settings, keys: Keys, owner: string, refresh: () => Promise<T>, codec: RefreshCodec<T>): Promise<T> {
  let release = true;
  try {
    // A leader may have stored its outcome and released between our GET and our SET.
    const done = await redis(s, "GET", () => client.get(keys.result));
    if (done !== null) return await outcome(done, codec);
    // A leader took this token before us and left no outcome: it died, or lost its result, after
    // it may have sent the refresh token. Sending it again could be a reuse (RFC 9700 §4.14.2).
    if ((await redis(s, "GET", () => client.get(keys.attempt))) !== null) {
      throw new FletAuthError("refresh_failed", "A refresh of this token was started elsewhere and its outcome is unknown; try again shortly.", {
        status: 503,
      });
    }
    await redis(s, "SET", () => client.set(keys.attempt, owner, expiringIn(s.lockMs + s.graceMs)));
    let value: T;
    try {
      value = await refresh();
    } catch (err) {
      // A definite answer (the provider refused, or was unreachable before anything was sent)
      // is shared for failureMs; a timeout leaves the outcome unknown, so the attempt mark stays.
      const unknown = err instanceof FletAuthError && err.code === "provider_timeout";
      const failure = `err:${JSON.stringify(failureOf(err))}`;
      // The command names below only name errors that are swallowed: their mutants are equivalent.
      // Stryker disable next-line StringLiteral
      await redis(s, "SET", () => client.set(keys.result, failure, expiringIn(s.failureMs))).catch(() => undefined);
      // Stryker disable next-line StringLiteral
      if (!unknown) await redis(s, "DEL", () => client.del(keys.attempt)).catch(() => undefined);
      throw err;
    }
    try {
      const result = `ok:${await codec.encode(value)}`;
      // Stryker disable next-line StringLiteral: the name is in an error the catch below swallows.
      await redis(s, "SET", () => client.set(keys.result, result, expiringIn(s.graceMs)));
    } catch {
      // The refresh succeeded and rotated the refresh token: this caller keeps the new token (and
      // stores it in its session). Keep the lock and the attempt mark, so other instances fail
      // with a retryable error instead of presenting the rotated-out token.
      release = false;
    }
    return value;
  } finally {
    // Stryker disable next-line StringLiteral: the name is in an error that is swallowed.
    if (release) await redis(s, "release", () => releaseLock(client, keys.lock, owner)).catch(() => undefined);
  }
}

/** A failure's public fields, enough to rebuild the same FletAuthError on another instance. */
function failureOf(err: unknown): Record<string, unknown> {
  if (err instanceof FletAuthError) {
    return { code: err.code, status: err.status, message: err.message, oauthError: err.oauthError, description: err.description };
  }
  return { code: "refresh_failed", status: 502, message: "Refreshing the token failed." };
}

async function outcome<T>(stored: string, codec: RefreshCodec<T>): Promise<T> {
  if (stored.startsWith("ok:")) return codec.decode(stored.slice(3));
  let f: Record<string, unknown> = {};
  try {
    f = JSON.parse(stored.slice(4)) as Record<string, unknown>;
  } catch {
    // Unreadable: report a generic failure.
  }
  const code = typeof f["code"] === "string" && Object.hasOwn(ErrorCodes, f["code"]) ? (f["code"] as FletAuthErrorCode) : "refresh_failed";
  throw new FletAuthError(code, typeof f["message"] === "string" ? f["message"] : "Refreshing the token failed.", {
    status: typeof f["status"] === "number" ? f["status"] : 502,
    ...(typeof f["oauthError"] === "string" ? { oauthError: f["oauthError"] } : {}),
    ...(typeof f["description"] === "string" ? { description: f["description"] } : {}),
  });
}

/** SET's expiry option: `ms` milliseconds from now. */
function expiringIn(ms: number): Pick<RedisSetOptions, "expiration"> {
  return { expiration: { type: "PX", value: ms } };
}

async function releaseLock(client: RedisRefreshLockClient, lockKey: string, owner: string): Promise<void> {
  if (typeof client.eval === "function") {
    await client.eval(RELEASE_SCRIPT, { keys: [lockKey], arguments: [owner] });
  } else if ((await client.get(lockKey)) === owner) {
    await client.del(lockKey);
  }
}

/** Runs one Redis command with a deadline; a failure becomes `refresh_failed` (503) with a sanitized cause. */
async function redis<R>(s: Settings, command: string, call: () => Promise<R>): Promise<R> {
  try {
    return await withDeadline(call(), s.commandTimeoutMs, () => new Error(`no answer within ${s.commandTimeoutMs} ms`));
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
