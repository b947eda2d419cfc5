/**
 * lib/signin/stored.ts, `loadSignIns`: the fast path (one sign-in by id, its ended keys cached and
 * its record opened before: one `getMany().then()`) and each way out of it into the general path
 * (`settle`): a record of another provider, a record that no longer opens or is gone, a key set
 * that changed since it was cached, a record rewritten with the same keys. Real modules as in
 * stored.test.ts: the sealer as fletAuth() derives it, the record and ended-key caches, the
 * in-memory store (wrapped to count round trips, or to answer on the test's cue); a manual clock.
 */
import { describe, expect, it } from "vitest";
import type { FletAuthConfig } from "../../../lib/config.js";
import { hkdfKey } from "../../../lib/crypto/keys.js";
import { createSealer } from "../../../lib/crypto/sealer.js";
import { OAuthToken } from "../../../lib/oauth/token.js";
import { endSignIn, endUser, endedKeys } from "../../../lib/signin/lifetime.js";
import { createRecordCache, type SignInRecord } from "../../../lib/signin/records.js";
import {
  createEndedKeyCache,
  loadSignIns,
  loadSignInsNow,
  removeSignIn,
  rewriteSignIn,
  storeSignIn,
  updateSignIn,
  type SignInStore,
  type StoredSignIn,
} from "../../../lib/signin/stored.js";
import { createMemoryStore } from "../../../lib/store/memory.js";
import { READ_NOW, storeKeys, type FletAuthStore, type MaybeReadsNow } from "../../../lib/store/store.js";
import { manualClock, type ManualClock } from "../../helpers/refresh-harness.js";

const SECRET = "unit-session-secret-0123456789abcdef0123";
const DAY_MS = 86_400_000;

/**
 * A store that keeps the keys of each getMany; with `cued`, each read answers only when the test
 * calls its `waiting` entry. `beforeSwap` runs before each compare-and-swap (a concurrent write).
 */
interface PathStore extends FletAuthStore {
  readonly reads: string[][];
  cued: boolean;
  readonly waiting: Array<() => void>;
  swaps: number;
  beforeSwap: (() => Promise<void>) | undefined;
}

function pathStore(inner: FletAuthStore, readsNow = false): PathStore {
  const store: PathStore = {
    reads: [],
    cued: false,
    waiting: [],
    swaps: 0,
    beforeSwap: undefined,
    getMany(keys) {
      store.reads.push([...keys]);
      const values = inner.getMany(keys);
      if (!store.cued) return values;
      // The values are taken on arrival; the caller gets them when the test answers.
      return new Promise((resolve) => void values.then((v) => store.waiting.push(() => resolve(v))));
    },
    set: (key, value, ttlMs, options) => inner.set(key, value, ttlMs, options),
    async swap(key, expected, value, ttlMs) {
      store.swaps += 1;
      await store.beforeSwap?.();
      return inner.swap(key, expected, value, ttlMs);
    },
    delete: (key) => inner.delete(key),
  };
  // As flet-auth's in-memory store: reads also answered synchronously (the same keys recorded).
  const now = (inner as MaybeReadsNow)[READ_NOW];
  if (readsNow && now !== undefined) {
    Object.defineProperty(store, READ_NOW, {
      value: (keys: readonly string[]) => {
        store.reads.push([...keys]);
        return now(keys);
      },
    });
  }
  return store;
}

interface Rt extends SignInStore {
  readonly clock: ManualClock;
  readonly store: PathStore;
}

/**
 * A SignInStore as fletAuth() builds one; `shared` gives another instance (cold caches) on the
 * same store; `readsNow`, a store that also reads synchronously, as flet-auth's in-memory one.
 */
function runtime(shared?: Rt, readsNow = false): Rt {
  const clock = shared?.clock ?? manualClock();
  const store = pathStore(shared?.store ?? createMemoryStore({ clock: clock.fn }), readsNow);
  const config = { store, clock: clock.fn, idleTimeoutMs: DAY_MS, absoluteTimeoutMs: 7 * DAY_MS, storeGiven: true };
  return {
    clock,
    store,
    // Only these fields are read by stored.ts and lifetime.ts.
    config: config as unknown as FletAuthConfig,
    tokens: createSealer(SECRET, "session-token", { now: clock.fn, derive: hkdfKey }),
    records: createRecordCache(),
    endedKeys: createEndedKeyCache(),
  };
}

