/**
 * Remember-me series records (lib/remember-me/series.ts), against the in-memory store behind a
 * recording wrapper: which owners a series remembers (user, ID-token `sid` and `sub`) and so which
 * "ended" marks revoke it (only marks from its start on), the rotation grace, reuse detection and
 * the lifetime of the ended-series mark, rotation's bounded retries, and the store reads a check
 * costs. Time moves only through the injected clock.
 */
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../../lib/config.js";
import { createMemoryStore, OAuthProvider, type FletAuthStore } from "../../../lib/index.js";
import { checkSeries, ROTATION_GRACE_MS, rotateSeries, startSeries } from "../../../lib/remember-me/series.js";
import { storeKeys } from "../../../lib/store/store.js";
import { manualClock } from "../../helpers/refresh-harness.js";

const DAY_MS = 86_400_000;
const TTL_MS = 7 * DAY_MS;

interface StoreCalls {
  getMany: string[][];
  set: Array<{ key: string; ttlMs: number }>;
  swaps: number;
}

function setup(options: { absoluteTimeoutMs?: number; maxAgeMs?: number; swap?: FletAuthStore["swap"] } = {}) {
  const clock = manualClock();
  const memory = createMemoryStore({ clock: clock.fn });
  const calls: StoreCalls = { getMany: [], set: [], swaps: 0 };
  const store: FletAuthStore = {
    getMany(keys) {
      calls.getMany.push([...keys]);
      return memory.getMany(keys);
    },
    set(key, value, ttlMs, setOptions) {
      calls.set.push({ key, ttlMs });
      return memory.set(key, value, ttlMs, setOptions);
    },
    swap(key, expected, value, ttlMs) {
      calls.swaps += 1;
      return options.swap ? options.swap(key, expected, value, ttlMs) : memory.swap(key, expected, value, ttlMs);
    },
    delete: (key) => memory.delete(key),
  };
  const config = resolveConfig({
    providers: {
      idp: new OAuthProvider({
        clientId: "client",
        clientSecret: "client-secret",
        authorizationEndpoint: "https://idp.example/authorize",
        tokenEndpoint: "https://idp.example/token",
        redirectUrl: "http://127.0.0.1/oauth_callback",
      }),
    },
    secret: "test-session-secret-0123456789abcdef",
    store,
    clock: clock.fn,
    rememberMe: { secretKey: "remember-me-key-0123456789abcdef0123", maxAge: options.maxAgeMs ?? TTL_MS },
    ...(options.absoluteTimeoutMs !== undefined ? { absoluteTimeoutMs: options.absoluteTimeoutMs } : {}),
  });
  return { clock, memory, calls, config };
}

describe("series owners: the ended marks that revoke a series", () => {
  it("a back-channel logout of the ID token's sid revokes the series started with that sid (not another sid's)", async () => {
    const { clock, memory, config } = setup();
    const mine = await startSeries(config, "idp", { userId: "1001", sid: "sid-1" }, TTL_MS);
    const other = await startSeries(config, "idp", { userId: "1001", sid: "sid-2" }, TTL_MS);
    clock.advanceSeconds(60);
    await memory.set(storeKeys.providerSessionEnded("idp", "sid-1"), String(clock.now()), TTL_MS);
    expect(await checkSeries(config, mine.id, mine.nonce)).toEqual({ kind: "revoked" });
    expect(await memory.getMany([storeKeys.series(mine.id)])).toEqual([undefined]);
    expect(await checkSeries(config, other.id, other.nonce)).toEqual({ kind: "valid" });
  });

  it("a back-channel logout of the ID token's sub revokes the series started with that sub (not another sub's)", async () => {
    const { clock, memory, config } = setup();
    const mine = await startSeries(config, "idp", { sub: "sub-1" }, TTL_MS);
    const other = await startSeries(config, "idp", { sub: "sub-2" }, TTL_MS);
    clock.advanceSeconds(60);
    await memory.set(storeKeys.subjectEndedBefore("idp", "sub-1"), String(clock.now()), TTL_MS);
    expect(await checkSeries(config, mine.id, mine.nonce)).toEqual({ kind: "revoked" });
    expect(await checkSeries(config, other.id, other.nonce)).toEqual({ kind: "valid" });
  });

  it("'sign out everywhere' revokes only series begun before it: a mark older than the series leaves it valid", async () => {
    const { clock, memory, config } = setup();
    const started = clock.now();
    const series = await startSeries(config, "idp", { userId: "1001", sid: "sid-1", sub: "sub-1" }, TTL_MS);
    await memory.set(storeKeys.userEndedBefore("idp", "1001"), String(started - 1), TTL_MS);
    clock.advanceSeconds(60);
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "valid" });
    // One owner's mark from the series' start on is enough, whatever the other owners' say.
    await memory.set(storeKeys.userEndedBefore("idp", "1001"), String(started), TTL_MS);
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "revoked" });
  });

  it("a series without owners is checked with one store read, of its own key only, and stays valid", async () => {
    const { calls, config } = setup();
    const series = await startSeries(config, "idp", {}, TTL_MS);
    calls.getMany.length = 0;
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "valid" });
    expect(calls.getMany).toEqual([[storeKeys.series(series.id)]]);
  });

  it("a series with a user asks the store for the user's mark only (never for an undefined key)", async () => {
    const { calls, config } = setup();
    const series = await startSeries(config, "idp", { userId: "1001" }, TTL_MS);
    calls.getMany.length = 0;
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "valid" });
    expect(calls.getMany).toEqual([[storeKeys.series(series.id)], [storeKeys.userEndedBefore("idp", "1001")]]);
  });
});

