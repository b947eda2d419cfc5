/**
 * lib/signin/records.ts (opening sealed sign-in records: what a stored entry must look like to be
 * believed), lib/signin/lifetime.ts (how long the store keeps ended markers and latest tokens, when
 * `seenAt` is rewritten) and lib/signin/authorization.ts (construction and getToken's single
 * flight), called directly with the real sealer and an in-memory store that records every write.
 */
import { describe, expect, it, vi } from "vitest";
import type { FletAuthConfig } from "../../../lib/config.js";
import { hkdfKey } from "../../../lib/crypto/keys.js";
import { createSealer } from "../../../lib/crypto/sealer.js";
import { OAuthToken } from "../../../lib/oauth/token.js";
import type { OAuthProvider } from "../../../lib/providers/provider.js";
import { Authorization, createAuthorization, type AuthorizationInit } from "../../../lib/signin/authorization.js";
import * as lifetime from "../../../lib/signin/lifetime.js";
import { createRecordCache, openRecord, sealRecord, type RecordKeeper, type SignInRecord } from "../../../lib/signin/records.js";
import { createMemoryStore } from "../../../lib/store/memory.js";
import { storeKeys, type FletAuthStore } from "../../../lib/store/store.js";
import { manualClock } from "../../helpers/refresh-harness.js";

const SECRET = "unit-session-secret-0123456789abcdef0123";
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MAX_RECORD_MS = 400 * DAY_MS;

type LifetimeModule = typeof lifetime;

/**
 * lifetime.ts evaluated afresh (its own module instance): its constants are computed at import,
 * so a suite that shares one module graph would otherwise keep the first evaluation's values.
 */
async function freshLifetime(): Promise<LifetimeModule> {
  vi.resetModules();
  return (await import("../../../lib/signin/lifetime.js")) as LifetimeModule;
}

interface Write {
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number;
}

/** A memory store that records each set(key, value, ttlMs). */
function recordingStore(clock: () => number): FletAuthStore & { readonly writes: Write[] } {
  const inner = createMemoryStore({ clock });
  const writes: Write[] = [];
  return {
    writes,
    getMany: (keys) => inner.getMany(keys),
    set(key, value, ttlMs, options) {
      writes.push({ key, value, ttlMs });
      return inner.set(key, value, ttlMs, options);
    },
    swap: (key, expected, value, ttlMs) => inner.swap(key, expected, value, ttlMs),
    delete: (key) => inner.delete(key),
  };
}

function configWith(options: { absoluteTimeoutMs: number; idleTimeoutMs?: number; rememberMaxAgeMs?: number }): FletAuthConfig & { store: ReturnType<typeof recordingStore> } {
  const clock = manualClock();
  return {
    store: recordingStore(clock.fn),
    clock: clock.fn,
    absoluteTimeoutMs: options.absoluteTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DAY_MS,
    rememberMe: options.rememberMaxAgeMs === undefined ? undefined : { maxAgeMs: options.rememberMaxAgeMs },
  } as unknown as FletAuthConfig & { store: ReturnType<typeof recordingStore> };
}

const ID = "B".repeat(22);

