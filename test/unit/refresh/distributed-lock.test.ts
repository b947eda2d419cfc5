/**
 * createRedisRefreshLock against an in-memory fake client (no server, so this suite also runs in
 * the mutation suite, which leaves out `*redis*` tests): option validation and its messages, the
 * exact commands (SET NX PX lockMs, the attempt mark, `ok:` / `err:` outcomes, release), how a
 * refused instance polls and gives up (fake clock and timers, no real sleeps), dead leaders,
 * codec failures and Redis failures or missed command deadlines.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FletAuthError, createRedisRefreshLock, type RedisRefreshLockClient, type RedisRefreshLockOptions, type RefreshCodec } from "../../../lib/index.js";
import { memoryRedis, recordingClient, type MemoryRedis, type RecordedCommand } from "../../helpers/redis-lock-clients.js";

interface Value {
  readonly accessToken: string;
}

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const value: Value = { accessToken: "fresh-access-token" };

/** Reversible, recognisable, never the plain value; decode refuses text it did not write. */
const codec: RefreshCodec<Value> = {
  encode: async (v) => `sealed:${Buffer.from(JSON.stringify(v)).toString("base64url")}`,
  decode: async (text) => {
    if (!text.startsWith("sealed:")) throw new Error(`not sealed: ${text}`);
    return JSON.parse(Buffer.from(text.slice("sealed:".length), "base64url").toString("utf8")) as Value;
  },
};
const SEALED = `sealed:${Buffer.from(JSON.stringify(value)).toString("base64url")}`;

const keysOf = (key: string, prefix = "flet-auth:refresh:") => ({ lock: `${prefix}lock:${key}`, result: `${prefix}result:${key}`, attempt: `${prefix}attempt:${key}` });
const K = keysOf("demo:k");

/** Lets every pending promise chain run (setImmediate is not faked). */
const flush = (): Promise<void> => new Promise((resolve) => {
    setImmediate(() => resolve());
  });

