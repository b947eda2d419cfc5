/**
 * Built-in "Remember me" (SPEC §4): `rememberMe: { secretKey, cookieName?, maxAge? }`.
 *
 * A login with `remember` keeps the token in an encrypted cookie (HttpOnly, SameSite=Lax,
 * Secure on https); a browser that returns without a session is signed in from it — refreshing
 * and re-fetching the user as needed — and a `login` event with source "rememberMe" is emitted.
 * Logout clears it. A forged, truncated, tampered, foreign-key or stale cookie is ignored and
 * cleared without any call to the provider; a provider that refuses the grant clears it; a
 * provider outage keeps it for later. Time moves only through fletAuth's `clock` option.
 */
import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSealer } from "../../lib/crypto/sealer.js";
import { createMemoryStore, type FletAuthStore } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory, type Agent, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { START_MS, manualClock, recordEvents, type ManualClock, type RecordedEvents } from "../helpers/refresh-harness.js";
import {
  cookieAttributes,
  cookieHeader,
  cookieValue,
  findSetCookie,
  flipBit,
  forgedFernet,
  isClearing,
  setCookies,
  signInWithHeaders,
} from "../helpers/remember-cookies.js";

const COOKIE = "flet-auth.remember";
const SID = "flet-auth.sid";
const KEY = "remember-me-key-0123456789abcdef0123";
const OTHER_KEY = "another-remember-key-0123456789abcdef";
const NEW_KEY = "rotated-remember-key-0123456789abcdef";
const DAY_MS = 86_400_000;
const MAX_AGE_MS = 7 * DAY_MS;
/** The fake provider's access tokens live an hour; two hours is safely past expiry and margin. */
const PAST_EXPIRY_S = 2 * 3600;



let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

