/**
 * lib/signin/stored.ts (where sign-in records live, one store round trip per request) and the
 * lifetime helpers it stands on (lib/signin/lifetime.ts: endedKeys, isEnded, recordTtlMs), with
 * real modules: the session-token sealer derived as fletAuth() derives it, the record and
 * ended-key caches, the in-memory flet-auth store — wrapped to count its round trips — and a
 * config carrying only what these functions read. Time is a manual clock.
 */
import type { Request } from "express";
import session from "express-session";
import { describe, expect, it } from "vitest";
import type { FletAuthConfig } from "../../../lib/config.js";
import { hkdfKey } from "../../../lib/crypto/keys.js";
import { createSealer } from "../../../lib/crypto/sealer.js";
import { OAuthToken } from "../../../lib/oauth/token.js";
import { ENDED_KEYS, RECORD_LINGER_MS, endSignIn, endUser, endedKeys, isEnded, recordLatestToken, recordTtlMs } from "../../../lib/signin/lifetime.js";
import { createRecordCache, sealRecord, type SignInRecord } from "../../../lib/signin/records.js";
import {
  createEndedKeyCache,
  loadSignIns,
  persistSignIn,
  recordsInStore,
  removeSignIn,
  rewriteSignIn,
  storeSignIn,
  type SignInStore,
} from "../../../lib/signin/stored.js";
import { createMemoryStore } from "../../../lib/store/memory.js";
import { storeKeys, type FletAuthStore } from "../../../lib/store/store.js";
import { createInspectableStore, JsonSessionStore } from "../../helpers/record-stores.js";
import { manualClock, type ManualClock } from "../../helpers/refresh-harness.js";

const SECRET = "unit-session-secret-0123456789abcdef0123";
const DAY_MS = 86_400_000;
const CENTURY_MS = 100 * 365 * DAY_MS;

/** A store that counts and keeps the keys of each getMany (one round trip each). */
function counting(inner: FletAuthStore): FletAuthStore & { readonly reads: string[][] } {
  const reads: string[][] = [];
  return {
    reads,
    getMany(keys) {
      reads.push([...keys]);
      return inner.getMany(keys);
    },
    set: (key, value, ttlMs, options) => inner.set(key, value, ttlMs, options),
    swap: (key, expected, value, ttlMs) => inner.swap(key, expected, value, ttlMs),
    delete: (key) => inner.delete(key),
  };
}

/** What these functions read of the config. */
type StoredConfig = Pick<FletAuthConfig, "store" | "clock" | "idleTimeoutMs" | "absoluteTimeoutMs" | "storeGiven">;

interface Rt extends SignInStore {
  readonly clock: ManualClock;
  readonly store: FletAuthStore & { readonly reads: string[][] };
}

/** A SignInStore as fletAuth() builds one; `shared` gives another instance on the same store. */
function runtime(
  options: { shared?: Rt; idleTimeoutMs?: number; absoluteTimeoutMs?: number; storeGiven?: boolean; backing?: FletAuthStore; clock?: ManualClock } = {},
): Rt {
  const clock = options.shared?.clock ?? options.clock ?? manualClock();
  const store = counting(options.shared?.store ?? options.backing ?? createMemoryStore({ clock: clock.fn }));
  const config: StoredConfig = {
    store,
    clock: clock.fn,
    idleTimeoutMs: options.idleTimeoutMs ?? DAY_MS,
    absoluteTimeoutMs: options.absoluteTimeoutMs ?? 7 * DAY_MS,
    storeGiven: options.storeGiven ?? true,
  };
  return {
    clock,
    store,
    // Only the fields above are read by stored.ts and lifetime.ts.
    config: config as FletAuthConfig,
    tokens: createSealer(SECRET, "session-token", { now: clock.fn, derive: hkdfKey }),
    records: createRecordCache(),
    endedKeys: createEndedKeyCache(),
  };
}

