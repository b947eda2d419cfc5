/**
 * createRedisRefreshLock against a real redis-server: two lock instances (two clients, as two
 * processes would hold them) share one refresh per key; a failed leader hands over; a stuck leader
 * makes waiters fail with 503; the stored result is the codec's text. Factory validation and
 * Redis failures need no server.
 */
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  FletAuthError,
  createRedisRefreshLock,
  type RedisRefreshLockClient,
  type RefreshCodec,
} from "../../lib/index.js";
import { findRedisServerOrWarn, useRedisServer, type RedisClient } from "../helpers/redis-server.js";
import { useServerLifecycle } from "../helpers/refresh-harness.js";
import { deferred } from "../helpers/deferred.js";

const REDIS_BINARY = findRedisServerOrWarn("refresh-lock-redis", "the distributed refresh lock suite");

interface Value {
  readonly accessToken: string;
}


/** A refresh function that counts its calls and waits for the test to settle it. */
function controlledRefresh<T>(): { fn: () => Promise<T>; calls: () => number; settle: ReturnType<typeof deferred<T>> } {
  const settle = deferred<T>();
  let calls = 0;
  return {
    fn: () => {
      calls += 1;
      return settle.promise;
    },
    calls: () => calls,
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts the commands a lock sends; `withoutEval` hides EVAL to exercise the GET + DEL release. */
function countingClient(client: RedisClient, { withoutEval = false } = {}): RedisRefreshLockClient & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    set: (key, value, options) => (commands.push(`SET ${options.condition ?? ""}`.trim()), client.set(key, value, options)),
    get: (key) => (commands.push("GET"), client.get(key)),
    del: (key) => (commands.push("DEL"), client.del(key)),
    ...(withoutEval ? {} : { eval: (script: string, options: { keys: string[]; arguments: string[] }) => (commands.push("EVAL"), client.eval(script, options)) }),
  };
}