let serial = 0;
function newId(): string {
  serial += 1;
  return Buffer.from(`path-in-${String(serial).padStart(8, "0")}`).toString("base64url").slice(0, 22);
}

function tokenJson(access: string): string {
  return new OAuthToken({ accessToken: access, refreshToken: `rt-${access}`, tokenType: "Bearer", expiresAt: 1_900_000_000 }).toJson();
}

function recordOf(rt: Rt, overrides: Partial<SignInRecord> = {}): SignInRecord {
  const now = rt.clock.now();
  return {
    id: newId(),
    provider: "demo",
    token: tokenJson("at-1"),
    user: { id: "user-1", groups: [] },
    fetchUser: true,
    fetchGroups: false,
    scope: ["openid"],
    signedInAt: now,
    seenAt: now,
    refreshes: 0,
    ...overrides,
  };
}

/** The sealed text stored for sign-in `id`. */
async function sealedOf(rt: Rt, id: string): Promise<string> {
  const [sealed] = await rt.store.getMany([storeKeys.signIn(id)]);
  expect(sealed, "a record is stored").toBeDefined();
  return sealed!;
}

/** A stored sign-in, loaded once (its ended keys cached, its record opened): what most requests meet. */
async function warm(rt: Rt, overrides: Partial<SignInRecord> = {}): Promise<{ record: SignInRecord; sealed: string }> {
  const record = recordOf(rt, overrides);
  await storeSignIn(rt, record);
  const [found] = await loadSignIns(rt, [[record.provider, record.id]]);
  expect(found?.opened?.record).toEqual(record);
  rt.store.reads.length = 0;
  return { record, sealed: await sealedOf(rt, record.id).finally(() => (rt.store.reads.length = 0)) };
}

/**
 * How many microtask turns `loadSignIns(refs)` takes to settle once the store answers its one
 * read: settled in the read's own callback, the caller's `.then` runs on the 2nd turn; an async
 * function on the way (the general path) adds turns.
 */
async function turnsAfterTheRead(rt: Rt, refs: ReadonlyArray<readonly [string, string]>): Promise<{ turns: number; found: StoredSignIn[] }> {
  rt.store.cued = true;
  let found: StoredSignIn[] | undefined;
  const loading = loadSignIns(rt, refs).then((f) => (found = f));
  // The memory store answers within a few turns; wait for the read to be waiting for its cue.
  for (let i = 0; i < 100 && rt.store.waiting.length === 0; i += 1) await Promise.resolve();
  expect(rt.store.waiting, "one read, waiting").toHaveLength(1);
  rt.store.waiting.shift()!();
  let turns = 0;
  while (found === undefined && turns < 100) {
    await Promise.resolve();
    turns += 1;
  }
  await loading;
  rt.store.cued = false;
  return { turns, found: found! };
}

describe("loadSignIns fast path: one sign-in by id, keys cached, record opened", () => {
  it("settles in the store read's own callback (no async function on the way) with exactly what the general path gives", async () => {
    const rt = runtime();
    const { record, sealed } = await warm(rt, { series: "series-f", claims: { sid: "op-sid", sub: "op-sub" } });
    const { turns, found } = await turnsAfterTheRead(rt, [["demo", record.id]]);
    expect(found).toEqual([{ name: "demo", id: record.id, opened: expect.objectContaining({ record }), sealed, ended: false, inSession: false, healed: false }]);
    expect(rt.store.reads).toEqual([[storeKeys.signIn(record.id), ...endedKeys(record)]]);
    expect(turns, "settled in the read's callback").toBeLessThanOrEqual(2);

    // The same sign-in on another instance, once warm, gives the same answer.
    const other = runtime(rt);
    await loadSignIns(other, [["demo", record.id]]);
    const again = await turnsAfterTheRead(other, [["demo", record.id]]);
    expect(again.found).toEqual(found);
    expect(again.turns).toBeLessThanOrEqual(2);
  });

  it("ended elsewhere while warm: ended, still one read, still settled in its callback", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    await endUser(rt.config, "demo", "user-1", rt.clock.now());
    rt.store.reads.length = 0;
    const { turns, found } = await turnsAfterTheRead(rt, [["demo", record.id]]);
    expect(found[0]).toMatchObject({ id: record.id, ended: true, inSession: false, healed: false });
    expect(rt.store.reads).toHaveLength(1);
    expect(turns).toBeLessThanOrEqual(2);
  });

  it("two sign-ins in the session are not the common request: both are read, each with its own record", async () => {
    const rt = runtime();
    const a = await warm(rt);
    const b = await warm(rt, { provider: "other", user: { id: "user-2", groups: [] } });
    const found = await loadSignIns(rt, [
      ["demo", a.record.id],
      ["other", b.record.id],
    ]);
    expect(found.map((f) => [f.name, f.opened?.record.id, f.ended, f.inSession, f.healed])).toEqual([
      ["demo", a.record.id, false, false, false],
      ["other", b.record.id, false, false, false],
    ]);
    expect(rt.store.reads).toHaveLength(1);
  });
});