let serial = 0;
/** A fresh 22-character sign-in id. */
function newId(): string {
  serial += 1;
  return Buffer.from(`sign-in-${String(serial).padStart(8, "0")}`).toString("base64url").slice(0, 22);
}

function tokenJson(access: string, refresh = `rt-${access}`): string {
  return new OAuthToken({ accessToken: access, refreshToken: refresh, tokenType: "Bearer", expiresAt: 1_900_000_000 }).toJson();
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

/** A request whose session lives in `store`. */
function requestWith(store: session.Store): Request {
  return { sessionStore: store } as unknown as Request;
}

describe("loadSignIns: one store round trip per request", () => {
  it("the first request of a sign-in makes two getMany; once its ended keys are cached, one", async () => {
    const rt = runtime();
    const record = recordOf(rt, { series: "series-1", claims: { sid: "op-sid", sub: "op-sub" } });
    await storeSignIn(rt, record);

    const first = await loadSignIns(rt, [["demo", record.id]]);
    expect(rt.store.reads, "record + own ended key, then the ended keys the record names").toEqual([
      [storeKeys.signIn(record.id), storeKeys.endedSignIn(record.id)],
      endedKeys(record),
    ]);
    expect(first).toEqual([expect.objectContaining({ name: "demo", id: record.id, ended: false, inSession: false, healed: false })]);
    expect(first[0]!.opened?.record).toEqual(record);

    rt.store.reads.length = 0;
    const again = await loadSignIns(rt, [["demo", record.id]]);
    expect(rt.store.reads).toEqual([[storeKeys.signIn(record.id), ...endedKeys(record)]]);
    expect(again[0]).toMatchObject({ id: record.id, ended: false, sealed: first[0]!.sealed });
    expect(again[0]!.opened?.record).toEqual(record);
  });

  it("several sign-ins of one session, ended keys cached: still one getMany", async () => {
    const rt = runtime();
    const a = recordOf(rt);
    const b = recordOf(rt, { provider: "other", user: { id: "user-2", groups: [] } });
    await storeSignIn(rt, a);
    await storeSignIn(rt, b);
    const refs = [["demo", a.id], ["other", b.id]] as const;
    await loadSignIns(rt, refs);
    rt.store.reads.length = 0;
    const found = await loadSignIns(rt, refs);
    expect(rt.store.reads).toHaveLength(1);
    expect(found.map((f) => [f.name, f.opened?.record.id])).toEqual([
      ["demo", a.id],
      ["other", b.id],
    ]);
  });

  it("another instance (cold ended-key cache) pays the second round trip once, then one", async () => {
    const rt = runtime();
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    await loadSignIns(rt, [["demo", record.id]]);
    const other = runtime({ shared: rt });
    await loadSignIns(other, [["demo", record.id]]);
    expect(other.store.reads).toHaveLength(2);
    other.store.reads.length = 0;
    await loadSignIns(other, [["demo", record.id]]);
    expect(other.store.reads).toHaveLength(1);
  });

  it("a record kept in the session: one getMany for its ended keys and latest:<id>", async () => {
    const rt = runtime({ storeGiven: false });
    const record = recordOf(rt);
    const sealed = await sealRecord(rt, record);
    const [found] = await loadSignIns(rt, [["demo", sealed]]);
    expect(rt.store.reads).toEqual([[...endedKeys(record), storeKeys.latestToken(record.id)]]);
    expect(found).toMatchObject({ name: "demo", id: record.id, sealed, inSession: true, ended: false, healed: false });
    expect(found!.opened?.record).toEqual(record);
  });

  it("a session mixing an id, a record kept in the session and garbage: each read right, in order, one getMany once warm", async () => {
    const rt = runtime();
    const inStore = recordOf(rt);
    const inSession = recordOf(rt, { provider: "other", user: { id: "user-2", groups: [] }, series: "series-2" });
    const third = recordOf(rt, { provider: "third", user: undefined });
    await storeSignIn(rt, inStore);
    await storeSignIn(rt, third);
    const sealed = await sealRecord(rt, inSession);
    await endSignIn(rt.config, third.id);
    const refs = [
      ["junk", "not a record"],
      ["demo", inStore.id],
      ["other", sealed],
      ["third", third.id],
    ] as const;
    const check = (found: Awaited<ReturnType<typeof loadSignIns>>): void => {
      expect(found.map((f) => [f.name, f.id, f.opened?.record.id, f.inSession, f.ended])).toEqual([
        ["junk", "not a record", undefined, true, false],
        ["demo", inStore.id, inStore.id, false, false],
        ["other", inSession.id, inSession.id, true, false],
        ["third", third.id, third.id, false, true],
      ]);
    };
    check(await loadSignIns(rt, refs));
    rt.store.reads.length = 0;
    check(await loadSignIns(rt, refs));
    expect(rt.store.reads).toHaveLength(1);
  });

  it("nothing named: no round trip", async () => {
    const rt = runtime();
    expect(await loadSignIns(rt, [])).toEqual([]);
    expect(rt.store.reads).toEqual([]);
  });
});

describe("loadSignIns: what does not open reads as gone, never a throw", () => {
  it.each([
    ["garbage", "not a sealed record"],
    ["empty", ""],
    ["a Fernet prefix", "gAAAAA"],
    ["21 characters", "A".repeat(21)],
    ["23 characters", "A".repeat(23)],
    ["22 characters, one not base64url", `${"A".repeat(21)}=`],
    ["plain JSON", JSON.stringify({ id: "x", provider: "demo", token: tokenJson("planted") })],
  ])("a session value that is neither a sign-in id nor a sealed record (%s) → opened undefined", async (_what, value) => {
    const rt = runtime();
    const found = await loadSignIns(rt, [["demo", value]]);
    expect(found).toEqual([{ name: "demo", id: value, opened: undefined, sealed: value, ended: false, inSession: true, healed: false }]);
    expect(rt.store.reads, "nothing to look up").toEqual([]);
  });

  it("an id with no record (expired, removed) → opened undefined, not ended", async () => {
    const rt = runtime();
    const id = newId();
    const [found] = await loadSignIns(rt, [["demo", id]]);
    expect(found).toMatchObject({ id, opened: undefined, ended: false, inSession: false });
  });

  it("a stored value that does not open (tampered, other secret) → opened undefined", async () => {
    const rt = runtime();
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    const sealed = (await rt.store.getMany([storeKeys.signIn(record.id)]))[0]!;
    await rt.store.set(storeKeys.signIn(record.id), `${sealed.slice(0, -6)}AAAAAA`, DAY_MS);
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]!.opened).toBeUndefined();

    const foreign = runtime({ shared: rt });
    // Sealed by an app with another secret (its own cache of opened records).
    const stranger = { ...foreign, tokens: createSealer("another-secret-0123456789abcdef0123456", "session-token", { now: rt.clock.fn, derive: hkdfKey }), records: createRecordCache() };
    await storeSignIn(stranger, record);
    expect((await loadSignIns(foreign, [["demo", record.id]]))[0]!.opened).toBeUndefined();
  });

  it("a record filed under another id (entries swapped in the store) is refused, by the instance that sealed it and by another", async () => {
    const rt = runtime();
    const mine = recordOf(rt);
    const theirs = recordOf(rt);
    await storeSignIn(rt, mine);
    await storeSignIn(rt, theirs);
    const [sealedMine, sealedTheirs] = await rt.store.getMany([storeKeys.signIn(mine.id), storeKeys.signIn(theirs.id)]);
    await rt.store.set(storeKeys.signIn(mine.id), sealedTheirs!, DAY_MS);
    await rt.store.set(storeKeys.signIn(theirs.id), sealedMine!, DAY_MS);

    for (const instance of [rt, runtime({ shared: rt })]) {
      const found = await loadSignIns(instance, [["demo", mine.id]]);
      expect(found[0]).toMatchObject({ id: mine.id, opened: undefined, ended: false });
      expect((await loadSignIns(instance, [["demo", theirs.id]]))[0]!.opened).toBeUndefined();
    }
  });

  it("a record of another provider under this provider's name is refused", async () => {
    const rt = runtime();
    const record = recordOf(rt, { provider: "other" });
    await storeSignIn(rt, record);
    for (const instance of [rt, runtime({ shared: rt })]) {
      expect((await loadSignIns(instance, [["demo", record.id]]))[0]!.opened).toBeUndefined();
      expect((await loadSignIns(instance, [["other", record.id]]))[0]!.opened?.record.id).toBe(record.id);
    }
    const sealed = await sealRecord(rt, record);
    expect((await loadSignIns(rt, [["demo", sealed]]))[0]!.opened).toBeUndefined();
  });
});

