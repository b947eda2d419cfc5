/**
 * createRedisRefreshLock against a real redis-server: two lock instances (two clients, as two
 * processes would hold them) share one refresh per key; a leader's outcome — `ok:` + the codec's
 * text for graceMs, or `err:` + the failure for failureMs — is what every other caller gets; a
 * leader that lapsed without an outcome (crashed) makes the others fail with a retryable 503 and
 * never refresh while its attempt mark lives, then one instance tries again. Factory validation
 * (cross-checked options included), Redis failures and the exact commands (SET NX PX lockMs, the
 * attempt mark, SET PX graceMs/failureMs, key prefixes, release) need no server: they run against
 * an in-memory fake client.
 */
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  FletAuthError,
  createRedisRefreshLock,
  type RedisRefreshLockClient,
  type RefreshCodec,
} from "../../lib/index.js";
import { findRedisServerOrWarn, useRedisServer } from "../helpers/redis-server.js";
import { useServerLifecycle } from "../helpers/refresh-harness.js";
import { deferred } from "../helpers/deferred.js";
import { memoryRedis, recordingClient, type RecordedCommand } from "../helpers/redis-lock-clients.js";

const REDIS_BINARY = findRedisServerOrWarn("refresh-lock-redis", "the distributed refresh lock suite");

interface Value {
  readonly accessToken: string;
}


/**
 * A refresh function that counts its calls, resolves `called` on the first, and waits for the
 * test to settle it.
 */
function controlledRefresh<T>(): { fn: () => Promise<T>; calls: () => number; called: Promise<void>; settle: ReturnType<typeof deferred<T>> } {
  const settle = deferred<T>();
  const called = deferred<void>();
  let calls = 0;
  return {
    fn: () => {
      calls += 1;
      called.resolve();
      return settle.promise;
    },
    calls: () => calls,
    called: called.promise,
    settle,
  };
}

/** Stands in for flet-auth's sealing codec: reversible, recognisable, and never the plain value. */
const codec: RefreshCodec<Value> = {
  encode: async (value) => `sealed:${Buffer.from(JSON.stringify(value)).toString("base64url")}`,
  decode: async (text) => {
    if (!text.startsWith("sealed:")) throw new Error(`not sealed: ${text}`);
    return JSON.parse(Buffer.from(text.slice("sealed:".length), "base64url").toString("utf8")) as Value;
  },
};

/** The owner token a lock wrote with its (first) SET NX. */
function ownerOf(log: readonly RecordedCommand[]): string {
  const set = log.find((c) => c.command === "SET" && c.options.condition === "NX");
  if (set?.command !== "SET") throw new Error(`no SET NX in ${JSON.stringify(log)}`);
  return set.value;
}