describe("createRedisRefreshLock: options", () => {
  const client: RedisRefreshLockClient = { set: async () => "OK", get: async () => null, del: async () => 0 };

  it("refuses a client without set/get/del, saying what to pass", () => {
    expect(() => createRedisRefreshLock({} as RedisRefreshLockClient)).toThrow(/client\.set must be a function.*createClient/);
    expect(() => createRedisRefreshLock(undefined as unknown as RedisRefreshLockClient)).toThrow(TypeError);
  });

  it.each([["lockMs"], ["graceMs"], ["pollMs"], ["waitMs"]])("refuses a non-positive or fractional %s", (name) => {
    for (const bad of [0, -1, 1.5, "100", Number.NaN]) {
      expect(() => createRedisRefreshLock(client, { [name]: bad })).toThrow(new RegExp(`options\\.${name} must be a positive integer`));
    }
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

describe.skipIf(REDIS_BINARY === undefined)("createRedisRefreshLock with a real redis-server", () => {
  const redis = useRedisServer(REDIS_BINARY, "refresh-lock-redis");
  let prefix: string;
  useServerLifecycle();

  /** Two "processes": each its own client and its own lock. */
  async function twoInstances(options: Parameters<typeof createRedisRefreshLock>[1] = {}) {
    const a = createRedisRefreshLock(await redis.client(), { prefix, ...options });
    const b = createRedisRefreshLock(await redis.client(), { prefix, ...options });
    return { a, b };
  }

  beforeEach(() => {
    prefix = `flet-auth-test:${randomBytes(6).toString("hex")}:`;
  });

  describe("single flight across instances", () => {
    it("two instances racing one key: fn runs once and both get the decoded value", async () => {
      const { a, b } = await twoInstances();
      const fa = controlledRefresh<Value>();
      const fb = controlledRefresh<Value>();
      const onA = a.run("demo:k1", fa.fn, codec);
      const onB = b.run("demo:k1", fb.fn, codec);
      await vi.waitFor(() => expect(fa.calls() + fb.calls()).toBe(1));
      await sleep(150); // the other instance is polling by now
      const value = { accessToken: "new-access" };
      fa.settle.resolve(value);
      fb.settle.resolve(value);
      const [ra, rb] = await Promise.all([onA, onB]);
      expect(ra).toEqual(value);
      expect(rb).toEqual(value);
      expect(fa.calls() + fb.calls()).toBe(1);
    });

    it("concurrent callers in one instance make one distributed attempt (one SET NX)", async () => {
      const client = countingClient(await redis.client());
      const lock = createRedisRefreshLock(client, { prefix });
      const refresh = controlledRefresh<Value>();
      const callers = Array.from({ length: 25 }, () => lock.run("demo:k2", refresh.fn, codec));
      await vi.waitFor(() => expect(refresh.calls()).toBe(1));
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

    it("stores what the codec encoded (never the plain value), for graceMs, and releases the lock", async () => {
      const { a } = await twoInstances({ graceMs: 60_000 });
      const value = { accessToken: "plain-access-token-value" };
      await a.run("demo:k4", async () => value, codec);
      const stored = await redis.inspector.get(`${prefix}result:demo:k4`);
      expect(stored).toBe(await codec.encode(value));
      expect(stored).not.toContain(value.accessToken);
      const ttl = await redis.inspector.pTTL(`${prefix}result:demo:k4`);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await redis.inspector.exists(`${prefix}lock:demo:k4`)).toBe(0);
      for (const key of await redis.inspector.keys(`${prefix}*`)) expect(key).not.toContain(value.accessToken);
    });
  });

  describe("leader failure", () => {
    it("the leader's rejection goes to its callers; a waiting instance takes over and its own fn runs", async () => {
      const { a, b } = await twoInstances();
      const fa = controlledRefresh<Value>();
      const onA = a.run("demo:k5", fa.fn, codec);
      await vi.waitFor(() => expect(fa.calls()).toBe(1));
      const fb = vi.fn(async () => ({ accessToken: "from-b" }));
      const onB = b.run("demo:k5", fb, codec);
      await sleep(150);
      expect(fb).not.toHaveBeenCalled(); // B waits while A holds the lock
      const boom = new Error("provider down");
      fa.settle.reject(boom);
      await expect(onA).rejects.toBe(boom);
      await expect(onB).resolves.toEqual({ accessToken: "from-b" });
      expect(fb).toHaveBeenCalledTimes(1);
      // A failure is not kept: A's next call gets B's stored result.
      await expect(a.run("demo:k5", fa.fn, codec)).resolves.toEqual({ accessToken: "from-b" });
    });

    it("a leader whose lock lapsed (crashed) is replaced after lockMs", async () => {
      const { a, b } = await twoInstances({ lockMs: 200 });
      const stuck = controlledRefresh<Value>();
      void a.run("demo:k6", stuck.fn, codec).catch(() => undefined);
      await vi.waitFor(() => expect(stuck.calls()).toBe(1));
      const fb = vi.fn(async () => ({ accessToken: "after-lapse" }));
      await expect(b.run("demo:k6", fb, codec)).resolves.toEqual({ accessToken: "after-lapse" });
      expect(fb).toHaveBeenCalledTimes(1);
      stuck.settle.resolve({ accessToken: "late" });
    });
  });

  describe("waitMs", () => {
    it("a waiter whose leader does not finish in time fails with refresh_failed (503)", async () => {
      const { a, b } = await twoInstances({ waitMs: 300 });
      const stuck = controlledRefresh<Value>();
      const onA = a.run("demo:k7", stuck.fn, codec);
      await vi.waitFor(() => expect(stuck.calls()).toBe(1));
      const fb = vi.fn(async () => ({ accessToken: "never" }));
      const err = await b.run("demo:k7", fb, codec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FletAuthError);
      expect(err).toMatchObject({ code: "refresh_failed", status: 503 });
      expect((err as Error).message).toMatch(/another instance holds the refresh lock/i);
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
      const client = countingClient(await redis.client(), { withoutEval });
      const lock = createRedisRefreshLock(client, { prefix, lockMs: 100 });
      const slow = controlledRefresh<Value>();
      const run = lock.run("demo:k8", slow.fn, codec);
      await vi.waitFor(() => expect(slow.calls()).toBe(1));
      await sleep(200);
      await redis.inspector.set(`${prefix}lock:demo:k8`, "someone-else", { expiration: { type: "PX", value: 10_000 } });
      slow.settle.resolve({ accessToken: "v" });
      await expect(run).resolves.toEqual({ accessToken: "v" });
      expect(await redis.inspector.get(`${prefix}lock:demo:k8`)).toBe("someone-else");
      expect(client.commands.includes("EVAL")).toBe(!withoutEval);
    });

    it("releases its own lock without eval too", async () => {
      const client = countingClient(await redis.client(), { withoutEval: true });
      const lock = createRedisRefreshLock(client, { prefix });
      await lock.run("demo:k9", async () => ({ accessToken: "v" }), codec);
      expect(await redis.inspector.exists(`${prefix}lock:demo:k9`)).toBe(0);
      expect(client.commands).toContain("DEL");
    });
  });

  describe("codec", () => {
    it("a result that does not decode rejects with the codec's error, without refreshing", async () => {
      await redis.inspector.set(`${prefix}result:demo:k10`, "garbage", { expiration: { type: "PX", value: 10_000 } });
      const strict: RefreshCodec<Value> = {
        encode: codec.encode,
        decode: async () => {
          throw new FletAuthError("refresh_failed", "does not open", { status: 503 });
        },
      };
      const fn = vi.fn(async () => ({ accessToken: "x" }));
      const lock = createRedisRefreshLock(await redis.client(), { prefix });
      await expect(lock.run("demo:k10", fn, strict)).rejects.toMatchObject({ code: "refresh_failed", message: "does not open" });
      expect(fn).not.toHaveBeenCalled();
    });
  });
});