describe("loadSignInsNow: the fast path without a promise, for a store that reads synchronously", () => {
  it("a warm sign-in: found at once in one read, exactly as loadSignIns finds it", async () => {
    const rt = runtime(undefined, true);
    const { record, sealed } = await warm(rt, { series: "series-n", claims: { sid: "op-sid", sub: "op-sub" } });
    const found = loadSignInsNow(rt, [["demo", record.id]]);
    expect(found).toEqual([{ name: "demo", id: record.id, opened: expect.objectContaining({ record }), sealed, ended: false, inSession: false, healed: false }]);
    expect(rt.store.reads).toEqual([[storeKeys.signIn(record.id), ...endedKeys(record)]]);
    expect(found).toEqual(await loadSignIns(rt, [["demo", record.id]]));
  });

  it("ended elsewhere while warm: ended, at once", async () => {
    const rt = runtime(undefined, true);
    const { record } = await warm(rt);
    await endUser(rt.config, "demo", "user-1", rt.clock.now());
    expect(loadSignInsNow(rt, [["demo", record.id]])?.[0]).toMatchObject({ id: record.id, ended: true, inSession: false, healed: false });
    const again = await warm(rt);
    await endSignIn(rt.config, again.record.id);
    expect(loadSignInsNow(rt, [["demo", again.record.id]])?.[0]).toMatchObject({ id: again.record.id, ended: true });
  });

  it("anything but that common case is left to loadSignIns (undefined), after at most one read", async () => {
    const rt = runtime(undefined, true);
    const a = await warm(rt);
    const b = await warm(rt, { provider: "other", user: { id: "user-2", groups: [] } });
    const cases: Array<[string, () => Promise<ReadonlyArray<readonly [string, string]>>]> = [
      ["two sign-ins", async () => [["demo", a.record.id], ["other", b.record.id]]],
      ["an id not seen on this instance", async () => [["demo", newId()]]],
      ["a record of another provider under this name", async () => [["demo", b.record.id]]],
      [
        "a record gone from the store",
        async () => {
          const gone = await warm(rt);
          await removeSignIn(rt, gone.record.id);
          return [["demo", gone.record.id]];
        },
      ],
      [
        "a record that no longer opens",
        async () => {
          const bad = await warm(rt);
          await rt.store.set(storeKeys.signIn(bad.record.id), `${bad.sealed.slice(0, -6)}AAAAAA`, DAY_MS);
          return [["demo", bad.record.id]];
        },
      ],
    ];
    for (const [what, refsOf] of cases) {
      const refs = await refsOf();
      rt.store.reads.length = 0;
      expect(loadSignInsNow(rt, refs), what).toBeUndefined();
      expect(rt.store.reads.length, what).toBeLessThanOrEqual(1);
    }
  });

  it("a store without a synchronous read (Redis, an app's own, a wrapper): undefined, nothing read", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    expect(loadSignInsNow(rt, [["demo", record.id]])).toBeUndefined();
    expect(rt.store.reads).toEqual([]);
  });
});