describe("loadSignIns: ended elsewhere", () => {
  it("ended is true when ended:<id> exists even though the record is gone (a logout removed it)", async () => {
    const rt = runtime();
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    await loadSignIns(rt, [["demo", record.id]]);
    await endSignIn(rt.config, record.id);
    await removeSignIn(rt, record.id);
    expect(await rt.store.getMany([storeKeys.signIn(record.id)])).toEqual([undefined]);

    // Warm ended-key cache, and another instance's cold one.
    for (const instance of [rt, runtime({ shared: rt })]) {
      const [found] = await loadSignIns(instance, [["demo", record.id]]);
      expect(found).toMatchObject({ id: record.id, opened: undefined, ended: true });
    }
  });

  it.each([
    ["its own ended:<id>", async (rt: Rt, r: SignInRecord) => endSignIn(rt.config, r.id)],
    ["sign out everywhere of its user", async (rt: Rt, r: SignInRecord) => endUser(rt.config, "demo", r.user!.id, rt.clock.now())],
    ["its remember-me series revoked", async (rt: Rt, r: SignInRecord) => void (await rt.store.set(storeKeys.endedSeries(r.series!), "1", DAY_MS))],
    ["back-channel logout of its sid", async (rt: Rt, r: SignInRecord) => void (await rt.store.set(storeKeys.providerSessionEnded("demo", "op-sid"), String(r.signedInAt), DAY_MS))],
    ["back-channel logout of its sub", async (rt: Rt, r: SignInRecord) => void (await rt.store.set(storeKeys.subjectEndedBefore("demo", "op-sub"), String(r.signedInAt), DAY_MS))],
  ])("a stored record ended by %s reads ended, on the first request and with the cache warm", async (_what, end) => {
    const rt = runtime();
    const record = recordOf(rt, { series: "series-9", claims: { sid: "op-sid", sub: "op-sub" } });
    await storeSignIn(rt, record);
    await loadSignIns(rt, [["demo", record.id]]);
    await end(rt, record);
    const cold = runtime({ shared: rt });
    expect((await loadSignIns(cold, [["demo", record.id]]))[0]).toMatchObject({ ended: true });
    rt.store.reads.length = 0;
    const [warm] = await loadSignIns(rt, [["demo", record.id]]);
    expect(warm).toMatchObject({ ended: true });
    expect(warm!.opened?.record.id).toBe(record.id);
    expect(rt.store.reads).toHaveLength(1);
  });

  it("a record kept in the session reads ended when ended:<id> exists", async () => {
    const rt = runtime({ storeGiven: false });
    const record = recordOf(rt);
    const sealed = await sealRecord(rt, record);
    await endSignIn(rt.config, record.id);
    expect((await loadSignIns(rt, [["demo", sealed]]))[0]).toMatchObject({ ended: true, inSession: true });
  });
});