describe("createRedisRefreshLock: options", () => {
  const client: RedisRefreshLockClient = { set: async () => "OK", get: async () => null, del: async () => 0 };

  it("refuses a client without set/get/del, saying what to pass", () => {
    expect(() => createRedisRefreshLock({} as RedisRefreshLockClient)).toThrow(/client\.set must be a function.*createClient/);
    expect(() => createRedisRefreshLock(undefined as unknown as RedisRefreshLockClient)).toThrow(TypeError);
  });

  it.each([["lockMs"], ["graceMs"], ["failureMs"], ["pollMs"], ["waitMs"], ["commandTimeoutMs"]])("refuses a non-positive or fractional %s", (name) => {
    for (const bad of [0, -1, 1.5, "100", Number.NaN]) {
      expect(() => createRedisRefreshLock(client, { [name]: bad })).toThrow(new RegExp(`options\\.${name} must be a positive integer`));
    }
  });

  it.each([
    ["pollMs", "waitMs", { pollMs: 100, waitMs: 100 }],
    ["pollMs", "waitMs", { pollMs: 500, waitMs: 100 }],
    ["pollMs", "lockMs", { pollMs: 300, lockMs: 300, commandTimeoutMs: 10 }],
    ["commandTimeoutMs", "lockMs", { lockMs: 2000 }],
    ["commandTimeoutMs", "lockMs", { lockMs: 500, commandTimeoutMs: 900 }],
  ] as const)("refuses options.%s not below options.%s (%j), naming both values", (small, large, options) => {
    const given: Record<string, number> = { pollMs: 50, waitMs: 20_000, lockMs: 75_000, commandTimeoutMs: 2000, ...options };
    expect(() => createRedisRefreshLock(client, options)).toThrow(TypeError);
    expect(() => createRedisRefreshLock(client, options)).toThrow(
      `createRedisRefreshLock: options.${small} (${given[small]}) must be below options.${large} (${given[large]})`,
    );
  });

  it("accepts options just inside the cross-checks, and small values that keep each other consistent", () => {
    expect(() => createRedisRefreshLock(client, { pollMs: 99, waitMs: 100 })).not.toThrow();
    expect(() => createRedisRefreshLock(client, { lockMs: 2001 })).not.toThrow();
    expect(() => createRedisRefreshLock(client, { lockMs: 300, graceMs: 300, failureMs: 1, pollMs: 10, waitMs: 2000, commandTimeoutMs: 299 })).not.toThrow();
  });

  it("refuses a non-string prefix", () => {
    expect(() => createRedisRefreshLock(client, { prefix: 1 as unknown as string })).toThrow(/options\.prefix must be a string/);
  });

  it("without a codec run() rejects with a TypeError (no synchronous throw, fn not called)", async () => {
    const lock = createRedisRefreshLock(client);
    const fn = vi.fn(async () => 1);
    let result: Promise<number> | undefined;
    expect(() => (result = lock.run("k", fn))).not.toThrow();
    await expect(result).rejects.toThrow(TypeError);
    await expect(lock.run("k", fn)).rejects.toThrow(/needs a codec/);
    expect(fn).not.toHaveBeenCalled();
  });

  it("turns a Redis failure into refresh_failed (503) with a cause stripped of credentials", async () => {
    const failing: RedisRefreshLockClient = {
      ...client,
      get: async () => {
        throw Object.assign(new Error("connect ECONNREFUSED redis://admin:hunter2@10.0.0.5:6379"), { args: ["GET", "secret-arg"] });
      },
    };
    const fn = vi.fn(async () => ({ accessToken: "x" }));
    const err = await createRedisRefreshLock(failing).run("k", fn, codec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FletAuthError);
    expect(err).toMatchObject({ code: "refresh_failed", status: 503 });
    const cause = (err as FletAuthError).cause as Error;
    expect(cause.message).toContain("ECONNREFUSED");
    expect(cause.message).not.toContain("hunter2");
    expect(JSON.stringify(cause)).not.toContain("secret-arg");
    expect(fn).not.toHaveBeenCalled();
  });
});