/** Watches a promise without awaiting it. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (v) => Object.assign(state, { settled: true, value: v }),
    (e: unknown) => Object.assign(state, { settled: true, error: e }),
  );
  return state;
}

const short = (log: readonly RecordedCommand[]) => log.map((c) => (c.command === "SET" && c.options.condition === "NX" ? "SET NX" : c.command));
const ownerOf = (log: readonly RecordedCommand[]): string => {
  const set = log.find((c) => c.command === "SET" && c.options.condition === "NX");
  if (set?.command !== "SET") throw new Error("no SET NX");
  return set.value;
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("distributed refresh lock: options", () => {
  const client: RedisRefreshLockClient = { set: async () => "OK", get: async () => null, del: async () => 0 };
  const fn = async (): Promise<number> => 1;

  it("names the first missing client method and says what to pass", () => {
    const message = (m: string) => `createRedisRefreshLock(client): client.${m} must be a function — pass a connected node-redis client (createClient())`;
    expect(() => createRedisRefreshLock({ get: client.get, del: client.del } as unknown as RedisRefreshLockClient)).toThrow(new TypeError(message("set")));
    expect(() => createRedisRefreshLock({ set: client.set, del: client.del } as unknown as RedisRefreshLockClient)).toThrow(new TypeError(message("get")));
    expect(() => createRedisRefreshLock({ set: client.set, get: client.get } as unknown as RedisRefreshLockClient)).toThrow(new TypeError(message("del")));
    expect(() => createRedisRefreshLock(null as unknown as RedisRefreshLockClient)).toThrow(new TypeError(message("set")));
    expect(() => createRedisRefreshLock("redis://localhost" as unknown as RedisRefreshLockClient)).toThrow(new TypeError(message("set")));
    // A client is an object: a function carrying the methods is not one.
    const callable = Object.assign(() => undefined, client);
    expect(() => createRedisRefreshLock(callable as unknown as RedisRefreshLockClient)).toThrow(new TypeError(message("set")));
    expect(() => createRedisRefreshLock(client)).not.toThrow();
  });

  it("refuses options that are not an object", () => {
    for (const bad of [null, "fast", 5]) {
      expect(() => createRedisRefreshLock(client, bad as unknown as RedisRefreshLockOptions)).toThrow(
        new TypeError("createRedisRefreshLock(client, options): options must be an object"),
      );
    }
    expect(() => createRedisRefreshLock(client, undefined)).not.toThrow();
  });

  it.each([
    ["lockMs", 75_000],
    ["graceMs", 60_000],
    ["failureMs", 5_000],
    ["pollMs", 50],
    ["waitMs", 20_000],
    ["commandTimeoutMs", 2_000],
  ] as const)("refuses a %s that is not a positive integer, naming the option and its default (%i)", (name, fallback) => {
    for (const bad of [0, -1, 1.5, "100", Number.NaN]) {
      expect(() => createRedisRefreshLock(client, { [name]: bad })).toThrow(
        new TypeError(`options.${name} must be a positive integer number of milliseconds (default ${fallback})`),
      );
    }
  });

  it("accepts 1 ms, the smallest positive integer", () => {
    expect(() => createRedisRefreshLock(client, { graceMs: 1, failureMs: 1, pollMs: 1 })).not.toThrow();
  });

  it.each([
    [{ pollMs: 100, waitMs: 100 }, "createRedisRefreshLock: options.pollMs (100) must be below options.waitMs (100)"],
    [{ pollMs: 101, waitMs: 100 }, "createRedisRefreshLock: options.pollMs (101) must be below options.waitMs (100)"],
    [{ pollMs: 300, lockMs: 300, commandTimeoutMs: 10 }, "createRedisRefreshLock: options.pollMs (300) must be below options.lockMs (300)"],
    [{ pollMs: 301, lockMs: 300, commandTimeoutMs: 10 }, "createRedisRefreshLock: options.pollMs (301) must be below options.lockMs (300)"],
    [{ lockMs: 2000 }, "createRedisRefreshLock: options.commandTimeoutMs (2000) must be below options.lockMs (2000)"],
    [{ lockMs: 500, commandTimeoutMs: 900 }, "createRedisRefreshLock: options.commandTimeoutMs (900) must be below options.lockMs (500)"],
  ] as const)("cross-checks %j", (options, message) => {
    expect(() => createRedisRefreshLock(client, options)).toThrow(new TypeError(message));
  });

  it("accepts options just below each cross-check", () => {
    expect(() => createRedisRefreshLock(client, { pollMs: 99, waitMs: 100 })).not.toThrow();
    expect(() => createRedisRefreshLock(client, { pollMs: 299, lockMs: 300, commandTimeoutMs: 299 })).not.toThrow();
    expect(() => createRedisRefreshLock(client, { lockMs: 2001 })).not.toThrow();
  });

  it("refuses a prefix that is not a string; an empty prefix is allowed", async () => {
    expect(() => createRedisRefreshLock(client, { prefix: 1 as unknown as string })).toThrow(new TypeError('options.prefix must be a string, e.g. "flet-auth:refresh:"'));
    const redis = memoryRedis();
    const recorder = recordingClient(redis);
    await createRedisRefreshLock(recorder, { prefix: "" }).run("k", async () => value, codec);
    expect(recorder.log[0]).toStrictEqual({ command: "GET", key: "result:k", result: null });
  });

  it.each([
    ["no codec", undefined],
    ["null", null],
    ["an empty object", {}],
    ["encode only", { encode: codec.encode }],
    ["decode only", { decode: codec.decode }],
    ["a function carrying encode and decode", Object.assign(() => undefined, codec)],
    ["a string", "json"],
  ])("run() with %s rejects (never throws) with a TypeError, before any Redis command and without refreshing", async (_what, bad) => {
    const redis = memoryRedis();
    const recorder = recordingClient(redis);
    const lock = createRedisRefreshLock(recorder);
    const refresh = vi.fn(fn);
    let result: Promise<number> | undefined;
    expect(() => (result = lock.run("k", refresh, bad as unknown as RefreshCodec<number>))).not.toThrow();
    await expect(result).rejects.toThrow(
      new TypeError("createRedisRefreshLock: run(key, refresh, codec) needs a codec; sharing a result between processes needs serialisation"),
    );
    expect(refresh).not.toHaveBeenCalled();
    expect(recorder.log).toEqual([]);
  });
});

describe("distributed refresh lock: a leader's commands", () => {
  async function lead(options: RedisRefreshLockOptions = {}, key = "demo:k", withoutEval = false) {
    const redis = memoryRedis();
    const client = recordingClient(redis, { withoutEval });
    const refresh = vi.fn(async () => value);
    await expect(createRedisRefreshLock(client, options).run(key, refresh, codec)).resolves.toEqual(value);
    expect(refresh).toHaveBeenCalledTimes(1);
    return { redis, client, owner: ownerOf(client.log) };
  }

  it("with the defaults: GET result, SET NX PX 75000 lock, GET result, GET attempt, SET attempt PX lockMs+graceMs, SET ok: result PX 60000, EVAL release", async () => {
    const { redis, client, owner } = await lead({}, "github:abc");
    const k = keysOf("github:abc");
    expect(owner).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(client.log).toStrictEqual([
      { command: "GET", key: k.result, result: null },
      { command: "SET", key: k.lock, value: owner, options: { condition: "NX", expiration: { type: "PX", value: 75_000 } }, result: "OK" },
      { command: "GET", key: k.result, result: null },
      { command: "GET", key: k.attempt, result: null },
      { command: "SET", key: k.attempt, value: owner, options: { expiration: { type: "PX", value: 135_000 } }, result: "OK" },
      { command: "SET", key: k.result, value: `ok:${SEALED}`, options: { expiration: { type: "PX", value: 60_000 } }, result: "OK" },
      { command: "EVAL", script: RELEASE_SCRIPT, keys: [k.lock], arguments: [owner], result: 1 },
    ]);
    expect(redis.data.has(k.lock)).toBe(false);
    expect(redis.data.get(k.attempt)).toBe(owner);
    expect(redis.data.get(k.result)).toBe(`ok:${SEALED}`);
  });

  it("a custom prefix, lockMs and graceMs go to every key and PX", async () => {
    const { client, owner } = await lead({ prefix: "app1:", lockMs: 4321, graceMs: 98_765 }, "x");
    const k = keysOf("x", "app1:");
    expect(client.log.filter((c) => c.command === "SET")).toStrictEqual([
      { command: "SET", key: k.lock, value: owner, options: { condition: "NX", expiration: { type: "PX", value: 4321 } }, result: "OK" },
      { command: "SET", key: k.attempt, value: owner, options: { expiration: { type: "PX", value: 4321 + 98_765 } }, result: "OK" },
      { command: "SET", key: k.result, value: `ok:${SEALED}`, options: { expiration: { type: "PX", value: 98_765 } }, result: "OK" },
    ]);
  });

  it("without eval, releases with GET lock then DEL while the lock is still its own", async () => {
    const { redis, client, owner } = await lead({}, "demo:k", true);
    expect(client.log.slice(-2)).toStrictEqual([
      { command: "GET", key: K.lock, result: owner },
      { command: "DEL", key: K.lock, result: 1 },
    ]);
    expect(redis.data.has(K.lock)).toBe(false);
  });

  it.each([
    ["EVAL", false],
    ["GET + DEL", true],
  ])("%s release leaves a lock another instance took after ours lapsed", async (_name, withoutEval) => {
    const redis = memoryRedis();
    const client = recordingClient(redis, { withoutEval });
    await createRedisRefreshLock(client).run("demo:k", async () => (redis.data.set(K.lock, "someone-else"), value), codec);
    expect(redis.data.get(K.lock)).toBe("someone-else");
    expect(short(client.log)).not.toContain("DEL");
  });

  it("a FletAuthError from the refresh is stored as `err:` + its public fields for failureMs; the attempt mark goes, the lock is released", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const boom = new FletAuthError("refresh_failed", "(temporarily_unavailable) down", { status: 502, oauthError: "temporarily_unavailable", description: "down" });
    await expect(createRedisRefreshLock(client, { failureMs: 777 }).run("demo:k", async () => Promise.reject(boom), codec)).rejects.toBe(boom);
    const owner = ownerOf(client.log);
    expect(client.log.slice(4)).toStrictEqual([
      { command: "SET", key: K.attempt, value: owner, options: { expiration: { type: "PX", value: 135_000 } }, result: "OK" },
      {
        command: "SET",
        key: K.result,
        value: `err:${JSON.stringify({ code: "refresh_failed", status: 502, message: "(temporarily_unavailable) down", oauthError: "temporarily_unavailable", description: "down" })}`,
        options: { expiration: { type: "PX", value: 777 } },
        result: "OK",
      },
      { command: "DEL", key: K.attempt, result: 1 },
      { command: "EVAL", script: RELEASE_SCRIPT, keys: [K.lock], arguments: [owner], result: 1 },
    ]);
    expect(redis.data.has(K.attempt)).toBe(false);
    expect(redis.data.has(K.lock)).toBe(false);
  });

  it("any other error is stored as a generic refresh_failed (502), its message left out; a plain error's `code` does not make the outcome unknown", async () => {
    const redis = memoryRedis();
    const boom = Object.assign(new Error("socket hang up at https://user:secret@idp.example/token"), { code: "provider_timeout" });
    await expect(createRedisRefreshLock(recordingClient(redis)).run("demo:k", async () => Promise.reject(boom), codec)).rejects.toBe(boom);
    expect(redis.data.get(K.result)).toBe(`err:${JSON.stringify({ code: "refresh_failed", status: 502, message: "Refreshing the token failed." })}`);
    expect(redis.data.has(K.attempt)).toBe(false);
    expect(redis.data.has(K.lock)).toBe(false);
  });

  it("a provider_timeout (outcome unknown) is stored as a failure but keeps the attempt mark; the lock is released", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const timeout = new FletAuthError("provider_timeout", "no answer within 60000 ms.");
    await expect(createRedisRefreshLock(client).run("demo:k", async () => Promise.reject(timeout), codec)).rejects.toBe(timeout);
    expect(redis.data.get(K.result)).toBe(`err:${JSON.stringify({ code: "provider_timeout", status: 504, message: "no answer within 60000 ms." })}`);
    expect(short(client.log)).not.toContain("DEL");
    expect(redis.data.get(K.attempt)).toBe(ownerOf(client.log));
    expect(redis.data.has(K.lock)).toBe(false);
  });

  it("a result the codec cannot encode keeps the lock and the attempt mark; the caller still gets its value", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const unencodable: RefreshCodec<Value> = { ...codec, encode: async () => Promise.reject(new Error("no secret")) };
    await expect(createRedisRefreshLock(client).run("demo:k", async () => value, unencodable)).resolves.toEqual(value);
    expect(short(client.log)).toEqual(["GET", "SET NX", "GET", "GET", "SET"]);
    expect(redis.data.get(K.lock)).toBe(ownerOf(client.log));
    expect(redis.data.get(K.attempt)).toBe(ownerOf(client.log));
    expect(redis.data.has(K.result)).toBe(false);
  });

  it("a result whose SET fails keeps the lock and the attempt mark too", async () => {
    const redis = memoryRedis();
    const client = recordingClient({
      ...redis,
      set: async (key, v, o) => (key === K.result ? Promise.reject(new Error("OOM command not allowed")) : redis.set(key, v, o)),
    });
    await expect(createRedisRefreshLock(client).run("demo:k", async () => value, codec)).resolves.toEqual(value);
    expect(short(client.log)).not.toContain("EVAL");
    expect(redis.data.has(K.lock)).toBe(true);
    expect(redis.data.has(K.attempt)).toBe(true);
  });

  it("an attempt mark without an outcome (a dead leader): 503 without refreshing; the mark stays, the lock it took to look is released", async () => {
    const redis = memoryRedis();
    redis.data.set(K.attempt, "dead-leader");
    const client = recordingClient(redis);
    const refresh = vi.fn(async () => value);
    const err = await createRedisRefreshLock(client).run("demo:k", refresh, codec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FletAuthError);
    expect(err).toMatchObject({ code: "refresh_failed", status: 503, message: "A refresh of this token was started elsewhere and its outcome is unknown; try again shortly." });
    expect(refresh).not.toHaveBeenCalled();
    expect(redis.data.get(K.attempt)).toBe("dead-leader");
    expect(redis.data.has(K.lock)).toBe(false);
    expect(short(client.log)).toEqual(["GET", "SET NX", "GET", "GET", "EVAL"]);
  });

  it("a result stored between its first look and taking the lock is used without refreshing, and the lock released", async () => {
    const redis = memoryRedis();
    const client = recordingClient({
      ...redis,
      set: async (key, v, o) => {
        const answer = await redis.set(key, v, o);
        if (key === K.lock) redis.data.set(K.result, `ok:${SEALED}`); // another leader just finished
        return answer;
      },
    });
    const refresh = vi.fn(async () => ({ accessToken: "second refresh" }));
    await expect(createRedisRefreshLock(client).run("demo:k", refresh, codec)).resolves.toEqual(value);
    expect(refresh).not.toHaveBeenCalled();
    expect(short(client.log)).toEqual(["GET", "SET NX", "GET", "EVAL"]);
    expect(redis.data.has(K.lock)).toBe(false);
    expect(redis.data.has(K.attempt)).toBe(false);
  });

  it("concurrent callers in one process make one distributed attempt", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const lock = createRedisRefreshLock(client);
    const refresh = vi.fn(async () => value);
    const all = await Promise.all([lock.run("demo:k", refresh, codec), lock.run("demo:k", refresh, codec), lock.run("demo:k", refresh, codec)]);
    expect(all).toEqual([value, value, value]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(short(client.log).filter((c) => c === "SET NX")).toHaveLength(1);
  });

  it("keeps a success in process for graceMs and a failure for failureMs, then asks Redis again", async () => {
    const redis = memoryRedis();
    const client = recordingClient(redis);
    const lock = createRedisRefreshLock(client, { graceMs: 1000, failureMs: 300 });
    await lock.run("demo:k", async () => value, codec);
    const sent = client.log.length;
    vi.advanceTimersByTime(999);
    await expect(lock.run("demo:k", async () => ({ accessToken: "x" }), codec)).resolves.toEqual(value);
    expect(client.log).toHaveLength(sent);
    vi.advanceTimersByTime(1);
    await expect(lock.run("demo:k", async () => ({ accessToken: "x" }), codec)).resolves.toEqual(value);
    expect(client.log.slice(sent)).toStrictEqual([{ command: "GET", key: K.result, result: `ok:${SEALED}` }]);

    const boom = new FletAuthError("refresh_failed", "refused", { status: 400, oauthError: "invalid_grant" });
    await expect(lock.run("demo:f", async () => Promise.reject(boom), codec)).rejects.toBe(boom);
    const afterFailure = client.log.length;
    vi.advanceTimersByTime(299);
    await expect(lock.run("demo:f", async () => value, codec)).rejects.toBe(boom);
    expect(client.log).toHaveLength(afterFailure);
    vi.advanceTimersByTime(1);
    await expect(lock.run("demo:f", async () => value, codec)).rejects.toMatchObject({ code: "refresh_failed", message: "refused", oauthError: "invalid_grant" });
    expect(client.log).toHaveLength(afterFailure + 1);
  });
});

describe("distributed refresh lock: outcomes stored by another instance", () => {
  async function runWith(stored: string, c: RefreshCodec<Value> = codec) {
    const redis = memoryRedis();
    redis.data.set(K.result, stored);
    const client = recordingClient(redis);
    const refresh = vi.fn(async () => ({ accessToken: "would refresh" }));
    const outcome = await createRedisRefreshLock(client).run("demo:k", refresh, c).then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    expect(refresh).not.toHaveBeenCalled();
    expect(short(client.log)).toEqual(["GET"]); // no lock taken
    return outcome;
  }

  it("an `ok:` result is decoded from the text after the prefix", async () => {
    const seen: string[] = [];
    const spy: RefreshCodec<Value> = { encode: codec.encode, decode: async (text) => (seen.push(text), codec.decode(text)) };
    expect(await runWith(`ok:${SEALED}`, spy)).toEqual({ ok: true, v: value });
    expect(seen).toEqual([SEALED]);
  });

  it("an `ok:` result the codec refuses rejects with the codec's error", async () => {
    const strict: RefreshCodec<Value> = {
      encode: codec.encode,
      decode: async (text) => Promise.reject(new FletAuthError("refresh_failed", `does not open: ${text}`, { status: 503 })),
    };
    const outcome = await runWith("ok:garbage", strict);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.e).toMatchObject({ code: "refresh_failed", status: 503, message: "does not open: garbage" });
  });

  it("an `err:` result is rebuilt as the same FletAuthError (code, status, message, oauthError, description)", async () => {
    const fields = { code: "provider_timeout", status: 504, message: "took too long", oauthError: "temporarily_unavailable", description: "later" };
    const outcome = await runWith(`err:${JSON.stringify(fields)}`);
    const err = !outcome.ok ? outcome.e : undefined;
    expect(err).toBeInstanceOf(FletAuthError);
    expect(err).toMatchObject(fields);
  });

  it.each([
    ["no known prefix (an older format)", "sealed:abc"],
    ["an unreadable failure", "err:{not json"],
    ["a failure with an unknown code and fields of the wrong types", `err:${JSON.stringify({ code: "made_up", status: "x", message: 7, oauthError: 1, description: false })}`],
    ["a failure whose code is not a string", `err:${JSON.stringify({ code: 401 })}`],
  ])("%s is a generic refresh_failed (502)", async (_what, stored) => {
    const outcome = await runWith(stored);
    const err = !outcome.ok ? outcome.e : undefined;
    expect(err).toBeInstanceOf(FletAuthError);
    expect(err).toMatchObject({ code: "refresh_failed", status: 502, message: "Refreshing the token failed." });
    expect((err as FletAuthError).oauthError).toBeUndefined();
    expect((err as FletAuthError).description).toBeUndefined();
  });
});

describe("distributed refresh lock: Redis failures", () => {
  /** Fails the `n`th command (1-based) with an error that carries credentials. */
  function failingAt(redis: MemoryRedis, n: number): RedisRefreshLockClient {
    let calls = 0;
    const gate = <R>(call: () => Promise<R>): Promise<R> => {
      calls += 1;
      return calls === n ? Promise.reject(new Error("connect ECONNREFUSED redis://admin:hunter2@10.0.0.5:6379")) : call();
    };
    return {
      set: (key, v, o) => gate(() => redis.set(key, v, o)),
      get: (key) => gate(() => redis.get(key)),
      del: (key) => gate(() => redis.del(key)),
      eval: (script, o) => gate(() => redis.eval(script, o)),
    };
  }

  it.each([
    [1, "GET"],
    [2, "SET NX"],
    [3, "GET"],
    [4, "GET"],
    [5, "SET"],
  ] as const)("command %i (%s) failing rejects with refresh_failed (503) naming it, without refreshing", async (n, name) => {
    const redis = memoryRedis();
    const refresh = vi.fn(async () => value);
    const err = await createRedisRefreshLock(failingAt(redis, n)).run("demo:k", refresh, codec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FletAuthError);
    expect(err).toMatchObject({ code: "refresh_failed", status: 503, message: `The refresh lock's Redis ${name} failed.` });
    const cause = (err as FletAuthError).cause as Error;
    expect(cause.message).toBe("connect ECONNREFUSED redis://***@10.0.0.5:6379");
    expect(refresh).not.toHaveBeenCalled();
    // A lock it took is given back; no attempt was marked.
    expect(redis.data.has(K.lock)).toBe(false);
    expect(redis.data.has(K.attempt)).toBe(false);
  });

  it("a command that does not answer within commandTimeoutMs fails with 503 and a cause saying so", async () => {
    const hanging: RedisRefreshLockClient = { set: async () => "OK", get: () => new Promise<string | null>(() => undefined), del: async () => 0 };
    const state = track(createRedisRefreshLock(hanging, { commandTimeoutMs: 10 }).run("demo:k", async () => value, codec));
    await vi.advanceTimersByTimeAsync(9);
    expect(state.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(state.error).toBeInstanceOf(FletAuthError);
    expect(state.error).toMatchObject({ code: "refresh_failed", status: 503, message: "The refresh lock's Redis GET failed." });
    expect(((state.error as FletAuthError).cause as Error).message).toBe("no answer within 10 ms");
  });
});