describe("loadSignIns: a record kept in the session heals from latest:<id>", () => {
  it("a newer token in the store replaces the session copy's", async () => {
    const rt = runtime({ storeGiven: false });
    const record = recordOf(rt, { refreshes: 2 });
    const sealed = await sealRecord(rt, record);
    await recordLatestToken(rt.config, record.id, 3, await rt.tokens.seal(tokenJson("at-4")));
    const [found] = await loadSignIns(rt, [["demo", sealed]]);
    expect(found).toMatchObject({ healed: true, inSession: true, id: record.id });
    expect(found!.opened?.record).toEqual({ ...record, token: tokenJson("at-4"), refreshes: 3 });
    expect(found!.opened?.token.accessToken).toBe("at-4");
  });

  it.each([
    ["as old as the copy", async (rt: Rt, id: string) => recordLatestToken(rt.config, id, 2, await rt.tokens.seal(tokenJson("at-old")))],
    ["older than the copy", async (rt: Rt, id: string) => recordLatestToken(rt.config, id, 1, await rt.tokens.seal(tokenJson("at-old")))],
    ["not sealed", async (rt: Rt, id: string) => void (await rt.store.set(storeKeys.latestToken(id), `9|${tokenJson("planted")}`, DAY_MS))],
    ["without a count", async (rt: Rt, id: string) => void (await rt.store.set(storeKeys.latestToken(id), await rt.tokens.seal(tokenJson("planted")), DAY_MS))],
    ["sealed, not a token", async (rt: Rt, id: string) => recordLatestToken(rt.config, id, 9, await rt.tokens.seal("not json"))],
  ])("a latest token %s is ignored", async (_what, plant) => {
    const rt = runtime({ storeGiven: false });
    const record = recordOf(rt, { refreshes: 2 });
    const sealed = await sealRecord(rt, record);
    await plant(rt, record.id);
    const [found] = await loadSignIns(rt, [["demo", sealed]]);
    expect(found).toMatchObject({ healed: false });
    expect(found!.opened?.record).toEqual(record);
  });
});