describe("createRedisRefreshLock: the commands it sends (fake client, no server)", () => {
  const value: Value = { accessToken: "fresh-access-token" };
  const options = { lockMs: 4321, graceMs: 98_765, pollMs: 1 } as const;
  const LOCK = "flet-auth:refresh:lock:demo:k";
  const RESULT = "flet-auth:refresh:result:demo:k";
  const ATTEMPT = "flet-auth:refresh:attempt:demo:k";

  /** Runs one leader refresh on a fresh fake; returns the log and where in it the refresh ran. */
  async function lead(lockOptions: Parameters<typeof createRedisRefreshLock>[1], key = "demo:k", withoutEval = false) {
    const redis = memoryRedis();
    const client = recordingClient(redis, { withoutEval });
    let refreshedAt = -1;
    const result = await createRedisRefreshLock(client, lockOptions).run(key, async () => ((refreshedAt = client.log.length), value), codec);
    expect(result).toEqual(value);
    return { redis, client, refreshedAt, owner: ownerOf(client.log) };
  }

  const setsOf = (log: readonly RecordedCommand[], key: string) => log.filter((c) => c.command === "SET" && c.key === key);

  it("takes the lock with SET {prefix}lock:{key} <owner> NX PX lockMs, before refreshing", async () => {
    const { client, refreshedAt, owner } = await lead(options);
    expect(owner).toMatch(/^[A-Za-z0-9_-]{24}$/); // 18 random bytes, base64url: unguessable
    const lockSets = setsOf(client.log, LOCK);
    expect(lockSets).toStrictEqual([
      { command: "SET", key: LOCK, value: owner, options: { condition: "NX", expiration: { type: "PX", value: 4321 } }, result: "OK" },
    ]);
    expect(client.log.indexOf(lockSets[0]!)).toBeLessThan(refreshedAt);
    // The result key is read first (a finished refresh needs no lock), never with NX.
    expect(client.log[0]).toStrictEqual({ command: "GET", key: RESULT, result: null });
  });

  it("marks the attempt with SET {prefix}attempt:{key} <owner> PX lockMs+graceMs after the lock and a last look for a result, before refreshing", async () => {
    const { redis, client, refreshedAt, owner } = await lead(options);
    const marks = setsOf(client.log, ATTEMPT);
    expect(marks).toStrictEqual([{ command: "SET", key: ATTEMPT, value: owner, options: { expiration: { type: "PX", value: 4321 + 98_765 } }, result: "OK" }]);
    const at = client.log.indexOf(marks[0]!);
    expect(at).toBeLessThan(refreshedAt);
    // Lock taken, then the result read again (a leader may have finished in between), then the
    // mark read (a dead leader's), then the mark set.
    expect(client.log.slice(0, at + 1).map((c) => `${c.command === "SET" && c.options.condition === "NX" ? "SET NX" : c.command} ${c.command === "EVAL" ? "" : c.key}`)).toEqual([
      `GET ${RESULT}`,
      `SET NX ${LOCK}`,
      `GET ${RESULT}`,
      `GET ${ATTEMPT}`,
      `SET ${ATTEMPT}`,
    ]);
    // A success leaves the mark to expire: the replaced token is not refreshed again meanwhile.
    expect(redis.data.get(ATTEMPT)).toBe(owner);
  });

  it("stores `ok:` + the codec's text (never the plain value) at {prefix}result:{key} with PX graceMs and no NX, after refreshing", async () => {
    const { redis, client, refreshedAt } = await lead(options);
    const resultSets = setsOf(client.log, RESULT);
    expect(resultSets).toHaveLength(1);
    const stored = resultSets[0]!;
    expect(stored).toMatchObject({ command: "SET", key: RESULT, result: "OK" });
    expect(stored.command === "SET" && stored.options).toStrictEqual({ expiration: { type: "PX", value: 98_765 } });
    expect(stored.command === "SET" && stored.value).toBe(`ok:${await codec.encode(value)}`);
    expect(stored.command === "SET" && stored.value).not.toContain(value.accessToken);
    expect(client.log.indexOf(stored)).toBeGreaterThanOrEqual(refreshedAt);
    expect(redis.data.get(RESULT)).toBe(stored.command === "SET" ? stored.value : undefined);
  });

  it("defaults: prefix flet-auth:refresh:, lockMs and graceMs as documented on RedisRefreshLockOptions", async () => {
    const { client } = await lead({}, "github:abc");
    const sets = client.log.filter((c) => c.command === "SET");
    const lockSet = sets.find((c) => c.key === "flet-auth:refresh:lock:github:abc");
    const resultSet = sets.find((c) => c.key === "flet-auth:refresh:result:github:abc");
    expect(lockSet?.command === "SET" && lockSet.options.condition).toBe("NX");
    expect(lockSet?.command === "SET" && lockSet.options.expiration.type).toBe("PX");
    expect(resultSet?.command === "SET" && resultSet.options.expiration.type).toBe("PX");
    // Every key this lock touches carries the prefix.
    for (const c of client.log) expect(c.command === "EVAL" ? c.keys : [c.key]).toEqual([expect.stringMatching(/^flet-auth:refresh:[a-z]+:github:abc$/)]);
  });

  it("a custom prefix applies to every key, and lockMs/graceMs go to PX as given", async () => {
    const { client, owner } = await lead({ ...options, prefix: "app1:" }, "github:abc");
    expect(setsOf(client.log, "app1:lock:github:abc")).toStrictEqual([
      { command: "SET", key: "app1:lock:github:abc", value: owner, options: { condition: "NX", expiration: { type: "PX", value: 4321 } }, result: "OK" },
    ]);
    expect(setsOf(client.log, "app1:result:github:abc").map((c) => c.command === "SET" && c.options)).toStrictEqual([
      { expiration: { type: "PX", value: 98_765 } },
    ]);
    for (const c of client.log) expect(c.command === "EVAL" ? c.keys : [c.key]).toEqual([expect.stringMatching(/^app1:[a-z]+:github:abc$/)]);
  });

  it("releases its own lock last, with the compare-and-delete script on {prefix}lock:{key} and its owner token", async () => {
    const { redis, client, refreshedAt, owner } = await lead(options);
    expect(client.log.at(-1)).toStrictEqual({ command: "EVAL", script: expect.any(String), keys: [LOCK], arguments: [owner], result: 1 });
    expect(client.log.length - 1).toBeGreaterThanOrEqual(refreshedAt);
    expect(client.commands.filter((c) => c === "EVAL" || c === "DEL")).toEqual(["EVAL"]);
    expect(redis.data.has(LOCK)).toBe(false);
  });

  it("without eval, releases with GET {prefix}lock:{key} then DEL when it still holds its owner token", async () => {
    const { redis, client, owner } = await lead(options, "demo:k", true);
    expect(client.log.slice(-2)).toStrictEqual([
      { command: "GET", key: LOCK, result: owner },
      { command: "DEL", key: LOCK, result: 1 },
    ]);
    expect(redis.data.has(LOCK)).toBe(false);
  });

  it.each([
    ["EVAL", false],
    ["GET + DEL", true],
  ])("%s release leaves a lock another instance took after ours lapsed", async (_name, withoutEval) => {
    const redis = memoryRedis();
    const client = recordingClient(redis, { withoutEval });
    await createRedisRefreshLock(client, options).run("demo:k", async () => (redis.data.set(LOCK, "someone-else"), value), codec);
    expect(redis.data.get(LOCK)).toBe("someone-else");
    expect(client.commands).not.toContain("DEL");
    const last = client.log.at(-1);
    if (withoutEval) expect(last).toStrictEqual({ command: "GET", key: LOCK, result: "someone-else" });
    else expect(last).toStrictEqual({ command: "EVAL", script: expect.any(String), keys: [LOCK], arguments: [ownerOf(client.log)], result: 0 });
  });

  it("a failed refresh stores `err:` + the failure with PX failureMs, drops the attempt mark (a definite answer) and releases the lock", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const boom = new FletAuthError("refresh_failed", "(temporarily_unavailable) down for maintenance", {
      status: 502,
      oauthError: "temporarily_unavailable",
      description: "down for maintenance",
    });
    await expect(createRedisRefreshLock(client, { ...options, failureMs: 777 }).run("demo:k", async () => Promise.reject(boom), codec)).rejects.toBe(boom);
    const stored = setsOf(client.log, RESULT);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.command === "SET" && stored[0]!.options).toStrictEqual({ expiration: { type: "PX", value: 777 } });
    const text = stored[0]!.command === "SET" ? stored[0]!.value : "";
    expect(text.startsWith("err:")).toBe(true);
    expect(JSON.parse(text.slice(4))).toStrictEqual({
      code: "refresh_failed",
      status: 502,
      message: "(temporarily_unavailable) down for maintenance",
      oauthError: "temporarily_unavailable",
      description: "down for maintenance",
    });
    expect(client.log.filter((c) => c.command === "DEL")).toStrictEqual([{ command: "DEL", key: ATTEMPT, result: 1 }]);
    expect(redis.data.has(ATTEMPT)).toBe(false);
    expect(client.log.at(-1)).toStrictEqual({ command: "EVAL", script: expect.any(String), keys: [LOCK], arguments: [ownerOf(client.log)], result: 1 });
    expect(redis.data.has(LOCK)).toBe(false);
  });

  it("an error that is not a FletAuthError is stored as a generic refresh_failed (502), its message left out", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const boom = new Error("socket hang up at https://user:secret@idp.example/token");
    await expect(createRedisRefreshLock(client, options).run("demo:k", async () => Promise.reject(boom), codec)).rejects.toBe(boom);
    expect(redis.data.get(RESULT)).toBe(`err:${JSON.stringify({ code: "refresh_failed", status: 502, message: "Refreshing the token failed." })}`);
  });

  it("a timeout (provider_timeout: the outcome is unknown) stores the failure but keeps the attempt mark", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const timeout = new FletAuthError("provider_timeout", "Refreshing the token failed: the provider did not answer within 60000 ms.");
    await expect(createRedisRefreshLock(client, options).run("demo:k", async () => Promise.reject(timeout), codec)).rejects.toBe(timeout);
    expect(redis.data.get(RESULT)).toMatch(/^err:\{"code":"provider_timeout","status":504,/);
    expect(client.commands).not.toContain("DEL");
    expect(redis.data.get(ATTEMPT)).toBe(ownerOf(client.log));
    expect(redis.data.has(LOCK)).toBe(false);
  });

  it("a result that cannot be stored keeps the lock and the attempt mark (others must not present the rotated-out token)", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const unencodable: RefreshCodec<Value> = { ...codec, encode: async () => Promise.reject(new Error("no secret")) };
    await expect(createRedisRefreshLock(client, options).run("demo:k", async () => value, unencodable)).resolves.toEqual(value);
    expect(client.commands).not.toContain("EVAL");
    expect(client.commands).not.toContain("DEL");
    expect(redis.data.get(LOCK)).toBe(ownerOf(client.log));
    expect(redis.data.get(ATTEMPT)).toBe(ownerOf(client.log));
    expect(redis.data.has(RESULT)).toBe(false);
  });

  it("a result whose SET fails keeps the lock and the attempt mark too", async () => {
    const redis = memoryRedis();
    const client = recordingClient({
      ...redis,
      set: async (key, v, o) => (key === RESULT ? Promise.reject(new Error("OOM command not allowed")) : redis.set(key, v, o)),
    });
    await expect(createRedisRefreshLock(client, options).run("demo:k", async () => value, codec)).resolves.toEqual(value);
    expect(redis.data.has(LOCK)).toBe(true);
    expect(redis.data.has(ATTEMPT)).toBe(true);
    expect(redis.data.has(RESULT)).toBe(false);
  });

  it("a refused instance only polls (GET result, SET lock NX PX lockMs) until the leader's result appears; it never refreshes or releases", async () => {
    const redis = memoryRedis();
    const leader = recordingClient(redis);
    const waiter = recordingClient(redis);
    const slow = controlledRefresh<Value>();
    const onLeader = createRedisRefreshLock(leader, options).run("demo:k", slow.fn, codec);
    await slow.called;
    const secondRefresh = deferred<void>();
    const fn = vi.fn(async () => (secondRefresh.resolve(), { accessToken: "second refresh" }));
    const onWaiter = createRedisRefreshLock(waiter, options).run("demo:k", fn, codec);
    // Refused three times (it polled in between), or it wrongly refreshed: either ends the wait.
    await Promise.race([waiter.whenRefused(3), secondRefresh.promise]);
    expect(fn).not.toHaveBeenCalled();
    slow.settle.resolve(value);
    await expect(onLeader).resolves.toEqual(value);
    await expect(onWaiter).resolves.toEqual(value);
    expect(fn).not.toHaveBeenCalled();
    expect(waiter.refusals()).toBeGreaterThanOrEqual(3);
    for (const c of waiter.log) {
      if (c.command === "SET") {
        expect(c).toStrictEqual({ command: "SET", key: LOCK, value: expect.any(String), options: { condition: "NX", expiration: { type: "PX", value: 4321 } }, result: null });
        expect(c.value).not.toBe(ownerOf(leader.log));
      } else {
        expect(c).toMatchObject({ command: "GET", key: RESULT });
      }
    }
    expect(waiter.log.at(-1)).toMatchObject({ command: "GET", key: RESULT, result: expect.stringContaining(await codec.encode(value)) });
  });
});

