/**
 * The FletAuthStore contract (lib/store/store.ts), held by both stores: the in-memory default
 * (lib/store/memory.ts) on an injected clock, and createRedisStore (lib/store/redis.ts) over an
 * in-memory client with Redis's semantics whose keys expire on the same clock. Time moves only
 * through that clock.
 */
import { describe, expect, it } from "vitest";
import { createMemoryStore, createRedisStore, type FletAuthStore } from "../../../lib/index.js";
import { FakeStoreClient, testClock, type TestClock } from "../../helpers/store-clients.js";

interface Subject {
  readonly store: FletAuthStore;
  readonly clock: TestClock;
}

const kinds: Array<[string, () => Subject]> = [
  [
    "memory store",
    () => {
      const clock = testClock();
      return { clock, store: createMemoryStore({ clock: clock.fn }) };
    },
  ],
  [
    "store over a shared client",
    () => {
      const clock = testClock();
      return { clock, store: createRedisStore(new FakeStoreClient(clock.fn)) };
    },
  ],
];

describe.each(kinds)("FletAuthStore contract: %s", (_name, make) => {
  it("getMany answers in the order asked, undefined for missing keys, repeats included", async () => {
    const { store } = make();
    expect(await store.set("a", "1", 1000)).toBe(true);
    expect(await store.set("b", "2", 1000)).toBe(true);
    expect(await store.getMany(["b", "missing", "a", "b"])).toStrictEqual(["2", undefined, "1", "2"]);
    expect(await store.getMany(["missing"])).toStrictEqual([undefined]);
  });

  it("getMany of no keys resolves to an empty list", async () => {
    const { store } = make();
    await store.set("a", "1", 1000);
    expect(await store.getMany([])).toStrictEqual([]);
  });

  it("a value lives exactly ttlMs: read 1 ms before, gone at the expiry instant", async () => {
    const { store, clock } = make();
    await store.set("k", "v", 5000);
    clock.advance(4999);
    expect(await store.getMany(["k"])).toStrictEqual(["v"]);
    clock.advance(1);
    expect(await store.getMany(["k"])).toStrictEqual([undefined]);
  });

  it("a plain set overwrites a live value and restarts its lifetime", async () => {
    const { store, clock } = make();
    await store.set("k", "old", 1000);
    clock.advance(900);
    expect(await store.set("k", "new", 1000)).toBe(true);
    clock.advance(900);
    expect(await store.getMany(["k"])).toStrictEqual(["new"]);
  });

  it("ifAbsent claims a missing or expired key once; a live key refuses it and keeps its value", async () => {
    const { store, clock } = make();
    expect(await store.set("claim", "first", 1000, { ifAbsent: true })).toBe(true);
    expect(await store.set("claim", "second", 1000, { ifAbsent: true })).toBe(false);
    expect(await store.getMany(["claim"])).toStrictEqual(["first"]);
    clock.advance(1000);
    expect(await store.set("claim", "third", 1000, { ifAbsent: true })).toBe(true);
    expect(await store.getMany(["claim"])).toStrictEqual(["third"]);
  });

  it("ifAbsent: false is a plain set", async () => {
    const { store } = make();
    await store.set("k", "old", 1000);
    expect(await store.set("k", "new", 1000, { ifAbsent: false })).toBe(true);
    expect(await store.getMany(["k"])).toStrictEqual(["new"]);
  });

  it("swap replaces only the expected value, with the new lifetime", async () => {
    const { store, clock } = make();
    await store.set("k", "v1", 1000);
    expect(await store.swap("k", "other", "v2", 5000)).toBe(false);
    expect(await store.getMany(["k"])).toStrictEqual(["v1"]);
    expect(await store.swap("k", "v1", "v2", 5000)).toBe(true);
    expect(await store.getMany(["k"])).toStrictEqual(["v2"]);
    clock.advance(4999);
    expect(await store.getMany(["k"])).toStrictEqual(["v2"]);
    clock.advance(1);
    expect(await store.getMany(["k"])).toStrictEqual([undefined]);
  });

  it("swap of a missing or expired key is refused and writes nothing", async () => {
    const { store, clock } = make();
    expect(await store.swap("none", "", "v", 1000)).toBe(false);
    expect(await store.getMany(["none"])).toStrictEqual([undefined]);
    await store.set("k", "v1", 1000);
    clock.advance(1000);
    expect(await store.swap("k", "v1", "v2", 1000)).toBe(false);
    expect(await store.getMany(["k"])).toStrictEqual([undefined]);
  });

  it("delete removes one key, leaves the others, and is a no-op for a missing key", async () => {
    const { store } = make();
    await store.set("a", "1", 1000);
    await store.set("b", "2", 1000);
    await expect(store.delete("a")).resolves.toBeUndefined();
    await expect(store.delete("never-set")).resolves.toBeUndefined();
    expect(await store.getMany(["a", "b"])).toStrictEqual([undefined, "2"]);
    expect(await store.set("a", "again", 1000, { ifAbsent: true })).toBe(true);
  });

  it("the store object is frozen", () => {
    const { store } = make();
    expect(Object.isFrozen(store)).toBe(true);
  });
});