describe("where a sign-in is persisted", () => {
  it("store given, or MemoryStore sessions: the record goes to the store, the session gets its id", async () => {
    for (const [storeGiven, sessions] of [
      [true, new JsonSessionStore()],
      [false, new session.MemoryStore()],
      [true, new session.MemoryStore()],
    ] as const) {
      const rt = runtime({ storeGiven });
      const req = requestWith(sessions);
      expect(recordsInStore(rt, req)).toBe(true);
      const record = recordOf(rt);
      expect(await persistSignIn(rt, req, record)).toBe(record.id);
      expect((await loadSignIns(rt, [["demo", record.id]]))[0]!.opened?.record).toEqual(record);
    }
  });

  it("default store and sessions in another store: the session gets the sealed record, the store nothing", async () => {
    const clock = manualClock();
    const backing = createInspectableStore(clock.fn);
    const rt = runtime({ clock, storeGiven: false, backing });
    const req = requestWith(new JsonSessionStore());
    expect(recordsInStore(rt, req)).toBe(false);
    const record = recordOf(rt);
    const kept = await persistSignIn(rt, req, record);
    expect(kept).not.toBe(record.id);
    expect(backing.entries().size).toBe(0);
    expect((await loadSignIns(rt, [["demo", kept]]))[0]).toMatchObject({ inSession: true, id: record.id });
  });
});

describe("rewriteSignIn: compare-and-swap", () => {
  it("rewrites the record when the store still holds what was read", async () => {
    const rt = runtime();
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    const [read] = await loadSignIns(rt, [["demo", record.id]]);
    rt.clock.advanceSeconds(7200);
    expect(await rewriteSignIn(rt, read!.sealed!, { ...record, seenAt: rt.clock.now() })).toBe(true);
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]!.opened?.record.seenAt).toBe(rt.clock.now());
  });

  it("does nothing when the stored value changed since (a refresh stored a newer token)", async () => {
    const rt = runtime();
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    const [read] = await loadSignIns(rt, [["demo", record.id]]);
    const refreshed = { ...record, token: tokenJson("at-2"), refreshes: 1 };
    await storeSignIn(rt, refreshed);
    const newer = (await rt.store.getMany([storeKeys.signIn(record.id)]))[0];

    rt.clock.advanceSeconds(7200);
    expect(await rewriteSignIn(rt, read!.sealed!, { ...record, seenAt: rt.clock.now() })).toBe(false);
    expect((await rt.store.getMany([storeKeys.signIn(record.id)]))[0], "the newer record stays").toBe(newer);
    expect((await loadSignIns(rt, [["demo", record.id]]))[0]!.opened?.record).toEqual(refreshed);
  });

  it("does nothing when the record is gone (a logout removed it)", async () => {
    const rt = runtime();
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    const [read] = await loadSignIns(rt, [["demo", record.id]]);
    await removeSignIn(rt, record.id);
    expect(await rewriteSignIn(rt, read!.sealed!, { ...record, seenAt: rt.clock.now() })).toBe(false);
    expect(await rt.store.getMany([storeKeys.signIn(record.id)])).toEqual([undefined]);
  });
});