describe.skipIf(REDIS_BINARY === undefined)("createRedisRefreshLock with a real redis-server", () => {
  const redis = useRedisServer(REDIS_BINARY, "refresh-lock-redis");
  let prefix: string;
  useServerLifecycle();

  type LockOptions = NonNullable<Parameters<typeof createRedisRefreshLock>[1]>;

  /** One "process": its own (recorded) client and its own lock. */
  async function instance(options: LockOptions = {}) {
    const client = recordingClient(await redis.client());
    return { lock: createRedisRefreshLock(client, { prefix, ...options }), client };
  }

  /** Two "processes": each its own (recorded) client and its own lock. */
  async function twoInstances(options: LockOptions = {}) {
    const first = await instance(options);
    const second = await instance(options);
    return { a: first.lock, b: second.lock, clientA: first.client, clientB: second.client };
  }

  const keysOf = (key: string) => ({ lock: `${prefix}lock:${key}`, result: `${prefix}result:${key}`, attempt: `${prefix}attempt:${key}` });

  /**
   * Waits until Redis has expired `key` (PX is Redis's own timer, so this polls what Redis holds;
   * bounded, and never a fixed sleep).
   */
  async function untilExpired(key: string): Promise<void> {
    await vi.waitFor(async () => expect(await redis.inspector.exists(key)).toBe(0), { timeout: 10_000, interval: 10 });
  }

  beforeEach(() => {
    prefix = `flet-auth-test:${randomBytes(6).toString("hex")}:`;
  });

  describe("single flight across instances", () => {
    it("two instances racing one key: fn runs once and both get the decoded value", async () => {
      const { a, b, clientA, clientB } = await twoInstances();
      const fa = controlledRefresh<Value>();
      const fb = controlledRefresh<Value>();
      const onA = a.run("demo:k1", fa.fn, codec);
      const onB = b.run("demo:k1", fb.fn, codec);
      await Promise.race([fa.called, fb.called]);
      const waiter = fa.calls() === 1 ? clientB : clientA;
      const other = fa.calls() === 1 ? fb : fa;
      // The other instance was refused the lock, polled, and was refused again: it is waiting.
      // (Should it refresh instead, that ends the wait too, and the count below says so.)
      await Promise.race([waiter.whenRefused(2), other.called]);
      expect(fa.calls() + fb.calls()).toBe(1);
      const value = { accessToken: "new-access" };
      fa.settle.resolve(value);
      fb.settle.resolve(value);
      const [ra, rb] = await Promise.all([onA, onB]);
      expect(ra).toEqual(value);
      expect(rb).toEqual(value);
      expect(fa.calls() + fb.calls()).toBe(1);
    });

    it("concurrent callers in one instance make one distributed attempt (one SET NX)", async () => {
      const { lock, client } = await instance();
      const refresh = controlledRefresh<Value>();
      const callers = Array.from({ length: 25 }, () => lock.run("demo:k2", refresh.fn, codec));
      await refresh.called;
      refresh.settle.resolve({ accessToken: "one" });
      for (const r of await Promise.all(callers)) expect(r).toEqual({ accessToken: "one" });
      expect(client.commands.filter((c) => c === "SET NX")).toEqual(["SET NX"]);
      expect(refresh.calls()).toBe(1);
    });

    it("a late instance gets the stored result without refreshing (grace period)", async () => {
      const { a, b } = await twoInstances();
      await expect(a.run("demo:k3", async () => ({ accessToken: "first" }), codec)).resolves.toEqual({ accessToken: "first" });
      const fn = vi.fn(async () => ({ accessToken: "second" }));
      await expect(b.run("demo:k3", fn, codec)).resolves.toEqual({ accessToken: "first" });
      expect(fn).not.toHaveBeenCalled();
    });

    it("stores `ok:` + what the codec encoded (never the plain value) for graceMs, keeps the attempt mark, and releases the lock", async () => {
      const { a } = await twoInstances({ graceMs: 60_000 });
      const keys = keysOf("demo:k4");
      const value = { accessToken: "plain-access-token-value" };
      await a.run("demo:k4", async () => value, codec);
      const stored = await redis.inspector.get(keys.result);
      expect(stored).toBe(`ok:${await codec.encode(value)}`);
      expect(stored).not.toContain(value.accessToken);
      const ttl = await redis.inspector.pTTL(keys.result);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // The attempt mark outlives the result (lockMs + graceMs): the replaced token is never refreshed again meanwhile.
      expect(await redis.inspector.pTTL(keys.attempt)).toBeGreaterThan(ttl);
      expect(await redis.inspector.exists(keys.lock)).toBe(0);
      for (const key of await redis.inspector.keys(`${prefix}*`)) expect(key).not.toContain(value.accessToken);
    });
  });

  describe("leader failure", () => {
    it("the leader's rejection is shared with a waiting instance (its fn is not called) for failureMs; then the next call refreshes", async () => {
      const failureMs = 300;
      const { a, b, clientB } = await twoInstances({ failureMs, pollMs: 10 });
      const keys = keysOf("demo:k5");
      const fa = controlledRefresh<Value>();
      const onA = a.run("demo:k5", fa.fn, codec);
      await fa.called;
      const bCalled = deferred<void>();
      const fb = vi.fn(async () => (bCalled.resolve(), { accessToken: "from-b" }));
      const onB = b.run("demo:k5", fb, codec);
      // B was refused the lock twice (it polled in between), or it wrongly refreshed.
      await Promise.race([clientB.whenRefused(2), bCalled.promise]);
      expect(fb).not.toHaveBeenCalled(); // B waits while A holds the lock
      const boom = new FletAuthError("refresh_failed", "(temporarily_unavailable) try later", {
        status: 502,
        oauthError: "temporarily_unavailable",
        description: "try later",
      });
      fa.settle.reject(boom);
      await expect(onA).rejects.toBe(boom);
      // B gets A's failure, rebuilt from Redis, and never ran its own refresh.
      const onBError = await onB.catch((e: unknown) => e);
      expect(onBError).toBeInstanceOf(FletAuthError);
      expect(onBError).toMatchObject({ code: "refresh_failed", status: 502, message: boom.message, oauthError: "temporarily_unavailable", description: "try later" });
      expect(fb).not.toHaveBeenCalled();
      expect((await redis.inspector.get(keys.result))?.startsWith("err:")).toBe(true);
      expect(await redis.inspector.pTTL(keys.result)).toBeLessThanOrEqual(failureMs);
      // A definite answer: no attempt mark is left, nothing blocks the retry.
      expect(await redis.inspector.exists(keys.attempt)).toBe(0);

      // A third instance arriving within failureMs gets the same failure without refreshing.
      const third = await instance({ failureMs, pollMs: 10 });
      const fc = vi.fn(async () => ({ accessToken: "from-c" }));
      if ((await redis.inspector.exists(keys.result)) === 1) {
        await expect(third.lock.run("demo:k5", fc, codec)).rejects.toMatchObject({ code: "refresh_failed", oauthError: "temporarily_unavailable" });
        expect(fc).not.toHaveBeenCalled();
      }

      // Once the failure expired (Redis's PX; B's own copy of it expires failureMs after B saw
      // it), B's next call refreshes: each try before that is the shared failure, fn untouched.
      await untilExpired(keys.result);
      const value = await vi.waitFor(
        async () => {
          const outcome = await b.run("demo:k5", fb, codec).catch((e: unknown) => e);
          if (outcome instanceof Error) {
            expect(fb).not.toHaveBeenCalled();
            expect(outcome).toMatchObject({ code: "refresh_failed", oauthError: "temporarily_unavailable" });
            throw outcome;
          }
          return outcome;
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(value).toEqual({ accessToken: "from-b" });
      expect(fb).toHaveBeenCalledTimes(1);
      expect(fa.calls()).toBe(1);
      // The fresh success is what everyone gets now.
      const fourth = await instance();
      const fd = vi.fn(async () => ({ accessToken: "from-d" }));
      await expect(fourth.lock.run("demo:k5", fd, codec)).resolves.toEqual({ accessToken: "from-b" });
      expect(fd).not.toHaveBeenCalled();
    });

    it("a timeout leaves the outcome unknown: its failure is shared for failureMs, then callers get 503 without refreshing while the attempt mark lives", async () => {
      const options: LockOptions = { failureMs: 100, pollMs: 10, lockMs: 5000, graceMs: 60_000 };
      const { a, b } = await twoInstances(options);
      const keys = keysOf("demo:k11");
      const timeout = new FletAuthError("provider_timeout", "Refreshing the token failed: the provider did not answer within 60000 ms.");
      await expect(a.run("demo:k11", async () => Promise.reject(timeout), codec)).rejects.toBe(timeout);
      expect(await redis.inspector.exists(keys.attempt)).toBe(1);
      expect(await redis.inspector.exists(keys.lock)).toBe(0);
      const fb = vi.fn(async () => ({ accessToken: "would present the same refresh token again" }));
      await untilExpired(keys.result);
      const err = await b.run("demo:k11", fb, codec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FletAuthError);
      expect(err).toMatchObject({ code: "refresh_failed", status: 503, message: expect.stringMatching(/outcome is unknown/) });
      expect(fb).not.toHaveBeenCalled();
      expect(await redis.inspector.exists(keys.attempt)).toBe(1);
      // B took the lock to look, and gave it back.
      expect(await redis.inspector.exists(keys.lock)).toBe(0);
    });

    it("a leader that lapsed with no outcome (crashed): others fail with 503 and never refresh while its attempt mark lives; after it expires one instance refreshes", async () => {
      // Small values keep it fast: the lock lapses after 300 ms, the mark 300 ms later.
      const options: LockOptions = { lockMs: 300, graceMs: 300, failureMs: 1, pollMs: 10, commandTimeoutMs: 250 };
      const { a, b, clientA } = await twoInstances(options);
      const c = (await instance(options)).lock;
      const keys = keysOf("demo:k6");
      // A takes the lock, marks the attempt, and "crashes": its refresh never settles.
      const crashed = controlledRefresh<Value>();
      void a.run("demo:k6", crashed.fn, codec);
      await crashed.called;
      expect(await redis.inspector.get(keys.attempt)).toBe(ownerOf(clientA.log));

      const fb = vi.fn(async () => ({ accessToken: "from-b" }));
      const fc = vi.fn(async () => ({ accessToken: "from-c" }));
      // B waits for A's lock to lapse, finds A's attempt mark without an outcome: 503.
      const errB = await b.run("demo:k6", fb, codec).catch((e: unknown) => e);
      expect(errB).toBeInstanceOf(FletAuthError);
      expect(errB).toMatchObject({ code: "refresh_failed", status: 503, message: expect.stringMatching(/outcome is unknown; try again/) });
      // … while the mark was there (still there after the answer), and B released the lock it took to look.
      expect(await redis.inspector.exists(keys.attempt)).toBe(1);
      expect(await redis.inspector.exists(keys.lock)).toBe(0);
      const errC = await c.run("demo:k6", fc, codec).catch((e: unknown) => e);
      expect(errC).toMatchObject({ code: "refresh_failed", status: 503 });
      expect(await redis.inspector.exists(keys.attempt)).toBe(1);
      expect(fb).not.toHaveBeenCalled();
      expect(fc).not.toHaveBeenCalled();
      expect(await redis.inspector.exists(keys.result)).toBe(0);

      // lockMs + graceMs after A marked the attempt, the mark expires: exactly one instance refreshes.
      await untilExpired(keys.attempt);
      const [rb, rc] = await Promise.all([b.run("demo:k6", fb, codec), c.run("demo:k6", fc, codec)]);
      expect(fb.mock.calls.length + fc.mock.calls.length).toBe(1);
      expect(rb).toEqual(rc);
      expect([{ accessToken: "from-b" }, { accessToken: "from-c" }]).toContainEqual(rb);
      expect(await redis.inspector.get(keys.result)).toBe(`ok:${await codec.encode(rb)}`);
      expect(crashed.calls()).toBe(1);
    });
  });

  describe("waitMs", () => {
    it("a waiter whose leader does not finish in time fails with refresh_failed (503), without refreshing", async () => {
      const { a, b } = await twoInstances({ waitMs: 300 });
      const stuck = controlledRefresh<Value>();
      const onA = a.run("demo:k7", stuck.fn, codec);
      await stuck.called;
      const fb = vi.fn(async () => ({ accessToken: "never" }));
      const err = await b.run("demo:k7", fb, codec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FletAuthError);
      expect(err).toMatchObject({ code: "refresh_failed", status: 503 });
      expect((err as Error).message).toMatch(/another instance is refreshing this token and did not finish within 300 ms/i);
      expect(fb).not.toHaveBeenCalled();
      stuck.settle.resolve({ accessToken: "eventually" });
      await expect(onA).resolves.toEqual({ accessToken: "eventually" });
    });
  });

  describe("lock release", () => {
    it.each([
      ["EVAL compare-and-delete", false],
      ["GET + DEL without eval", true],
    ])("%s: never deletes a lock another instance took after ours lapsed", async (_name, withoutEval) => {
      const client = recordingClient(await redis.client(), { withoutEval });
      const lock = createRedisRefreshLock(client, { prefix, lockMs: 250, commandTimeoutMs: 200, pollMs: 10 });
      const slow = controlledRefresh<Value>();
      const run = lock.run("demo:k8", slow.fn, codec);
      await slow.called;
      // Our lock lapsed (Redis expired it), so another instance may take it.
      await untilExpired(`${prefix}lock:demo:k8`);
      await redis.inspector.set(`${prefix}lock:demo:k8`, "someone-else", { expiration: { type: "PX", value: 10_000 } });
      slow.settle.resolve({ accessToken: "v" });
      await expect(run).resolves.toEqual({ accessToken: "v" });
      expect(await redis.inspector.get(`${prefix}lock:demo:k8`)).toBe("someone-else");
      expect(client.commands.includes("EVAL")).toBe(!withoutEval);
      expect(client.commands).not.toContain("DEL");
    });

    it("releases its own lock without eval too", async () => {
      const client = recordingClient(await redis.client(), { withoutEval: true });
      const lock = createRedisRefreshLock(client, { prefix });
      await lock.run("demo:k9", async () => ({ accessToken: "v" }), codec);
      expect(await redis.inspector.exists(`${prefix}lock:demo:k9`)).toBe(0);
      expect(client.commands).toContain("DEL");
    });
  });

  describe("codec and stored outcomes", () => {
    it("an `ok:` result that does not decode rejects with the codec's error, without refreshing", async () => {
      await redis.inspector.set(`${prefix}result:demo:k10`, "ok:garbage", { expiration: { type: "PX", value: 10_000 } });
      const strict: RefreshCodec<Value> = {
        encode: codec.encode,
        decode: async (text) => {
          throw new FletAuthError("refresh_failed", `does not open: ${text}`, { status: 503 });
        },
      };
      const fn = vi.fn(async () => ({ accessToken: "x" }));
      const lock = createRedisRefreshLock(await redis.client(), { prefix });
      // The codec sees the text after the prefix.
      await expect(lock.run("demo:k10", fn, strict)).rejects.toMatchObject({ code: "refresh_failed", status: 503, message: "does not open: garbage" });
      expect(fn).not.toHaveBeenCalled();
    });

    it.each([
      ["no known prefix (an older format)", "sealed:abc"],
      ["an unreadable failure", "err:{not json"],
      ["a failure with an unknown code", `err:${JSON.stringify({ code: "made_up", status: "x", message: 7 })}`],
    ])("%s is a generic refresh_failed (502), without refreshing", async (_what, stored) => {
      await redis.inspector.set(`${prefix}result:demo:k12`, stored, { expiration: { type: "PX", value: 10_000 } });
      const fn = vi.fn(async () => ({ accessToken: "x" }));
      const lock = createRedisRefreshLock(await redis.client(), { prefix });
      const err = await lock.run("demo:k12", fn, codec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FletAuthError);
      expect(err).toMatchObject({ code: "refresh_failed", status: 502, message: "Refreshing the token failed." });
      expect(fn).not.toHaveBeenCalled();
    });
  });
});