describe("distributed refresh lock: waiting for another instance", () => {
  it("a refused instance polls every pollMs (GET result, SET NX) and takes the leader's result; it never refreshes or releases", async () => {
    const redis = memoryRedis();
    redis.data.set(K.lock, "other-instance");
    const client = recordingClient(redis);
    const refresh = vi.fn(async () => ({ accessToken: "second refresh" }));
    const state = track(createRedisRefreshLock(client, { pollMs: 50, waitMs: 1000 }).run("demo:k", refresh, codec));
    await flush();
    expect(short(client.log)).toEqual(["GET", "SET NX"]);
    await vi.advanceTimersByTimeAsync(49);
    expect(client.log).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(short(client.log)).toEqual(["GET", "SET NX", "GET", "SET NX"]);
    redis.data.set(K.result, `ok:${SEALED}`);
    await vi.advanceTimersByTimeAsync(50);
    await flush();
    expect(state).toStrictEqual({ settled: true, value });
    expect(refresh).not.toHaveBeenCalled();
    expect(short(client.log)).toEqual(["GET", "SET NX", "GET", "SET NX", "GET"]);
    for (const c of client.log) {
      if (c.command === "SET") expect(c).toMatchObject({ key: K.lock, options: { condition: "NX", expiration: { type: "PX", value: 75_000 } }, result: null });
    }
    expect(redis.data.get(K.lock)).toBe("other-instance");
  });

  it("gives up exactly waitMs after it started, its last sleep cut to the deadline, with refresh_failed (503)", async () => {
    const redis = memoryRedis();
    redis.data.set(K.lock, "other-instance");
    const client = recordingClient(redis);
    const refresh = vi.fn(async () => value);
    const state = track(createRedisRefreshLock(client, { pollMs: 60, waitMs: 100 }).run("demo:k", refresh, codec));
    await flush();
    await vi.advanceTimersByTimeAsync(60);
    await flush();
    expect(short(client.log).filter((c) => c === "SET NX")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(39);
    await flush();
    expect(state.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(state.error).toBeInstanceOf(FletAuthError);
    expect(state.error).toMatchObject({
      code: "refresh_failed",
      status: 503,
      message: "Another instance is refreshing this token and did not finish within 100 ms; try again.",
    });
    expect(short(client.log).filter((c) => c === "SET NX")).toHaveLength(3);
    expect(refresh).not.toHaveBeenCalled();
  });

  it("takes over when the other instance's lock lapses and no attempt mark is left", async () => {
    const redis = memoryRedis();
    redis.data.set(K.lock, "other-instance");
    const client = recordingClient(redis);
    const refresh = vi.fn(async () => value);
    const state = track(createRedisRefreshLock(client, { pollMs: 50, waitMs: 1000 }).run("demo:k", refresh, codec));
    await flush();
    redis.data.delete(K.lock); // expired
    await vi.advanceTimersByTimeAsync(50);
    await flush();
    expect(state).toStrictEqual({ settled: true, value });
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});