describe("loadSignIns: what makes a warm request leave the fast path", () => {
  it("a record opened before as provider \"other\" is refused under \"demo\" (same id), also with its keys cached", async () => {
    const rt = runtime();
    const { record } = await warm(rt, { provider: "other" });
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    expect(found).toEqual({ name: "demo", id: record.id, opened: undefined, sealed: undefined, ended: false, inSession: false, healed: false });
    // And it is still "other"'s, on the fast path.
    expect((await turnsAfterTheRead(rt, [["other", record.id]])).found[0]?.opened?.record).toEqual(record);
  });

  it("the record is gone (removed, expired): opened undefined, not ended — and ended when ended:<id> was written", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    await removeSignIn(rt, record.id);
    expect(await loadSignIns(rt, [["demo", record.id]])).toEqual([
      { name: "demo", id: record.id, opened: undefined, sealed: undefined, ended: false, inSession: false, healed: false },
    ]);
    await endSignIn(rt.config, record.id);
    expect(await loadSignIns(rt, [["demo", record.id]])).toEqual([
      { name: "demo", id: record.id, opened: undefined, sealed: undefined, ended: true, inSession: false, healed: false },
    ]);
  });

  it("the stored record no longer opens (tampered with after it was cached): opened undefined", async () => {
    const rt = runtime();
    const { record, sealed } = await warm(rt);
    await rt.store.set(storeKeys.signIn(record.id), `${sealed.slice(0, -6)}AAAAAA`, DAY_MS);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    expect(found).toMatchObject({ id: record.id, opened: undefined, ended: false, inSession: false, healed: false });
  });

  it("records swapped in the store after both were cached: each id refuses the other's record", async () => {
    const rt = runtime();
    const mine = await warm(rt);
    const theirs = await warm(rt);
    await rt.store.set(storeKeys.signIn(mine.record.id), theirs.sealed, DAY_MS);
    await rt.store.set(storeKeys.signIn(theirs.record.id), mine.sealed, DAY_MS);
    expect((await loadSignIns(rt, [["demo", mine.record.id]]))[0]).toMatchObject({ id: mine.record.id, opened: undefined });
    expect((await loadSignIns(rt, [["demo", theirs.record.id]]))[0]).toMatchObject({ id: theirs.record.id, opened: undefined });
  });

  it.each([
    ["a remember-me series it did not have", { series: "series-new" }, (r: SignInRecord) => storeKeys.endedSeries(r.series!), "1"],
    ["another user", { user: { id: "user-9", groups: [] } }, () => storeKeys.userEndedBefore("demo", "user-9"), "9999999999999"],
    ["an OP session id", { claims: { sid: "op-sid-2" } }, () => storeKeys.providerSessionEnded("demo", "op-sid-2"), "9999999999999"],
  ] as const)("the record now names %s (its key set changed): the new keys are read and a marker on them ends it", async (_what, change, key, value) => {
    const rt = runtime();
    const { record } = await warm(rt);
    const changed = { ...record, ...change } as SignInRecord;
    await storeSignIn(rt, changed);
    await rt.store.set(key(changed), value, DAY_MS);
    rt.store.reads.length = 0;
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    expect(found).toMatchObject({ id: record.id, ended: true, inSession: false, healed: false });
    expect(found?.opened?.record).toEqual(changed);
    expect(rt.store.reads, "the cached keys, then the record's new ended keys").toEqual([[storeKeys.signIn(record.id), ...endedKeys(record)], endedKeys(changed)]);

    // The new keys are cached: the next request reads them, in one round trip.
    rt.store.reads.length = 0;
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]).toMatchObject({ ended: true });
    expect(rt.store.reads).toEqual([[storeKeys.signIn(record.id), ...endedKeys(changed)]]);
  });

  it("a changed key set without a marker on the new keys: not ended", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    const changed = { ...record, series: "series-quiet" };
    await storeSignIn(rt, changed);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    expect(found).toMatchObject({ ended: false, healed: false, inSession: false });
    expect(found?.opened?.record).toEqual(changed);
  });

  it("the record rewritten with the same keys (the hourly seenAt): the new record, one round trip, not ended", async () => {
    const rt = runtime();
    const { record, sealed } = await warm(rt, { series: "series-s", claims: { sid: "op-sid", sub: "op-sub" } });
    rt.clock.advanceSeconds(7200);
    const rewritten = { ...record, seenAt: rt.clock.now() };
    expect(await rewriteSignIn(rt, sealed, rewritten)).toBe(true);
    rt.store.reads.length = 0;
    for (let i = 0; i < 2; i += 1) {
      const [found] = await loadSignIns(rt, [["demo", record.id]]);
      expect(found).toMatchObject({ id: record.id, ended: false, inSession: false, healed: false, sealed: await sealedOf(rt, record.id) });
      expect(found?.opened?.record).toEqual(rewritten);
    }
    expect(rt.store.reads.filter((keys) => keys.length > 1), "one read per request").toEqual([
      [storeKeys.signIn(record.id), ...endedKeys(record)],
      [storeKeys.signIn(record.id), ...endedKeys(record)],
    ]);
  });

  it("after the record is rewritten with the same keys (the hourly seenAt), the next request is back on the fast path", async () => {
    const rt = runtime();
    const { record, sealed } = await warm(rt);
    rt.clock.advanceSeconds(7200);
    const rewritten = { ...record, seenAt: rt.clock.now() };
    expect(await rewriteSignIn(rt, sealed, rewritten)).toBe(true);
    // The first request after the rewrite opens the new record (general path) ...
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]?.opened?.record).toEqual(rewritten);
    // ... and every request after it settles in the store read's own callback again.
    for (let i = 0; i < 2; i += 1) {
      const { turns, found } = await turnsAfterTheRead(rt, [["demo", record.id]]);
      expect(found[0]?.opened?.record).toEqual(rewritten);
      expect(turns, "settled in the read's callback").toBeLessThanOrEqual(2);
    }
  });

  it("a rewritten record ended elsewhere reads ended on the instance that rewrote it", async () => {
    const rt = runtime();
    const { record, sealed } = await warm(rt);
    rt.clock.advanceSeconds(7200);
    expect(await rewriteSignIn(rt, sealed, { ...record, seenAt: rt.clock.now() })).toBe(true);
    await endUser(rt.config, "demo", "user-1", rt.clock.now());
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]).toMatchObject({ ended: true });
  });
});