describe.each(EXPRESS)("remember-me ($name)", ({ create }) => {
  interface TestApp {
    app: ReturnType<typeof buildApp>["app"];
    events: RecordedEvents;
    clock: ManualClock;
  }

  // Apps are shared by secretKey (each pays one PBKDF2 run for its key); they share one clock,
  // which every test resets, and one flet-auth store (remember-me series), as the instances of
  // one deployment would. Tests that need other options build their own with makeApp().
  const shared = manualClock();
  const sharedStore = createMemoryStore({ clock: shared.fn });
  const cache = new Map<string, TestApp>();
  function appFor(secretKey: string | string[] = KEY): TestApp {
    const id = JSON.stringify(secretKey);
    let t = cache.get(id);
    if (t === undefined) {
      t = makeApp({ clock: shared, secretKey, store: sharedStore });
      cache.set(id, t);
    }
    return t;
  }
  beforeEach(() => {
    shared.set(START_MS);
    for (const t of cache.values()) {
      t.events.login.length = 0;
      t.events.logout.length = 0;
      t.events.refresh.length = 0;
    }
  });

  function makeApp(options: { clock?: ManualClock; secretKey?: string | string[]; store?: FletAuthStore } = {}): TestApp {
    const clock = options.clock ?? manualClock();
    const { app, auth } = buildApp(create as ExpressFactory, {
      providers: { idp: standardProvider(fake) },
      clock: clock.fn,
      rememberMe: { secretKey: options.secretKey ?? KEY, maxAge: MAX_AGE_MS },
      ...(options.store ? { store: options.store } : {}),
    });
    // A custom route that asks for remember-me through the login option.
    app.get("/signin-remember", (req: Request, res: Response, next) => {
      req.login("idp", { remember: true }).catch(next);
      void res;
    });
    return { app, events: recordEvents(auth), clock };
  }

  /** Signs a fresh agent in with `?remember=1`; returns the agent and the remember-me cookie value. */
  async function rememberedSignIn(t: TestApp, loginPath = "/login/idp?remember=1"): Promise<{ agent: Agent; cookie: string; line: string }> {
    const agent = request.agent(t.app);
    const done = await signIn(agent, fake, loginPath);
    expect(done.status, done.text).toBeLessThan(400);
    const line = findSetCookie(done, COOKIE);
    expect(line, "the callback sets the remember-me cookie").toBeDefined();
    return { agent, cookie: cookieValue(line!), line: line! };
  }

  /** A browser that has nothing but the remember-me cookie. */
  function fresh(t: TestApp, cookie: string, path = "/me"): request.Test {
    return request(t.app).get(path).set("Cookie", cookieHeader({ [COOKIE]: cookie }));
  }

  describe("setting the cookie", () => {
    it("?remember=1 sets an HttpOnly, SameSite=Lax, Path=/ cookie living maxAge, not Secure over http", async () => {
      const t = appFor();
      const { line, cookie } = await rememberedSignIn(t);
      const attrs = cookieAttributes(line);
      expect(attrs.get("httponly")).toBe(true);
      expect(String(attrs.get("samesite")).toLowerCase()).toBe("lax");
      expect(attrs.get("path")).toBe("/");
      expect(Math.abs(Number(attrs.get("max-age")) - MAX_AGE_MS / 1000)).toBeLessThanOrEqual(1);
      expect(attrs.has("secure")).toBe(false);
      expect(cookie.length).toBeGreaterThan(100);
      // Encrypted: the value shows neither the token nor the user.
      const decoded = decodeURIComponent(cookie);
      expect(decoded).not.toMatch(/access_token|refresh_token|octocat|idp/);
    });

    it("without remember no cookie is set", async () => {
      const t = appFor();
      const agent = request.agent(t.app);
      const done = await signIn(agent, fake, "/login/idp");
      expect(done.status).toBeLessThan(400);
      expect(findSetCookie(done, COOKIE)).toBeUndefined();
      expect(((await agent.get("/me")).body as MeBody).signedIn).toBe(true);
    });

    it("is Secure behind a trusted proxy that says https", async () => {
      const t = makeApp(); // own app: trust proxy must not leak into the others
      t.app.set("trust proxy", true);
      const { callback, jar } = await signInWithHeaders(t.app, fake, "/login/idp?remember=1", { "X-Forwarded-Proto": "https" });
      expect(callback.status).toBeLessThan(400);
      const line = findSetCookie(callback, COOKIE);
      expect(line).toBeDefined();
      const attrs = cookieAttributes(line!);
      expect(attrs.get("secure")).toBe(true);
      expect(attrs.get("httponly")).toBe(true);
      expect(String(attrs.get("samesite")).toLowerCase()).toBe("lax");
      expect(jar[COOKIE]).toBeDefined();
    });

    it("is not Secure when X-Forwarded-Proto comes from an untrusted client", async () => {
      const t = appFor();
      const { callback } = await signInWithHeaders(t.app, fake, "/login/idp?remember=1", { "X-Forwarded-Proto": "https" });
      const line = findSetCookie(callback, COOKIE);
      expect(line).toBeDefined();
      expect(cookieAttributes(line!).has("secure")).toBe(false);
    });

    it("req.login(name, { remember: true }) in a custom route sets it too", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t, "/signin-remember");
      const back = await fresh(t, cookie);
      expect((back.body as MeBody).signedIn).toBe(true);
    });

    it("honours cookieName", async () => {
      const clock = manualClock();
      const { app } = buildApp(create as ExpressFactory, {
        providers: { idp: standardProvider(fake) },
        clock: clock.fn,
        rememberMe: { secretKey: KEY, cookieName: "keep_me" },
      });
      const done = await signIn(request.agent(app), fake, "/login/idp?remember=1");
      expect(findSetCookie(done, COOKIE)).toBeUndefined();
      const line = findSetCookie(done, "keep_me");
      expect(line).toBeDefined();
      // Default maxAge: 30 days.
      expect(Math.abs(Number(cookieAttributes(line!).get("max-age")) - 30 * 86_400)).toBeLessThanOrEqual(1);
      const back = await request(app).get("/me").set("Cookie", `keep_me=${cookieValue(line!)}`);
      expect((back.body as MeBody).signedIn).toBe(true);
    });
  });

  describe("restoring", () => {
    it("signs a fresh browser in on its first request: new session, login event, user re-fetched", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      t.events.login.length = 0;
      const userinfo = fake.count("/userinfo");
      const refreshes = fake.count("/token", "refresh_token");

      const back = await fresh(t, cookie);
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ signedIn: true, provider: "idp", user: { id: "1001" } });
      const sid = findSetCookie(back, SID);
      expect(sid, "a new session cookie").toBeDefined();
      expect(fake.count("/userinfo")).toBe(userinfo + 1);
      expect(fake.count("/token", "refresh_token"), "an unexpired token is not refreshed").toBe(refreshes);
      expect(t.events.login).toEqual([{ provider: "idp", error: undefined, source: "rememberMe", userId: "1001", accessToken: expect.any(String) }]);

      // From then on the session carries the sign-in: no restore, no provider call per request.
      const jar = { [COOKIE]: cookie, [SID]: cookieValue(sid!) };
      for (let i = 0; i < 3; i++) {
        const again = await request(t.app).get("/me").set("Cookie", cookieHeader(jar));
        expect((again.body as MeBody).signedIn).toBe(true);
        expect(findSetCookie(again, SID)).toBeUndefined();
      }
      expect(fake.count("/userinfo")).toBe(userinfo + 1);
      expect(t.events.login).toHaveLength(1);
    });

    it("does not restore over a live session (the browser that signed in makes no provider call)", async () => {
      const t = appFor();
      const { agent } = await rememberedSignIn(t);
      const userinfo = fake.count("/userinfo");
      const before = t.events.login.length;
      for (let i = 0; i < 3; i++) expect(((await agent.get("/me")).body as MeBody).signedIn).toBe(true);
      expect(fake.count("/userinfo")).toBe(userinfo);
      expect(t.events.login).toHaveLength(before);
    });

    it("refreshes an expired token during restore and rewrites the cookie with the rotated token", async () => {
      fake.set({ rotateRefreshTokens: true });
      const t = appFor();
      const { agent, cookie: first } = await rememberedSignIn(t);
      const original = (await agent.get("/token")).body as { accessToken: string };

      t.clock.advanceSeconds(PAST_EXPIRY_S);
      const refreshes = fake.count("/token", "refresh_token");
      t.events.login.length = 0;
      const back = await fresh(t, first);
      expect(back.body).toMatchObject({ signedIn: true, user: { id: "1001" } });
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 1);
      expect(t.events.login).toMatchObject([{ error: undefined, source: "rememberMe" }]);
      const rewritten = findSetCookie(back, COOKIE);
      expect(rewritten, "the cookie is rewritten with the refreshed token").toBeDefined();
      expect(isClearing(rewritten!)).toBe(false);
      const second = cookieValue(rewritten!);
      expect(second).not.toBe(first);

      // The restored session holds the refreshed token, not the one in the old cookie.
      const restoredSession = { [SID]: cookieValue(findSetCookie(back, SID)!) };
      const token = (await request(t.app).get("/token").set("Cookie", cookieHeader(restoredSession))).body as { accessToken: string };
      expect(token.accessToken).not.toBe(original.accessToken);
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 1);

      // A second browser with the NEW cookie, after that token expired too: its refresh token is
      // the rotated one, which the provider still accepts.
      t.clock.advanceSeconds(PAST_EXPIRY_S);
      const again = await fresh(t, second);
      expect(again.body).toMatchObject({ signedIn: true, user: { id: "1001" } });
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 2);

      // The first cookie was rotated away (twice): presenting it again is a copy's use — theft
      // detection revokes the series and clears the cookie, without any call to the provider.
      const stale = await fresh(t, first);
      expect(stale.status).toBe(200);
      expect((stale.body as MeBody).signedIn).toBe(false);
      const cleared = findSetCookie(stale, COOKIE);
      expect(cleared !== undefined && isClearing(cleared)).toBe(true);
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 2);
      expect(t.events.logout.at(-1)).toMatchObject({ provider: "idp", reason: "remember_me_reused" });
    });

    it("parallel first requests of a returning browser share one refresh (rotating refresh tokens)", async () => {
      fake.set({ rotateRefreshTokens: true });
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      t.clock.advanceSeconds(PAST_EXPIRY_S);
      const refreshes = fake.count("/token", "refresh_token");
      const results = await Promise.all(Array.from({ length: 4 }, () => fresh(t, cookie)));
      for (const res of results) {
        expect(res.status).toBe(200);
        expect((res.body as MeBody).signedIn).toBe(true);
        const line = findSetCookie(res, COOKIE);
        expect(line === undefined || !isClearing(line), "no response clears the cookie").toBe(true);
      }
      // The series rotates once: one response carries the new cookie, the others none (they
      // presented the same cookie moments after the rotation: the same browser, not a copy).
      expect(results.filter((res) => findSetCookie(res, COOKIE) !== undefined)).toHaveLength(1);
      expect(t.events.logout).toEqual([]);
      expect(fake.count("/token", "refresh_token"), "one token-endpoint call for all of them").toBe(refreshes + 1);
      expect(t.events.login.filter((e) => e.error !== undefined)).toEqual([]);
    });

    it("a refresh through getToken() rewrites the cookie so the next fresh browser restores", async () => {
      fake.set({ rotateRefreshTokens: true });
      const t = appFor();
      const { agent, cookie: first } = await rememberedSignIn(t);
      t.clock.advanceSeconds(PAST_EXPIRY_S);
      const refreshes = fake.count("/token", "refresh_token");
      const res = await agent.get("/token");
      expect(res.status).toBe(200);
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 1);
      const rewritten = findSetCookie(res, COOKIE);
      expect(rewritten, "getToken() refreshed: the cookie follows").toBeDefined();
      const second = cookieValue(rewritten!);
      expect(second).not.toBe(first);

      t.clock.advanceSeconds(PAST_EXPIRY_S);
      const back = await fresh(t, second);
      expect(back.body).toMatchObject({ signedIn: true, user: { id: "1001" } });
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 2);
    });

    it("rewrites do not extend the remembered period: it ends maxAge after the first login", async () => {
      const t = appFor();
      const { cookie: first } = await rememberedSignIn(t);
      t.clock.advanceSeconds(MAX_AGE_MS / 1000 - DAY_MS / 1000);
      const back = await fresh(t, first);
      expect((back.body as MeBody).signedIn).toBe(true);
      const line = findSetCookie(back, COOKIE);
      expect(line).toBeDefined();
      // One day of the seven left: the browser is told so.
      expect(Math.abs(Number(cookieAttributes(line!).get("max-age")) - DAY_MS / 1000)).toBeLessThanOrEqual(1);
      const rewritten = cookieValue(line!);
      expect(((await fresh(t, rewritten)).body as MeBody).signedIn).toBe(true);

      // Just past the first login + maxAge, the freshly rewritten cookie is refused all the same.
      t.clock.advanceSeconds(DAY_MS / 1000 + 60);
      const requestsBefore = fake.requests.length;
      const late = await fresh(t, rewritten);
      expect((late.body as MeBody).signedIn).toBe(false);
      expect(isClearing(findSetCookie(late, COOKIE) ?? "")).toBe(true);
      expect(fake.requests.length).toBe(requestsBefore);
    });

    it("restores until maxAge, not after", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      t.clock.advanceSeconds(MAX_AGE_MS / 1000 - 3600);
      const back = await fresh(t, cookie);
      expect((back.body as MeBody).signedIn).toBe(true);
    });
  });

  describe("logout", () => {
    it("POST /logout clears the cookie; the browser is signed out afterwards", async () => {
      const t = appFor();
      const { agent } = await rememberedSignIn(t);
      const out = await agent.post("/logout").set("Accept", "application/json");
      expect(out.status).toBe(200);
      const cleared = findSetCookie(out, COOKIE);
      expect(cleared, "logout sends a Set-Cookie for the remember-me cookie").toBeDefined();
      expect(isClearing(cleared!)).toBe(true);
      expect(cookieAttributes(cleared!).get("path")).toBe("/");

      const userinfo = fake.count("/userinfo");
      const after = await agent.get("/me");
      expect((after.body as MeBody).signedIn).toBe(false);
      const nobody = await request(t.app).get("/me");
      expect((nobody.body as MeBody).signedIn).toBe(false);
      expect(fake.count("/userinfo"), "nothing left to restore from").toBe(userinfo);
    });

    it("a browser with only the cookie that signs out ends up without it", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      const out = await request(t.app).post("/logout").set("Accept", "application/json").set("Cookie", cookieHeader({ [COOKIE]: cookie }));
      expect(out.status).toBe(200);
      expect((out.body as { signedIn: boolean }).signedIn).toBe(false);
      // Browsers apply Set-Cookie lines in order: the last word on the cookie must be "delete".
      const lines = setCookies(out).filter((l) => l.startsWith(`${COOKIE}=`));
      expect(lines.length).toBeGreaterThan(0);
      expect(isClearing(lines.at(-1)!)).toBe(true);
    });

    it("signing out of another provider keeps the cookie; signing out of the remembered one clears it", async () => {
      const clock = manualClock();
      const { app } = buildApp(create as ExpressFactory, {
        providers: { idp: standardProvider(fake), other: standardProvider(fake) },
        clock: clock.fn,
        rememberMe: { secretKey: KEY },
      });
      const agent = request.agent(app);
      const first = await signIn(agent, fake, "/login/idp?remember=1");
      expect(findSetCookie(first, COOKIE)).toBeDefined();
      await signIn(agent, fake, "/login/other");
      expect(((await agent.get("/me")).body as MeBody).providers.sort()).toEqual(["idp", "other"]);

      const outOther = await agent.post("/logout?provider=other").set("Accept", "application/json");
      expect(outOther.status).toBe(200);
      expect(findSetCookie(outOther, COOKIE)).toBeUndefined();

      const outIdp = await agent.post("/logout?provider=idp").set("Accept", "application/json");
      const cleared = findSetCookie(outIdp, COOKIE);
      expect(cleared !== undefined && isClearing(cleared)).toBe(true);
    });
  });

  describe("where a restore does not belong", () => {
    it("the publicly cacheable browser helper never carries Set-Cookie (no session handed to shared caches)", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      const res = await fresh(t, cookie, "/flet-auth/client.js");
      expect(res.status).toBe(200);
      const cacheable = /\bpublic\b/.test(String(res.headers["cache-control"] ?? ""));
      expect(cacheable, "the helper script is served with Cache-Control: public").toBe(true);
      expect(setCookies(res), "a public, cacheable response must not set the session or remember-me cookie").toEqual([]);
    });

    it("signing out with only the cookie does not first sign in through the provider", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      const requestsBefore = fake.requests.length;
      const out = await request(t.app).post("/logout").set("Accept", "application/json").set("Cookie", cookieHeader({ [COOKIE]: cookie }));
      expect(out.status).toBe(200);
      expect(fake.requests.length, "no GET /userinfo (or refresh) just to sign out").toBe(requestsBefore);
    });
  });

  describe("bad cookies are ignored and cleared, without calling the provider", () => {
    type Case = [string, (t: TestApp, good: string) => string | Promise<string>];
    const cases: Case[] = [
      ["random base64", () => encodeURIComponent(randomBytes(180).toString("base64"))],
      ["Fernet-shaped forgery", (t) => forgedFernet(t.clock.now())],
      ["plain garbage", () => "not-a-cookie"],
      ["truncated", (_t, good) => encodeURIComponent(decodeURIComponent(good).slice(0, -12))],
      ["truncated to the header", (_t, good) => encodeURIComponent(decodeURIComponent(good).slice(0, 40))],
      ["bit flipped in the ciphertext", (_t, good) => flipBit(good, 40)],
      ["bit flipped in the timestamp", (_t, good) => flipBit(good, 8)],
      ["bit flipped in the MAC", (_t, good) => flipBit(good, -1)],
      [
        "sealed with another secretKey",
        async () => {
          const other = appFor(OTHER_KEY);
          return (await rememberedSignIn(other)).cookie;
        },
      ],
      [
        "stale (older than maxAge)",
        (t, good) => {
          t.clock.advanceSeconds(MAX_AGE_MS / 1000 + 60);
          return good;
        },
      ],
    ];

    it.each(cases)("%s", async (_name, make) => {
      const t = appFor();
      const { cookie: good } = await rememberedSignIn(t);
      const bad = await make(t, good);
      t.events.login.length = 0;
      const requestsBefore = fake.requests.length;

      const res = await fresh(t, bad);
      expect(res.status).toBe(200);
      expect((res.body as MeBody).signedIn).toBe(false);
      const cleared = findSetCookie(res, COOKIE);
      expect(cleared, "the bad cookie is cleared").toBeDefined();
      expect(isClearing(cleared!)).toBe(true);
      expect(fake.requests.length, "no request reached the provider").toBe(requestsBefore);
      expect(t.events.login.filter((e) => e.error === undefined)).toEqual([]);
    });

    it("a cookie that opens but names an unknown provider or holds junk is cleared", async () => {
      const t = appFor();
      await rememberedSignIn(t);
      const sealer = createSealer(KEY, "remember-me", { now: t.clock.fn });
      const payloads = [
        JSON.stringify({ provider: "ghost", token: JSON.stringify({ access_token: "x" }), fetchUser: true, fetchGroups: false, scope: [] }),
        JSON.stringify({ provider: "idp", token: "not json", fetchUser: true, fetchGroups: false, scope: [] }),
        JSON.stringify({ provider: "idp" }),
        "not json at all",
      ];
      for (const payload of payloads) {
        const requestsBefore = fake.requests.length;
        const res = await fresh(t, encodeURIComponent(await sealer.seal(payload)));
        expect(res.status, payload).toBe(200);
        expect((res.body as MeBody).signedIn, payload).toBe(false);
        const cleared = findSetCookie(res, COOKIE);
        expect(cleared !== undefined && isClearing(cleared), payload).toBe(true);
        expect(fake.requests.length, payload).toBe(requestsBefore);
      }
    });
  });

  describe("secretKey rotation", () => {
    it("[new, old] opens a cookie sealed with old, and re-seals it with new", async () => {
      const oldApp = appFor(KEY);
      const { cookie } = await rememberedSignIn(oldApp);

      const rotated = appFor([NEW_KEY, KEY]);
      const back = await fresh(rotated, cookie);
      expect(back.body).toMatchObject({ signedIn: true, user: { id: "1001" } });
      expect(rotated.events.login).toMatchObject([{ error: undefined, source: "rememberMe" }]);

      // The restore wrote a fresh cookie with the first secret: a new-key-only app opens it, an old-key-only app cannot.
      const line = findSetCookie(back, COOKIE);
      expect(line).toBeDefined();
      const resealed = cookieValue(line!);
      const newOnly = appFor(NEW_KEY);
      expect(((await fresh(newOnly, resealed)).body as MeBody).signedIn).toBe(true);
      const oldOnly = appFor(KEY);
      const refused = await fresh(oldOnly, resealed);
      expect((refused.body as MeBody).signedIn).toBe(false);
      expect(isClearing(findSetCookie(refused, COOKIE) ?? "")).toBe(true);
    });
  });

  describe("provider answers", () => {
    it("a revoked grant (userinfo 401) fails the restore: cookie cleared, login event with an error", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      fake.revokeAll();
      t.events.login.length = 0;
      const res = await fresh(t, cookie);
      expect(res.status).toBe(200);
      expect((res.body as MeBody).signedIn).toBe(false);
      const cleared = findSetCookie(res, COOKIE);
      expect(cleared !== undefined && isClearing(cleared)).toBe(true);
      expect(t.events.login).toHaveLength(1);
      expect(t.events.login[0]).toMatchObject({ provider: "idp", source: "rememberMe", userId: undefined });
      expect(t.events.login[0]!.error).toEqual(expect.any(String));
    });

    it("a revoked grant found by the refresh (invalid_grant) clears the cookie", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      fake.revokeAll();
      t.clock.advanceSeconds(PAST_EXPIRY_S);
      t.events.login.length = 0;
      const refreshes = fake.count("/token", "refresh_token");
      const res = await fresh(t, cookie);
      expect(res.status).toBe(200);
      expect((res.body as MeBody).signedIn).toBe(false);
      expect(fake.count("/token", "refresh_token")).toBe(refreshes + 1);
      const cleared = findSetCookie(res, COOKIE);
      expect(cleared !== undefined && isClearing(cleared)).toBe(true);
      expect(t.events.login).toMatchObject([{ provider: "idp", error: "invalid_grant", source: "rememberMe" }]);
    });

    it("a provider outage (userinfo 500) keeps the cookie and serves the request signed out", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      t.events.login.length = 0;
      fake.nextResponse("/userinfo", { status: 500, body: JSON.stringify({ error: "server_error" }) });
      const res = await fresh(t, cookie);
      expect(res.status).toBe(200);
      expect((res.body as MeBody).signedIn).toBe(false);
      expect(findSetCookie(res, COOKIE), "the cookie is neither cleared nor replaced").toBeUndefined();
      expect(t.events.login).toHaveLength(1);
      expect(t.events.login[0]).toMatchObject({ provider: "idp", source: "rememberMe" });
      expect(t.events.login[0]!.error).toEqual(expect.any(String));

      // Once the provider is back, the same cookie restores.
      const later = await fresh(t, cookie);
      expect((later.body as MeBody).signedIn).toBe(true);
    });

    it("a token endpoint outage during the restore's refresh keeps the cookie", async () => {
      const t = appFor();
      const { cookie } = await rememberedSignIn(t);
      t.clock.advanceSeconds(PAST_EXPIRY_S);
      fake.nextResponse("/token", { status: 503, body: JSON.stringify({ error: "temporarily_unavailable" }) });
      const res = await fresh(t, cookie);
      expect(res.status).toBe(200);
      expect((res.body as MeBody).signedIn).toBe(false);
      expect(findSetCookie(res, COOKIE)).toBeUndefined();
      // Within the next 5 s the failure is shared (no retry storm against a failing provider)…
      const soon = await fresh(t, cookie);
      expect((soon.body as MeBody).signedIn).toBe(false);
      expect(findSetCookie(soon, COOKIE)).toBeUndefined();
      // …then the cookie, kept and never rotated, restores.
      t.clock.advanceSeconds(5);
      const later = await fresh(t, cookie);
      expect((later.body as MeBody).signedIn).toBe(true);
    });
  });
});