describe("lifetime: how long the store keeps what a sign-in leaves behind", () => {
  it("an ended-sign-in marker is the value \"1\" under ended:<id>, kept as long as the absolute lifetime", async () => {
    const config = configWith({ absoluteTimeoutMs: 7 * DAY_MS });
    await lifetime.endSignIn(config, ID);
    expect(config.store.writes).toEqual([{ key: storeKeys.endedSignIn(ID), value: "1", ttlMs: 7 * DAY_MS }]);
  });

  it("an ended-sign-in marker with the absolute lifetime off lives MAX_RECORD_MS (400 days)", async () => {
    const { endSignIn } = await freshLifetime();
    const config = configWith({ absoluteTimeoutMs: Infinity });
    await endSignIn(config, ID);
    expect(config.store.writes).toEqual([{ key: storeKeys.endedSignIn(ID), value: "1", ttlMs: MAX_RECORD_MS }]);
  });

  it("the latest token of a record kept in the session lives as long as the absolute lifetime, capped at 400 days", async () => {
    const short = configWith({ absoluteTimeoutMs: 3 * DAY_MS });
    await lifetime.recordLatestToken(short, ID, 4, "sealed-text");
    expect(short.store.writes).toEqual([{ key: storeKeys.latestToken(ID), value: "4|sealed-text", ttlMs: 3 * DAY_MS }]);
    const off = configWith({ absoluteTimeoutMs: Infinity });
    await lifetime.recordLatestToken(off, ID, 1, "s");
    expect(off.store.writes.map((w) => w.ttlMs)).toEqual([MAX_RECORD_MS]);
  });

  it("sign out everywhere lasts the longer of the absolute lifetime and remember-me's max age, capped at 400 days", async () => {
    const remembered = configWith({ absoluteTimeoutMs: 2 * DAY_MS, rememberMaxAgeMs: 30 * DAY_MS });
    await lifetime.endUser(remembered, "demo", "user-1", 1234);
    expect(remembered.store.writes).toEqual([{ key: storeKeys.userEndedBefore("demo", "user-1"), value: "1234", ttlMs: 30 * DAY_MS }]);
    const absolute = configWith({ absoluteTimeoutMs: 9 * DAY_MS });
    await lifetime.endUser(absolute, "demo", "user-1", 1);
    expect(absolute.store.writes.map((w) => w.ttlMs)).toEqual([9 * DAY_MS]);
    const off = configWith({ absoluteTimeoutMs: Infinity, rememberMaxAgeMs: 30 * DAY_MS });
    await lifetime.endUser(off, "demo", "user-1", 1);
    expect(off.store.writes.map((w) => w.ttlMs)).toEqual([MAX_RECORD_MS]);
  });

  it("RECORD_LINGER_MS, as the module computes it, is 7 days", async () => {
    expect((await freshLifetime()).RECORD_LINGER_MS).toBe(7 * DAY_MS);
  });

  it("seenAt is rewritten after 1/24 of the idle lifetime when that is under an hour, and after an hour otherwise", () => {
    const record = { seenAt: 0 } as SignInRecord;
    const twoDays = { idleTimeoutMs: 2 * DAY_MS } as FletAuthConfig;
    // 1/24 of two days is two hours: the hour cap applies.
    expect(lifetime.seenAtDue(record, HOUR_MS - 1, twoDays)).toBe(false);
    expect(lifetime.seenAtDue(record, HOUR_MS, twoDays)).toBe(true);
    const twelveHours = { idleTimeoutMs: 12 * HOUR_MS } as FletAuthConfig;
    expect(lifetime.seenAtDue(record, HOUR_MS / 2 - 1, twelveHours)).toBe(false);
    expect(lifetime.seenAtDue(record, HOUR_MS / 2, twelveHours)).toBe(true);
  });
});

/** A sealer and a cold cache, as fletAuth() builds them. */
function keeper(): RecordKeeper {
  const clock = manualClock();
  return { tokens: createSealer(SECRET, "session-token", { now: clock.fn, derive: hkdfKey }), records: createRecordCache() };
}

const TOKEN = new OAuthToken({ accessToken: "at-1", refreshToken: "rt-1", tokenType: "Bearer", expiresAt: 1_900_000_000 }).toJson();

/** A stored record as JSON: every field valid, then `overrides` (undefined removes a field). */
function storedJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: ID,
    provider: "demo",
    token: TOKEN,
    user: { id: "user-1", groups: [{ name: "team" }], profile: { email: "a@example.test" } },
    fetchUser: true,
    fetchGroups: false,
    scope: ["openid", "profile"],
    signedInAt: 1_000,
    seenAt: 2_000,
    refreshes: 0,
  };
  const out = { ...base, ...overrides };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

/** Opens `value` sealed as a stored entry would be, with a cold cache (parsed, not cached). */
async function openStoredJson(value: unknown, name = "demo"): Promise<SignInRecord | undefined> {
  const rt = keeper();
  const sealed = await rt.tokens.seal(JSON.stringify(value));
  return (await openRecord(rt, name, sealed))?.record;
}

