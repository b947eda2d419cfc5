/**
 * The distributed refresh lock (lib/refresh/lock-redis.ts) releases its lock with Redis's
 * compare-and-delete script, over the in-memory fake (test/helpers/redis-lock-clients.ts, which
 * runs only that script, recognised by its exact text).
 *
 * The module is imported inside the test after `vi.resetModules()`, so its module-level script
 * text is evaluated within the test that relies on it.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { RefreshCodec } from "../../../lib/index.js";
import { memoryRedis, recordingClient } from "../../helpers/redis-lock-clients.js";

const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const LOCK = "flet-auth:refresh:lock:demo:k";

const codec: RefreshCodec<string> = {
  encode: async (v) => `sealed:${v}`,
  decode: async (text) => text.slice("sealed:".length),
};

beforeEach(() => {
  vi.resetModules();
});

describe("distributed refresh lock: release", () => {
  it("after the refresh, the leader deletes its lock with one EVAL of the compare-and-delete script (owner as ARGV[1])", async () => {
    const { createRedisRefreshLock } = await import("../../../lib/refresh/lock-redis.js");
    const redis = memoryRedis();
    const client = recordingClient(redis);
    await expect(createRedisRefreshLock(client).run("demo:k", async () => "fresh", codec)).resolves.toBe("fresh");
    const owner = client.log.find((c) => c.command === "SET" && c.key === LOCK);
    expect(owner?.command).toBe("SET");
    expect(client.log.at(-1)).toStrictEqual({ command: "EVAL", script: RELEASE_SCRIPT, keys: [LOCK], arguments: [owner?.command === "SET" ? owner.value : ""], result: 1 });
    expect(redis.data.has(LOCK)).toBe(false);
  });
});