describe("recordTtlMs and the stored record's expiry", () => {
  const config = (idleTimeoutMs: number, absoluteTimeoutMs: number) => ({ idleTimeoutMs, absoluteTimeoutMs }) as FletAuthConfig;
  const NOW = 1_800_000_000_000;
  const at = (signedInAgo: number, seenAgo: number): SignInRecord =>
    ({ id: "x".repeat(22), provider: "demo", token: "{}", user: undefined, fetchUser: false, fetchGroups: false, scope: [], signedInAt: NOW - signedInAgo, seenAt: NOW - seenAgo, refreshes: 0 }) as SignInRecord;

  it.each([
    ["fresh: the idle lifetime ends first", at(0, 0), config(DAY_MS, 7 * DAY_MS), DAY_MS + RECORD_LINGER_MS],
    ["seen an hour ago", at(3_600_000, 3_600_000), config(DAY_MS, 7 * DAY_MS), DAY_MS - 3_600_000 + RECORD_LINGER_MS],
    ["old sign-in, seen now: the absolute lifetime ends first", at(6.5 * DAY_MS, 0), config(DAY_MS, 7 * DAY_MS), 0.5 * DAY_MS + RECORD_LINGER_MS],
    ["idle lifetime off", at(2 * DAY_MS, 2 * DAY_MS), config(Infinity, 7 * DAY_MS), 5 * DAY_MS + RECORD_LINGER_MS],
    ["absolute lifetime off", at(30 * DAY_MS, 0), config(DAY_MS, Infinity), DAY_MS + RECORD_LINGER_MS],
    ["ended a while ago, within the linger", at(9 * DAY_MS, 3 * DAY_MS), config(DAY_MS, 7 * DAY_MS), 5 * DAY_MS],
    ["ended longer ago than the linger: at least 1 ms", at(30 * DAY_MS, 30 * DAY_MS), config(DAY_MS, 7 * DAY_MS), 1],
    ["both lifetimes off: a century, finite", at(0, 0), config(Infinity, Infinity), CENTURY_MS],
    ["both off, an old sign-in: still a century", at(900 * DAY_MS, 900 * DAY_MS), config(Infinity, Infinity), CENTURY_MS],
  ])("%s", (_what, record, cfg, expected) => {
    const ttl = recordTtlMs(record, NOW, cfg);
    expect(ttl).toBe(expected);
    expect(Number.isFinite(ttl) && ttl >= 1).toBe(true);
  });

  it("RECORD_LINGER_MS is 7 days", () => {
    expect(RECORD_LINGER_MS).toBe(7 * DAY_MS);
  });

  it("storeSignIn and rewriteSignIn store the record for that long", async () => {
    const clock = manualClock();
    const backing = createInspectableStore(clock.fn);
    const rt = runtime({ clock, backing, idleTimeoutMs: 2 * DAY_MS, absoluteTimeoutMs: 10 * DAY_MS });
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    const key = storeKeys.signIn(record.id);
    expect(backing.expiresAt(key)).toBe(clock.now() + 2 * DAY_MS + RECORD_LINGER_MS);

    const [read] = await loadSignIns(rt, [["demo", record.id]]);
    clock.advanceSeconds(86_400);
    expect(await rewriteSignIn(rt, read!.sealed!, { ...record, seenAt: clock.now() })).toBe(true);
    // Idle now ends 2 days from now, before the absolute end (9 days from now).
    expect(backing.expiresAt(key)).toBe(clock.now() + 2 * DAY_MS + RECORD_LINGER_MS);
  });

  it("with both lifetimes off, the store is given a finite TTL", async () => {
    const clock = manualClock();
    const backing = createInspectableStore(clock.fn);
    const rt = runtime({ clock, backing, idleTimeoutMs: Infinity, absoluteTimeoutMs: Infinity });
    const record = recordOf(rt);
    await storeSignIn(rt, record);
    expect(backing.expiresAt(storeKeys.signIn(record.id))).toBe(clock.now() + CENTURY_MS);
  });
});

