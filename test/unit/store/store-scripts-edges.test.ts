/**
 * The shared store (lib/store/redis.ts) sends its two Lua scripts — MGET and compare-and-set —
 * with their exact text, over the in-memory client (test/helpers/store-clients.ts), which runs
 * only those two scripts, recognised by their text, as Redis would run them.
 *
 * The module is imported inside each test after `vi.resetModules()`, so its module-level script
 * texts are evaluated within the test that relies on them.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeStoreClient, MGET_SCRIPT, SWAP_SCRIPT } from "../../helpers/store-clients.js";

beforeEach(() => {
  vi.resetModules();
});

const load = () => import("../../../lib/store/redis.js");

describe("createRedisStore: its scripts", () => {
  it("getMany: one EVAL of the MGET script over the prefixed keys; the values in order, undefined for missing keys", async () => {
    const { createRedisStore } = await load();
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    await store.set("a", "A", 60_000);
    await store.set("c", "C", 60_000);
    expect(await store.getMany(["a", "b", "c"])).toStrictEqual(["A", undefined, "C"]);
    expect(client.calls.at(-1)).toStrictEqual({ method: "eval", script: MGET_SCRIPT, keys: ["flet-auth:a", "flet-auth:b", "flet-auth:c"], arguments: [] });
  });

  it("swap: one EVAL of the compare-and-set script; true and the new value when the key held the expected one, false otherwise", async () => {
    const { createRedisStore } = await load();
    const client = new FakeStoreClient();
    const store = createRedisStore(client);
    await store.set("k", "old", 60_000);
    expect(await store.swap("k", "old", "new", 30_000)).toBe(true);
    expect(client.calls.at(-1)).toStrictEqual({ method: "eval", script: SWAP_SCRIPT, keys: ["flet-auth:k"], arguments: ["old", "new", "30000"] });
    expect(client.peek("flet-auth:k")).toBe("new");
    expect(await store.swap("k", "old", "newer", 30_000)).toBe(false);
    expect(client.peek("flet-auth:k")).toBe("new");
  });
});