describe("rotation, grace and reuse", () => {
  it("the previous nonce counts as the same browser's for just under ROTATION_GRACE_MS; from then on it is a reuse", async () => {
    const { clock, memory, config } = setup();
    const series = await startSeries(config, "idp", { userId: "1001" }, TTL_MS);
    const next = await rotateSeries(config, series.id, series.nonce, TTL_MS);
    expect(typeof next).toBe("string");

    clock.set(clock.now() + ROTATION_GRACE_MS - 1);
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "valid" });
    expect(await rotateSeries(config, series.id, series.nonce, TTL_MS), "graced: the other request writes the cookie").toBeUndefined();

    clock.advanceSeconds(0.001);
    expect(await rotateSeries(config, series.id, series.nonce, TTL_MS), "past the grace: not this browser's").toBe("revoked");
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "reused" });
    expect(await memory.getMany([storeKeys.series(series.id), storeKeys.endedSeries(series.id)])).toEqual([undefined, String(clock.now())]);
    // Once revoked, even the current nonce rotates no more.
    expect(await rotateSeries(config, series.id, next as string, TTL_MS)).toBe("revoked");
  });

  it("rotating an unknown series answers revoked", async () => {
    const { config } = setup();
    expect(await rotateSeries(config, "no-such-series", "nonce", TTL_MS)).toBe("revoked");
  });

  it("rotation gives up after three lost races (no fourth attempt, no endless loop)", async () => {
    let attempts = 0;
    const { config, calls } = setup({
      swap: () => {
        attempts += 1;
        if (attempts > 10) throw new Error("swap was retried without bound");
        return Promise.resolve(false);
      },
    });
    const series = await startSeries(config, "idp", {}, TTL_MS);
    expect(await rotateSeries(config, series.id, series.nonce, TTL_MS)).toBeUndefined();
    expect(calls.swaps).toBe(3);
  });
});

describe("the ended-series mark of a reuse", () => {
  async function reuseMarkTtl(options: { absoluteTimeoutMs?: number; maxAgeMs?: number }): Promise<number> {
    const { clock, calls, config } = setup(options);
    const series = await startSeries(config, "idp", {}, TTL_MS);
    await rotateSeries(config, series.id, series.nonce, TTL_MS);
    clock.set(clock.now() + ROTATION_GRACE_MS);
    expect(await checkSeries(config, series.id, series.nonce)).toEqual({ kind: "reused" });
    const marks = calls.set.filter((c) => c.key === storeKeys.endedSeries(series.id));
    expect(marks).toHaveLength(1);
    return marks[0]!.ttlMs;
  }

  it("lives as long as a sign-in restored from the series could: the longer of absoluteTimeout and maxAge", async () => {
    expect(await reuseMarkTtl({ absoluteTimeoutMs: DAY_MS, maxAgeMs: 7 * DAY_MS })).toBe(7 * DAY_MS);
    expect(await reuseMarkTtl({ absoluteTimeoutMs: 10 * DAY_MS, maxAgeMs: 2 * DAY_MS })).toBe(10 * DAY_MS);
  });

  it("is capped at 400 days when sign-ins never time out", async () => {
    expect(await reuseMarkTtl({ absoluteTimeoutMs: Infinity, maxAgeMs: 7 * DAY_MS })).toBe(400 * DAY_MS);
  });
});