describe("endedKeys and isEnded", () => {
  const base: SignInRecord = {
    id: "A".repeat(22),
    provider: "demo",
    token: "{}",
    user: { id: "user-1", groups: [] },
    fetchUser: true,
    fetchGroups: false,
    scope: [],
    signedInAt: 1_000,
    seenAt: 1_000,
    refreshes: 0,
    series: "series-1",
    claims: { sid: "op-sid", sub: "op-sub" },
  };
  const own = storeKeys.endedSignIn(base.id);

  it("names, in a fixed order, the sign-in, its user, its OP session, its subject and its series", () => {
    expect(ENDED_KEYS).toBe(5);
    expect(endedKeys(base)).toEqual([
      own,
      storeKeys.userEndedBefore("demo", "user-1"),
      storeKeys.providerSessionEnded("demo", "op-sid"),
      storeKeys.subjectEndedBefore("demo", "op-sub"),
      storeKeys.endedSeries("series-1"),
    ]);
  });

  it("repeats its own key where a part does not apply", () => {
    const bare: SignInRecord = { ...base, user: undefined, series: undefined, claims: { sid: 7 } };
    expect(endedKeys(bare)).toEqual([own, own, own, own, own]);
  });

  const none = [undefined, undefined, undefined, undefined, undefined];
  const only = (i: number, value: string): Array<string | undefined> => none.map((v, j) => (j === i ? value : v));

  it.each([
    ["nothing set", false, none],
    ["its own ended mark", true, only(0, "1")],
    ["its user signed out everywhere at its sign-in", true, only(1, "1000")],
    ["its user signed out everywhere after", true, only(1, "5000")],
    ["its user signed out everywhere before it signed in", false, only(1, "999")],
    ["its OP session ended at its sign-in", true, only(2, "1000")],
    ["its OP session ended before it signed in", false, only(2, "999")],
    ["its subject ended after", true, only(3, "1001")],
    ["its subject ended before it signed in", false, only(3, "1")],
    ["its series revoked (whenever)", true, only(4, "1")],
    ["a value that is not a time", false, only(1, "soon")],
  ])("%s → ended: %s", (_what, ended, values) => {
    expect(isEnded(base, values)).toBe(ended);
  });

  it("a part the record lacks does not end it, whatever its slot holds", () => {
    const bare: SignInRecord = { ...base, user: undefined, series: undefined, claims: undefined };
    for (const i of [1, 2, 3, 4]) expect(isEnded(bare, only(i, "5000")), `slot ${i}`).toBe(false);
  });
});

describe("createEndedKeyCache", () => {
  it("keeps at most maxEntries ids, the oldest leaving first; updating a known id evicts nothing", () => {
    const cache = createEndedKeyCache(2);
    cache.set("a", ["ka"]);
    cache.set("b", ["kb"]);
    cache.set("a", ["ka2"]);
    expect([cache.get("a"), cache.get("b")]).toEqual([["ka2"], ["kb"]]);
    cache.set("c", ["kc"]);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, ["kb"], ["kc"]]);
  });
});