describe("openRecord: what a stored record must look like to be believed", () => {
  it("a well-formed record opens with exactly its fields, no others", async () => {
    expect(await openStoredJson(storedJson())).toStrictEqual(storedJson());
  });

  it("a record with an ID token and claims opens with both; series kept", async () => {
    const json = storedJson({ idToken: "header.payload.sig", claims: { sub: "op-sub", sid: "op-sid" }, series: "series-1" });
    const opened = await openStoredJson(json);
    expect(opened).toStrictEqual(json);
    expect(opened?.idToken).toBe("header.payload.sig");
  });

  it("a record without a user (fetchUser off) opens with user undefined", async () => {
    const opened = await openStoredJson(storedJson({ user: undefined, fetchUser: false }));
    expect(opened).toBeDefined();
    expect(opened?.user).toBe(undefined);
  });

  it("a stored user of null opens as no user (undefined, not null)", async () => {
    const opened = await openStoredJson(storedJson({ user: null, fetchUser: false }));
    expect(opened).toBeDefined();
    expect(opened?.user).toBe(undefined);
  });

  it.each([
    ["a scope holding a non-string", { scope: ["openid", 7] }],
    ["a scope holding only non-strings", { scope: [1, 2] }],
    ["an ID token that is not a string", { idToken: 5 }],
    ["claims that are not an object", { claims: "sub=op-sub" }],
    ["claims that are an array", { claims: ["op-sub"] }],
    ["a user whose id is not a string", { user: { id: 5, groups: [] } }],
    ["a user without groups", { user: { id: "user-1" } }],
    ["a user that is a string", { user: "user-1" }],
  ])("a record with %s is refused", async (_what, overrides) => {
    expect(await openStoredJson(storedJson(overrides))).toBeUndefined();
  });

  it("an opened record is frozen throughout: its user, the user's groups and nested profile, its claims", async () => {
    const opened = await openStoredJson(storedJson({ claims: { sub: "op-sub", address: { country: "NL" } } }));
    expect(opened).toBeDefined();
    const r = opened as SignInRecord;
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.user)).toBe(true);
    expect(Object.isFrozen(r.user?.groups)).toBe(true);
    expect(Object.isFrozen(r.user?.groups[0])).toBe(true);
    expect(Object.isFrozen(r.user?.["profile"])).toBe(true);
    expect(Object.isFrozen(r.claims)).toBe(true);
    expect(Object.isFrozen(r.claims?.["address"])).toBe(true);
  });

  it("a record just sealed (opened from the cache) opens for its own provider only", async () => {
    const rt = keeper();
    const record = storedJson() as unknown as SignInRecord;
    const sealed = await sealRecord(rt, record);
    expect(await openRecord(rt, "other", sealed)).toBeUndefined();
    const opened = await openRecord(rt, "demo", sealed);
    expect(opened?.record.id).toBe(ID);
    expect(opened?.token.accessToken).toBe("at-1");
  });
});

/** An init for createAuthorization, with a refresher that counts its calls. */
function authInit(token: OAuthToken, refresh: (n: number) => Promise<OAuthToken>, now: () => number): { init: AuthorizationInit; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    init: {
      provider: "demo",
      oauthProvider: {} as OAuthProvider,
      token,
      user: undefined,
      fetchUser: false,
      fetchGroups: false,
      scope: ["openid"],
      refreshMarginMs: 60_000,
      clock: now,
      refresher: () => {
        calls += 1;
        return refresh(calls);
      },
    },
  };
}

const tokenExpiringAt = (expiresAt: number, access = "at"): OAuthToken => new OAuthToken({ accessToken: access, refreshToken: "rt", tokenType: "Bearer", expiresAt });

describe("Authorization", () => {
  it("apps cannot construct one: the constructor throws a TypeError that says where they come from", () => {
    const { init } = authInit(tokenExpiringAt(2_000_000_000), () => Promise.reject(new Error("no")), () => 0);
    const Ctor = Authorization as unknown as new (key: symbol, init: AuthorizationInit) => Authorization;
    expect(() => new Ctor(Symbol("flet-auth:Authorization"), init)).toThrow(TypeError);
    expect(() => new Ctor(Symbol("flet-auth:Authorization"), init)).toThrow(/apps do not construct them/);
  });

  it("getToken returns a token that is not expiring without refreshing it", async () => {
    const token = tokenExpiringAt(2_000_000_000);
    const { init, calls } = authInit(token, () => Promise.resolve(tokenExpiringAt(2_100_000_000, "new")), () => 1_000_000);
    const auth = createAuthorization(init);
    expect(await auth.getToken()).toBe(token);
    expect(calls()).toBe(0);
  });

  it("after a refresh settles, a later getToken that finds the token expiring again refreshes again", async () => {
    // Every refreshed token is already expiring (expiresAt in the past): each getToken must refresh.
    const { init, calls } = authInit(tokenExpiringAt(1, "at-0"), (n) => Promise.resolve(tokenExpiringAt(1, `at-${n}`)), () => 1_000_000);
    const auth = createAuthorization(init);
    expect((await auth.getToken()).accessToken).toBe("at-1");
    expect((await auth.getToken()).accessToken).toBe("at-2");
    expect(calls()).toBe(2);
  });

  it("after a refresh fails, the next getToken tries again", async () => {
    const { init, calls } = authInit(tokenExpiringAt(1), (n) => (n === 1 ? Promise.reject(new Error("down")) : Promise.resolve(tokenExpiringAt(2_000_000_000, "at-ok"))), () => 1_000_000);
    const auth = createAuthorization(init);
    await expect(auth.getToken()).rejects.toThrow("down");
    expect((await auth.getToken()).accessToken).toBe("at-ok");
    expect(calls()).toBe(2);
  });
});