describe("updateSignIn: compare-and-swap, read again when another write landed in between", () => {
  const refreshed = (r: SignInRecord): SignInRecord => ({ ...r, token: tokenJson("at-2"), refreshes: r.refreshes + 1 });

  it("rewrites the record it read: true, one swap", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    expect(await updateSignIn(rt, found!, refreshed)).toBe(true);
    expect(rt.store.swaps).toBe(1);
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]?.opened?.record).toEqual(refreshed(record));
  });

  it("a seenAt rewrite landed between the read and the write: the update goes onto the newer record", async () => {
    const rt = runtime();
    const { record, sealed } = await warm(rt);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    rt.clock.advanceSeconds(7200);
    const seen = { ...record, seenAt: rt.clock.now() };
    rt.store.beforeSwap = async () => {
      rt.store.beforeSwap = undefined;
      expect(await rewriteSignIn(rt, sealed, seen)).toBe(true);
    };
    expect(await updateSignIn(rt, found!, refreshed)).toBe(true);
    expect(rt.store.swaps, "the lost swap, the concurrent one, the retry").toBe(3);
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]?.opened?.record).toEqual(refreshed(seen));
  });

  it.each([
    ["removed (a logout)", async (rt: Rt, r: SignInRecord) => removeSignIn(rt, r.id)],
    ["rewritten, then ended elsewhere", async (rt: Rt, r: SignInRecord) => {
      await storeSignIn(rt, { ...r, seenAt: r.seenAt + 1 });
      await endSignIn(rt.config, r.id);
    }],
  ] as const)("the sign-in was %s between the read and the write: false, and the update is not written", async (_what, meanwhile) => {
    const rt = runtime();
    const { record } = await warm(rt);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    rt.store.beforeSwap = async () => {
      rt.store.beforeSwap = undefined;
      await meanwhile(rt, record);
    };
    expect(await updateSignIn(rt, found!, refreshed)).toBe(false);
    expect(rt.store.swaps).toBe(1);
    const [after] = await rt.store.getMany([storeKeys.signIn(record.id)]);
    if (after !== undefined) expect((await loadSignIns(rt, [["demo", record.id]]))[0]?.opened?.record.token).toBe(record.token);
  });

  it("a store where every swap is lost: gives up after three attempts, false", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    let n = 0;
    rt.store.beforeSwap = async () => {
      n += 1;
      await storeSignIn(rt, { ...record, seenAt: record.seenAt + n });
    };
    expect(await updateSignIn(rt, found!, refreshed)).toBe(false);
    expect(rt.store.swaps).toBe(3);
  });

  it("nothing to write (update gives undefined): true, no swap", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    expect(await updateSignIn(rt, found!, () => undefined)).toBe(true);
    expect(rt.store.swaps).toBe(0);
  });

  it("a sign-in found gone, without its sealed text, or ended: false, update never called, nothing written", async () => {
    const rt = runtime();
    const { record } = await warm(rt);
    const [found] = await loadSignIns(rt, [["demo", record.id]]);
    let calls = 0;
    const update = (r: SignInRecord): SignInRecord => ((calls += 1), refreshed(r));
    for (const variant of [{ opened: undefined }, { sealed: undefined }, { ended: true }]) {
      expect(await updateSignIn(rt, { ...found!, ...variant }, update), JSON.stringify(variant)).toBe(false);
    }
    expect(calls).toBe(0);
    expect(rt.store.swaps).toBe(0);
  });
});
