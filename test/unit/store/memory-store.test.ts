/**
 * createMemoryStore (lib/store/memory.ts) beyond the shared contract (store-contract.test.ts):
 * its option checks, its defaults (Date.now, 100 000 entries) and the bound on its size — at
 * maxEntries the oldest entry leaves, expired ones first from the front — and the keys of
 * lib/store/store.ts (storeKeys), which both stores and their callers share.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryStore, type MemoryStoreOptions } from "../../../lib/index.js";
import { READ_NOW, storeKeys, type MaybeReadsNow } from "../../../lib/store/store.js";
import { testClock } from "../../helpers/store-clients.js";

describe("createMemoryStore: options", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10", false])("maxEntries %j is refused", (maxEntries) => {
    expect(() => createMemoryStore({ maxEntries } as unknown as MemoryStoreOptions)).toThrow(
      new TypeError("createMemoryStore: options.maxEntries must be a positive integer"),
    );
  });

  it.each(["Date.now", 0, {}, false])("a clock that is not a function (%j) is refused", (clock) => {
    expect(() => createMemoryStore({ clock } as unknown as MemoryStoreOptions)).toThrow(
      new TypeError("createMemoryStore: options.clock must be a function returning milliseconds"),
    );
  });

  it("maxEntries 1 is accepted: the one entry is replaced by the next", async () => {
    const store = createMemoryStore({ maxEntries: 1, clock: () => 0 });
    await store.set("a", "1", 1000);
    await store.set("b", "2", 1000);
    expect(await store.getMany(["a", "b"])).toStrictEqual([undefined, "2"]);
  });

  it("without options the clock is Date.now", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: 5_000_000 });
    const store = createMemoryStore();
    const same = createMemoryStore({});
    await store.set("k", "v", 1000);
    await same.set("k", "v", 1000);
    vi.setSystemTime(5_000_999);
    expect(await store.getMany(["k"])).toStrictEqual(["v"]);
    expect(await same.getMany(["k"])).toStrictEqual(["v"]);
    vi.setSystemTime(5_001_000);
    expect(await store.getMany(["k"])).toStrictEqual([undefined]);
    expect(await same.getMany(["k"])).toStrictEqual([undefined]);
  });

  it("without maxEntries it keeps 100 000 live entries; the next one evicts the oldest", async () => {
    const store = createMemoryStore({ clock: () => 0 });
    for (let i = 0; i < 100_000; i += 1) await store.set(`k${i}`, "v", 1000);
    expect(await store.getMany(["k0", "k99999"])).toStrictEqual(["v", "v"]);
    await store.set("k100000", "v", 1000);
    expect(await store.getMany(["k0", "k1", "k100000"])).toStrictEqual([undefined, "v", "v"]);
  });
});

describe("createMemoryStore: the bound on its size", () => {
  it("holds exactly maxEntries live entries; one more evicts the oldest, even though it is live", async () => {
    const clock = testClock();
    const store = createMemoryStore({ maxEntries: 3, clock: clock.fn });
    for (const key of ["a", "b", "c"]) await store.set(key, key, 60_000);
    expect(await store.getMany(["a", "b", "c"])).toStrictEqual(["a", "b", "c"]);
    await store.set("d", "d", 60_000);
    expect(await store.getMany(["a", "b", "c", "d"])).toStrictEqual([undefined, "b", "c", "d"]);
    await store.set("e", "e", 60_000);
    expect(await store.getMany(["b", "c", "d", "e"])).toStrictEqual([undefined, "c", "d", "e"]);
  });

  it("setting a key again makes it the newest, so the one set before it leaves first", async () => {
    const store = createMemoryStore({ maxEntries: 3, clock: () => 0 });
    await store.set("a", "1", 1000);
    await store.set("b", "1", 1000);
    await store.set("a", "2", 1000);
    await store.set("c", "1", 1000);
    await store.set("d", "1", 1000);
    expect(await store.getMany(["a", "b", "c", "d"])).toStrictEqual(["2", undefined, "1", "1"]);
  });

  it("a swap makes the key the newest too", async () => {
    const store = createMemoryStore({ maxEntries: 2, clock: () => 0 });
    await store.set("a", "1", 1000);
    await store.set("b", "1", 1000);
    expect(await store.swap("a", "1", "2", 1000)).toBe(true);
    await store.set("c", "1", 1000);
    expect(await store.getMany(["a", "b", "c"])).toStrictEqual(["2", undefined, "1"]);
  });

  it("overwriting a key at the cap evicts nothing else", async () => {
    const store = createMemoryStore({ maxEntries: 2, clock: () => 0 });
    await store.set("a", "1", 1000);
    await store.set("b", "1", 1000);
    await store.set("b", "2", 1000);
    expect(await store.getMany(["a", "b"])).toStrictEqual(["1", "2"]);
  });

  it("a refused ifAbsent or swap evicts nothing", async () => {
    const store = createMemoryStore({ maxEntries: 2, clock: () => 0 });
    await store.set("a", "1", 1000);
    await store.set("b", "1", 1000);
    expect(await store.set("b", "2", 1000, { ifAbsent: true })).toBe(false);
    expect(await store.swap("a", "x", "y", 1000)).toBe(false);
    expect(await store.getMany(["a", "b"])).toStrictEqual(["1", "1"]);
  });

  it("a deleted key frees its place", async () => {
    const store = createMemoryStore({ maxEntries: 2, clock: () => 0 });
    await store.set("a", "1", 1000);
    await store.set("b", "1", 1000);
    await store.delete("b");
    await store.set("c", "1", 1000);
    expect(await store.getMany(["a", "b", "c"])).toStrictEqual(["1", undefined, "1"]);
  });

  it("an expired key read by getMany frees its place, wherever it stood", async () => {
    const clock = testClock();
    const store = createMemoryStore({ maxEntries: 2, clock: clock.fn });
    await store.set("long", "1", 60_000);
    await store.set("short", "1", 10);
    clock.advance(10);
    expect(await store.getMany(["short"])).toStrictEqual([undefined]);
    await store.set("new", "1", 60_000);
    expect(await store.getMany(["long", "new"])).toStrictEqual(["1", "1"]);
  });

  it("an expired key found by ifAbsent or swap frees its place too", async () => {
    const clock = testClock();
    const store = createMemoryStore({ maxEntries: 2, clock: clock.fn });
    await store.set("long", "1", 60_000);
    await store.set("short", "1", 10);
    clock.advance(10);
    expect(await store.swap("short", "1", "2", 60_000)).toBe(false);
    await store.set("new", "1", 60_000);
    expect(await store.getMany(["long", "new"])).toStrictEqual(["1", "1"]);
  });

  it("expired entries at the front leave before a live one is evicted", async () => {
    const clock = testClock();
    const store = createMemoryStore({ maxEntries: 3, clock: clock.fn });
    await store.set("old1", "1", 10);
    await store.set("old2", "1", 10);
    await store.set("live", "1", 60_000);
    clock.advance(10);
    await store.set("n1", "1", 60_000);
    await store.set("n2", "1", 60_000);
    expect(await store.getMany(["live", "n1", "n2"])).toStrictEqual(["1", "1", "1"]);
  });
});

describe("storeKeys", () => {
  it("names each record's key with its own prefix", () => {
    expect(storeKeys.series("s1")).toBe("series:s1");
    expect(storeKeys.endedSignIn("i1")).toBe("ended:i1");
    expect(storeKeys.endedSeries("s1")).toBe("ended-series:s1");
    expect(storeKeys.userEndedBefore("github", "42")).toBe("user:github:42");
    expect(storeKeys.providerSessionEnded("idp", "sid-1")).toBe("oidc-sid:idp:sid-1");
    expect(storeKeys.subjectEndedBefore("idp", "sub-1")).toBe("oidc-sub:idp:sub-1");
    expect(storeKeys.logoutTokenId("https://op.example", "jti-1")).toBe("oidc-jti:https://op.example:jti-1");
    expect(storeKeys.latestToken("i1")).toBe("latest:i1");
    expect(storeKeys.signIn("i1")).toBe("signin:i1");
    expect(storeKeys.claimedState("h1")).toBe("state:h1");
  });

  it("keeps at most 200 characters of each outside-supplied part", () => {
    const at200 = "u".repeat(200);
    const long = `${at200}TAIL`;
    expect(storeKeys.userEndedBefore("p", at200)).toBe(`user:p:${at200}`);
    expect(storeKeys.userEndedBefore("p", long)).toBe(`user:p:${at200}`);
    expect(storeKeys.providerSessionEnded("p", long)).toBe(`oidc-sid:p:${at200}`);
    expect(storeKeys.subjectEndedBefore("p", long)).toBe(`oidc-sub:p:${at200}`);
    expect(storeKeys.logoutTokenId(long, long)).toBe(`oidc-jti:${at200}:${at200}`);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(storeKeys)).toBe(true);
  });
});

describe("createMemoryStore: its synchronous read (flet-auth internal)", () => {
  it("answers what getMany answers, at once, expiry included; it is not part of the store's listed face", async () => {
    let now = 1_000;
    const store = createMemoryStore({ clock: () => now }) as MaybeReadsNow;
    await store.set("a", "1", 100);
    await store.set("b", "2", 50);
    const readNow = store[READ_NOW];
    expect(typeof readNow).toBe("function");
    expect(readNow?.(["a", "b", "missing"])).toEqual(["1", "2", undefined]);
    now += 60;
    expect(readNow?.(["a", "b"]), "b expired").toEqual(["1", undefined]);
    expect(readNow?.(["a", "b"])).toEqual(await store.getMany(["a", "b"]));
    expect(Object.keys(store).sort()).toEqual(["delete", "getMany", "set", "swap"]);
    expect(Object.getOwnPropertySymbols({ ...store }), "a spread copies the four methods only").toEqual([]);
  });
});
