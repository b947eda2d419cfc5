/**
 * createRedisStore (lib/store/redis.ts) in-process, over an in-memory client
 * (test/helpers/store-clients.ts) that records each command: the exact commands and arguments it
 * sends (prefixed keys, PX lifetimes, NX, the MGET and compare-and-set scripts), how it reads
 * the replies, its option checks, and how a failing or silent client surfaces — a 503
 * `session_unavailable` whose cause carries no credentials, after exactly `commandTimeoutMs`
 * (timers are faked; nothing sleeps).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRedisStore, FletAuthError, type RedisRefreshLockClient, type RedisStoreOptions } from "../../../lib/index.js";
import { FakeStoreClient, MGET_SCRIPT, SWAP_SCRIPT } from "../../helpers/store-clients.js";

/** The rejection of `promise`, failing the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<FletAuthError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(FletAuthError);
  return outcome.error as FletAuthError;
}

describe("createRedisStore: the commands it sends", () => {
  it("set: SET <prefix><key> value PX ttl, without a condition; true on OK", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    expect(await store.set("series:abc", "value-1", 86_400_000)).toBe(true);
    expect(client.calls).toStrictEqual([
      { method: "set", key: "flet-auth:series:abc", value: "value-1", options: { expiration: { type: "PX", value: 86_400_000 } } },
    ]);
    expect(client.peek("flet-auth:series:abc")).toBe("value-1");
  });

  it("set with ifAbsent: SET … NX PX; false when Redis answers null (the key exists)", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client, { prefix: "app1:" });
    expect(await store.set("state:h", "x", 600_000, { ifAbsent: true })).toBe(true);
    expect(await store.set("state:h", "y", 600_000, { ifAbsent: true })).toBe(false);
    const nx = { key: "app1:state:h", options: { condition: "NX", expiration: { type: "PX", value: 600_000 } } };
    expect(client.calls).toStrictEqual([
      { method: "set", value: "x", ...nx },
      { method: "set", value: "y", ...nx },
    ]);
  });

  it("set with ifAbsent: false sends no condition", async () => {
    const client = new FakeStoreClient();
    await createRedisStore(client).set("k", "v", 1000, { ifAbsent: false });
    expect(client.calls).toStrictEqual([{ method: "set", key: "flet-auth:k", value: "v", options: { expiration: { type: "PX", value: 1000 } } }]);
  });

  it.each([
    [0, 1],
    [-5000, 1],
    [0.2, 1],
    [1, 1],
    [1.5, 2],
    [999.01, 1000],
  ])("a ttl of %s ms is sent as PX %s (a positive whole number, as Redis requires)", async (ttlMs, px) => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    expect(await store.set("k", "v", ttlMs)).toBe(true);
    expect(await store.set("k", "v2", ttlMs, { ifAbsent: true })).toBe(false);
    expect(await store.swap("k", "v", "v3", ttlMs)).toBe(true);
    expect(client.calls).toStrictEqual([
      { method: "set", key: "flet-auth:k", value: "v", options: { expiration: { type: "PX", value: px } } },
      { method: "set", key: "flet-auth:k", value: "v2", options: { condition: "NX", expiration: { type: "PX", value: px } } },
      { method: "eval", script: SWAP_SCRIPT, keys: ["flet-auth:k"], arguments: ["v", "v3", String(px)] },
    ]);
    expect(client.pttl("flet-auth:k")).toBe(px);
  });

  it("set answers false for any reply but OK", async () => {
    const client = new FakeStoreClient();
    const odd: RedisRefreshLockClient = { get: client.get.bind(client), del: client.del.bind(client), eval: client.eval.bind(client), set: () => Promise.resolve("QUEUED") };
    expect(await createRedisStore(odd).set("k", "v", 1000)).toBe(false);
  });

  it("getMany: one EVAL of the MGET script with the prefixed keys and no arguments", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client, { prefix: "p:" });
    await store.set("b", "2", 1000);
    client.calls.length = 0;
    expect(await store.getMany(["a", "b", "a"])).toStrictEqual([undefined, "2", undefined]);
    expect(client.calls).toStrictEqual([{ method: "eval", script: MGET_SCRIPT, keys: ["p:a", "p:b", "p:a"], arguments: [] }]);
  });

  it("getMany of no keys sends nothing (Redis's MGET would reject an empty list)", async () => {
    const client = new FakeStoreClient();
    expect(await createRedisStore(client).getMany([])).toStrictEqual([]);
    expect(client.calls).toStrictEqual([]);
  });

  it.each([
    ["null", null],
    ["a number", 3],
    ["a string", "2"],
    ["an object", { 0: "x", length: 1 }],
  ])("getMany reads a reply that is not a list (%s) as all missing", async (_name, reply) => {
    const client = new FakeStoreClient();
    const odd: RedisRefreshLockClient = { set: client.set.bind(client), get: client.get.bind(client), del: client.del.bind(client), eval: () => Promise.resolve(reply) };
    expect(await createRedisStore(odd).getMany(["a", "b"])).toStrictEqual([undefined, undefined]);
  });

  it("getMany keeps only string entries, by position; a short reply leaves the rest missing", async () => {
    const client = new FakeStoreClient();
    const reply = ["one", null, 7, Buffer.from("buf"), "five"];
    const odd: RedisRefreshLockClient = { set: client.set.bind(client), get: client.get.bind(client), del: client.del.bind(client), eval: () => Promise.resolve(reply) };
    expect(await createRedisStore(odd).getMany(["1", "2", "3", "4", "5", "6"])).toStrictEqual(["one", undefined, undefined, undefined, "five", undefined]);
  });

  it("swap: one EVAL of the compare-and-set script: KEYS = [prefixed key], ARGV = [expected, value, PX]", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client, { prefix: "" });
    await store.set("series:s", "n1", 1000);
    client.calls.length = 0;
    expect(await store.swap("series:s", "n1", "n2", 2_592_000_000)).toBe(true);
    expect(await store.swap("series:s", "n1", "n3", 2_592_000_000)).toBe(false);
    const call = { method: "eval", script: SWAP_SCRIPT, keys: ["series:s"] };
    expect(client.calls).toStrictEqual([
      { ...call, arguments: ["n1", "n2", "2592000000"] },
      { ...call, arguments: ["n1", "n3", "2592000000"] },
    ]);
    expect(client.peek("series:s")).toBe("n2");
  });

  it.each([
    [1, true],
    ["1", true],
    [0, false],
    ["0", false],
    ["OK", false],
    [null, false],
    [true, false],
  ])("swap reads the script's reply %j as %s", async (reply, swapped) => {
    const client = new FakeStoreClient();
    const odd: RedisRefreshLockClient = { set: client.set.bind(client), get: client.get.bind(client), del: client.del.bind(client), eval: () => Promise.resolve(reply) };
    expect(await createRedisStore(odd).swap("k", "a", "b", 1000)).toBe(swapped);
  });

  it("delete: DEL <prefix><key>, resolving to nothing whether or not the key existed", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client, { prefix: "x:" });
    await store.set("k", "v", 1000);
    client.calls.length = 0;
    await expect(store.delete("k")).resolves.toBeUndefined();
    await expect(store.delete("k")).resolves.toBeUndefined();
    expect(client.calls).toStrictEqual([
      { method: "del", key: "x:k" },
      { method: "del", key: "x:k" },
    ]);
    expect(client.peek("x:k")).toBeUndefined();
  });

  it("two stores with different prefixes on one client do not see each other's keys", async () => {
    const client = new FakeStoreClient();
    const one = createRedisStore(client, { prefix: "one:" });
    const two = createRedisStore(client, { prefix: "two:" });
    await one.set("k", "from-one", 1000);
    expect(await two.getMany(["k"])).toStrictEqual([undefined]);
    expect(await two.set("k", "from-two", 1000, { ifAbsent: true })).toBe(true);
    expect(await one.getMany(["k"])).toStrictEqual(["from-one"]);
    expect(client.peek("one:k")).toBe("from-one");
    expect(client.peek("two:k")).toBe("from-two");
  });

  it("never sends GET: reads go through the MGET script", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    await store.set("k", "v", 1000);
    await store.getMany(["k"]);
    await store.swap("k", "v", "w", 1000);
    await store.delete("k");
    expect(client.calls.map((c) => c.method)).toStrictEqual(["set", "eval", "eval", "del"]);
  });
});

describe("createRedisStore: arguments", () => {
  const complete = (): Record<string, unknown> => {
    const client = new FakeStoreClient();
    return { set: client.set.bind(client), get: client.get.bind(client), del: client.del.bind(client), eval: client.eval.bind(client) };
  };

  it.each(["set", "get", "del", "eval"])("a client without %s is refused with a TypeError naming it", (method) => {
    const client = complete();
    delete client[method];
    expect(() => createRedisStore(client as unknown as RedisRefreshLockClient)).toThrow(
      new TypeError(`createRedisStore(client): client.${method} must be a function — pass a connected node-redis client (createClient())`),
    );
    client[method] = "not a function";
    expect(() => createRedisStore(client as unknown as RedisRefreshLockClient)).toThrow(TypeError);
  });

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["a string", "redis://localhost"],
  ])("a client that is %s is refused with the same TypeError, not a property-access crash", (_name, client) => {
    expect(() => createRedisStore(client as unknown as RedisRefreshLockClient)).toThrow(
      new TypeError("createRedisStore(client): client.set must be a function — pass a connected node-redis client (createClient())"),
    );
  });

  it("a client with all four methods is accepted, a class instance included", () => {
    expect(() => createRedisStore(complete() as unknown as RedisRefreshLockClient)).not.toThrow();
    expect(() => createRedisStore(new FakeStoreClient())).not.toThrow();
  });

  it.each([5, false, {}, ["a:"]])("a prefix that is not a string (%j) is refused", (prefix) => {
    expect(() => createRedisStore(new FakeStoreClient(), { prefix } as unknown as RedisStoreOptions)).toThrow(
      new TypeError('createRedisStore: options.prefix must be a string, e.g. "flet-auth:"'),
    );
  });

  it('the default prefix is "flet-auth:"; an empty prefix is allowed and used as is', async () => {
    const client = new FakeStoreClient();
    await createRedisStore(client).set("k", "default", 1000);
    await createRedisStore(client, {}).set("k2", "empty-options", 1000);
    await createRedisStore(client, { prefix: "" }).set("k", "bare", 1000);
    expect(client.calls.map((c) => (c.method === "set" ? c.key : c.method))).toStrictEqual(["flet-auth:k", "flet-auth:k2", "k"]);
  });

  it.each([0, -1, 60_001, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "2000", false])("commandTimeoutMs %j is refused", (commandTimeoutMs) => {
    expect(() => createRedisStore(new FakeStoreClient(), { commandTimeoutMs } as unknown as RedisStoreOptions)).toThrow(
      new TypeError("createRedisStore: options.commandTimeoutMs must be an integer from 1 to 60000 (milliseconds)"),
    );
  });

  it.each([1, 60_000, undefined])("commandTimeoutMs %j is accepted", (commandTimeoutMs) => {
    expect(() => createRedisStore(new FakeStoreClient(), { commandTimeoutMs })).not.toThrow();
  });
});

describe("createRedisStore: a failing or silent client", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ["getMany", "MGET", (s: ReturnType<typeof createRedisStore>) => s.getMany(["a"])],
    ["set", "SET", (s: ReturnType<typeof createRedisStore>) => s.set("a", "v", 1000)],
    ["set ifAbsent", "SET", (s: ReturnType<typeof createRedisStore>) => s.set("a", "v", 1000, { ifAbsent: true })],
    ["swap", "SWAP", (s: ReturnType<typeof createRedisStore>) => s.swap("a", "v", "w", 1000)],
    ["delete", "DEL", (s: ReturnType<typeof createRedisStore>) => s.delete("a")],
  ])("%s: a rejected command becomes 503 session_unavailable naming %s, its cause stripped of credentials", async (_name, command, run) => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    const original = Object.assign(new Error("connect ECONNREFUSED redis://default:hunter2@cache.internal:6379"), {
      name: "ConnectionTimeoutError",
      args: ["AUTH", "default", "hunter2"],
    });
    client.fault = { kind: "reject", error: original };
    const err = await rejection(run(store));
    expect(err.code).toBe("session_unavailable");
    expect(err.status).toBe(503);
    expect(err.statusCode).toBe(503);
    expect(err.message).toBe(`flet-auth's Redis store did not answer (${command}); try again shortly.`);
    const cause = err.cause as Error;
    expect(cause).toBeInstanceOf(Error);
    expect(cause).not.toBe(original);
    expect(cause.name).toBe("ConnectionTimeoutError");
    expect(cause.message).toBe("connect ECONNREFUSED redis://***@cache.internal:6379");
    expect(Object.keys(cause)).toStrictEqual(["name"]);
    expect(JSON.stringify({ message: err.message, cause: cause.message, keys: Object.keys(cause) })).not.toContain("hunter2");
  });

  it("a client that throws synchronously is wrapped the same way", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    client.fault = { kind: "throw", error: new TypeError("The client is closed") };
    const err = await rejection(store.set("a", "v", 1000));
    expect(err.code).toBe("session_unavailable");
    expect(err.status).toBe(503);
    expect((err.cause as Error).name).toBe("TypeError");
    expect((err.cause as Error).message).toBe("The client is closed");
  });

  it("a rejection that is not an Error keeps its text as the cause's message", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    client.fault = { kind: "reject", error: "READONLY You can't write against a read only replica." };
    const err = await rejection(store.delete("a"));
    expect(err.message).toBe("flet-auth's Redis store did not answer (DEL); try again shortly.");
    expect((err.cause as Error).message).toBe("READONLY You can't write against a read only replica.");
  });

  it("the store recovers by itself once the client answers again", async () => {
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    client.fault = { kind: "reject", error: new Error("Socket closed unexpectedly") };
    await rejection(store.set("a", "v", 1000));
    client.fault = undefined;
    expect(await store.set("a", "v", 1000)).toBe(true);
    expect(await store.getMany(["a"])).toStrictEqual(["v"]);
  });

  it.each([
    [undefined, 2000],
    [1, 1],
    [150, 150],
    [60_000, 60_000],
  ])("commandTimeoutMs %j: a command that never answers is abandoned after exactly %s ms", async (commandTimeoutMs, deadline) => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = new FakeStoreClient();
    const store = createRedisStore(client, commandTimeoutMs === undefined ? {} : { commandTimeoutMs });
    client.fault = { kind: "hang" };
    let settled: unknown = "pending";
    const outcome = store.getMany(["a"]).then(
      () => (settled = "resolved"),
      (error: unknown) => (settled = error),
    );
    await vi.advanceTimersByTimeAsync(deadline - 1);
    expect(settled).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    await outcome;
    expect(settled).toBeInstanceOf(FletAuthError);
    const err = settled as FletAuthError;
    expect(err.code).toBe("session_unavailable");
    expect(err.status).toBe(503);
    expect(err.message).toBe("flet-auth's Redis store did not answer (MGET); try again shortly.");
    expect((err.cause as Error).message).toBe(`no answer within ${deadline} ms`);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("each command has its own deadline; an answered command leaves no timer behind", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = new FakeStoreClient();
    const store = createRedisStore(client, { commandTimeoutMs: 100 });
    expect(await store.set("a", "v", 1000)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    client.fault = { kind: "hang" };
    const results: string[] = [];
    const first = store.delete("a").catch((err: FletAuthError) => results.push(`first ${err.message}`));
    await vi.advanceTimersByTimeAsync(60);
    const second = store.swap("a", "v", "w", 1000).catch((err: FletAuthError) => results.push(`second ${err.message}`));
    await vi.advanceTimersByTimeAsync(40);
    await first;
    expect(results).toStrictEqual(["first flet-auth's Redis store did not answer (DEL); try again shortly."]);
    await vi.advanceTimersByTimeAsync(60);
    await second;
    expect(results).toStrictEqual([
      "first flet-auth's Redis store did not answer (DEL); try again shortly.",
      "second flet-auth's Redis store did not answer (SWAP); try again shortly.",
    ]);
  });
});
