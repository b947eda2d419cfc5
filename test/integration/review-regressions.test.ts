/**
 * Regression tests for the code review's findings (commit "Fix the review's findings"): each test
 * is named after the bug it pins and fails when that fix is reverted. Time moves only through
 * fletAuth's `clock`; concurrency is ordered with explicit gates, never with sleeps.
 */
import { inspect } from "node:util";
import type { Express, Request, Response } from "express";
import session from "express-session";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { OAuthProvider, OAuthToken, createOAuthHttp, fletAuth, type FletAuthOptions, type OAuthProviderOptions } from "../../lib/index.js";
import { EXPRESS, SECRET, buildApp, pathOf, signIn, standardProvider, type Agent, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider, type FakeProviderOptions } from "../helpers/fake-provider.js";
import {
  START_MS,
  addStoredTokenRoute,
  listen,
  manualClock,
  recordEvents,
  useServerLifecycle,
  type StoredToken,
} from "../helpers/refresh-harness.js";
import { cookieValue, findSetCookie, setCookies } from "../helpers/remember-cookies.js";
import { GatedMemoryStore, closedPort, gate, recordingLogger, storeLength } from "../helpers/review-harness.js";



const REMEMBER_KEY = "remember-me-key-0123456789abcdef0123";
const REMEMBER_COOKIE = "flet-auth.remember";

const cleanups = useServerLifecycle();

async function fakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const fake = await startFakeProvider(options);
  cleanups.push(() => fake.close());
  return fake;
}

/** A real listening server (several requests in flight at once) and an agent with a cookie jar. */
async function serve(app: Express): Promise<Agent> {
  const server = await listen(app);
  cleanups.push(() => server.close());
  return request.agent(server.server);
}

async function me(agent: Agent, path = "/me"): Promise<MeBody> {
  const res = await agent.get(path);
  expect(res.status, res.text).toBe(200);
  return res.body as MeBody;
}

async function storedToken(agent: Agent): Promise<NonNullable<StoredToken>> {
  const res = await agent.get("/stored-token").expect(200);
  const body = res.body as StoredToken;
  expect(body, "signed in with a stored token").not.toBeNull();
  return body!;
}

/** The expiry (Unix seconds) of a stored token (`expires_at`) or of a `GET /token` answer (`expiresAt`). */
function expiresAtOf(token: { expires_at?: unknown; expiresAt?: unknown }): number {
  const value = token.expires_at ?? token.expiresAt;
  expect(typeof value).toBe("number");
  return value as number;
}

describe.each(EXPRESS)("review regressions ($name)", ({ create }) => {
  describe("concurrent callbacks with the same state", () => {
    it("three parallel GETs of one callback URL make ONE code exchange: one 303, two 400 invalid_state, signed in", async () => {
      const fake = await fakeProvider();
      const store = new GatedMemoryStore();
      const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake) }, session: { store }, logger: recordingLogger() });
      const events = recordEvents(auth);
      const agent = await serve(app);

      const start = await agent.get("/login/demo");
      expect(start.status, start.text).toBe(302);
      const callback = pathOf(await fake.authorize(start.headers["location"] as string));
      // All three load the session (pending login included) before any of them goes on.
      store.holdLoads(3);
      const responses = await Promise.all([0, 1, 2].map(() => agent.get(callback)));

      expect(fake.count("/token", "authorization_code")).toBe(1);
      expect(responses.map((r) => r.status).sort()).toEqual([303, 400, 400]);
      for (const failed of responses.filter((r) => r.status === 400)) expect(failed.text).toContain("invalid_state");
      expect(events.login.map((e) => e.error ?? "ok").sort()).toEqual(["invalid_state", "invalid_state", "ok"]);
      const after = await me(agent);
      expect(after.signedIn).toBe(true);
      expect(after.provider).toBe("demo");
    });
  });

  describe("stale session write after a refresh", () => {
    /** A signed-in agent on a real server; `/slow` reads the session, waits for `release`, writes it back. */
    async function signedInApp(fakeOptions: FakeProviderOptions) {
      const fake = await fakeProvider(fakeOptions);
      const clock = manualClock();
      const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake) }, clock: clock.fn, logger: recordingLogger() });
      addStoredTokenRoute(app);
      const entered = gate();
      const release = gate();
      // An ordinary app route: its session copy is loaded before the refresh, and written back
      // (express-session saves the whole session) after the refresh was saved.
      app.get("/slow", async (req: Request, res: Response) => {
        entered.open();
        await release.promise;
        (req.session as unknown as Record<string, unknown>)["visits"] = 1;
        res.json({ ok: true });
      });
      const agent = await serve(app);
      const done = await signIn(agent, fake, "/login/demo");
      expect(done.status, done.text).toBe(303);
      const events = recordEvents(auth);
      return { fake, clock, agent, events, entered, release, initial: await storedToken(agent) };
    }

    it("rotation + reuse detection: the stale copy holding the rotated-out refresh token does not sign the user out", async () => {
      const s = await signedInApp({ rotateRefreshTokens: true, refreshReuseRevokesGrant: true });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);

      const slow = s.agent.get("/slow").then((r) => r);
      await s.entered.promise;
      const refreshed = await s.agent.get("/token");
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(s.fake.count("/token", "refresh_token")).toBe(1);
      s.release.open();
      expect((await slow).status).toBe(200);
      // The slow request put its stale copy (old refresh token) back; the next read heals it from
      // the sign-in's newest token in the store, so nobody presents the rotated-out one.
      expect((await storedToken(s.agent)).refresh_token).toBe(refreshed.body.refreshToken);

      // The refreshed token is now due too; the session still holds the rotated-out generation.
      s.clock.setBeforeExpiry(expiresAtOf(refreshed.body as { expiresAt?: unknown }), 30);
      const later = await s.agent.get("/token");
      expect(later.status, later.text).toBe(200);
      expect(later.body.code).toBeUndefined();
      expect(later.body.accessToken).not.toBe(s.initial.access_token);
      expect(later.body.accessToken).not.toBe(refreshed.body.accessToken);
      expect(s.fake.count("/token", "refresh_token")).toBe(2);
      expect(await me(s.agent)).toMatchObject({ signedIn: true, provider: "demo" });
      expect(s.events.logout).toEqual([]);
      // The grant survived at the provider, and the session was repaired with the live generation.
      const userinfo = await fetch(`${s.fake.url}/userinfo`, { headers: { authorization: `Bearer ${later.body.accessToken as string}` } });
      expect(userinfo.status).toBe(200);
      const repaired = await storedToken(s.agent);
      expect(repaired.access_token).toBe(later.body.accessToken);
      expect(repaired.refresh_token).not.toBe(s.initial.refresh_token);
    });

    it("non-rotating provider: two successive expiries each refresh at the provider (no expired token served from the cache)", async () => {
      const s = await signedInApp({ rotateRefreshTokens: false });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      const first = await s.agent.get("/token");
      expect(first.status, first.text).toBe(200);
      expect(s.fake.count("/token", "refresh_token")).toBe(1);
      expect(first.body.accessToken).not.toBe(s.initial.access_token);

      // Within the lock's result window (one hour) of the first refresh, same refresh token.
      s.clock.setBeforeExpiry(expiresAtOf(first.body as { expiresAt?: unknown }), 30);
      const second = await s.agent.get("/token");
      expect(second.status, second.text).toBe(200);
      expect(s.fake.count("/token", "refresh_token")).toBe(2);
      expect(second.body.accessToken).not.toBe(first.body.accessToken);
      const nowS = s.clock.now() / 1000;
      // Not expiring: beyond the 60 s refresh margin.
      expect(second.body.expiresAt as number).toBeGreaterThan(nowS + 60);
    });
  });

  describe("error causes carry no access token", () => {
    const ACCESS_TOKEN = "SECRET-ACCESS-TOKEN-review-0123456789";

    /** An app whose `/restore` runs `req.login("demo", { savedToken })` and keeps the rejection. */
    function restoreApp(provider: OAuthProvider, options: Partial<FletAuthOptions> = {}) {
      const clock = manualClock();
      const { app } = buildApp(create, { providers: { demo: provider }, clock: clock.fn, logger: recordingLogger(), ...options });
      const savedToken = new OAuthToken({
        accessToken: ACCESS_TOKEN,
        tokenType: "Bearer",
        expiresAt: Math.round(START_MS / 1000) + 3600,
      }).toJson();
      const caught: unknown[] = [];
      app.get("/restore", async (req: Request, res: Response) => {
        try {
          await req.login("demo", { savedToken });
          res.json({ ok: true });
        } catch (err) {
          caught.push(err);
          res.status(500).json({ ok: false });
        }
      });
      return {
        caught,
        async restore(): Promise<unknown> {
          const res = await request(app).get("/restore");
          expect(res.body).toEqual({ ok: false });
          expect(caught.length).toBe(1);
          return caught[0];
        },
      };
    }

    function expectNoToken(err: unknown, code: string): void {
      expect((err as { code?: unknown }).code).toBe(code);
      const text = inspect(err, { depth: Infinity });
      // The cause is there (the error says why) — only the secret is not.
      expect(text).toContain("[cause]");
      expect(text).not.toContain(ACCESS_TOKEN);
    }

    it("user fetch with a refused connection (userEndpoint on a closed port): no access token in the error", async () => {
      const fake = await fakeProvider();
      const port = await closedPort();
      const t = restoreApp(standardProvider(fake, { userEndpoint: `http://127.0.0.1:${port}/userinfo` }));
      expectNoToken(await t.restore(), "user_fetch_failed");
    });

    it("a provider hook's ctx.getJson with a refused connection: no access token in the error", async () => {
      const fake = await fakeProvider();
      const port = await closedPort();
      const t = restoreApp(
        standardProvider(fake, {
          userEndpoint: undefined,
          fetchUser: async (ctx) => {
            const { data } = await ctx.getJson(`http://127.0.0.1:${port}/profile`);
            return { id: String((data as { sub?: unknown }).sub) };
          },
        }),
      );
      expectNoToken(await t.restore(), "user_fetch_failed");
    });

    it("user fetch timing out (createOAuthHttp({ timeoutMs: 200 })): no access token in the error", async () => {
      const fake = await fakeProvider();
      // Answered long after the client gave up (the fake's close() drops the pending delay).
      fake.nextResponse("/userinfo", { delayMs: 5000 });
      const t = restoreApp(standardProvider(fake), { http: createOAuthHttp({ timeoutMs: 200 }) });
      expectNoToken(await t.restore(), "provider_timeout");
      expect(fake.count("/userinfo")).toBe(1);
    });
  });

  describe("once() listeners", () => {
    it('auth.once("login", fn) is called once across two sign-ins', async () => {
      const fake = await fakeProvider();
      const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake) }, logger: recordingLogger() });
      const events = recordEvents(auth);
      const seen: string[] = [];
      auth.once("login", (e) => {
        seen.push(e.error ?? "ok");
      });
      expect(auth.listenerCount("login")).toBe(2);
      for (let i = 0; i < 2; i++) {
        const done = await signIn(request.agent(app), fake, "/login/demo");
        expect(done.status, done.text).toBe(303);
      }
      expect(events.login.length).toBe(2);
      expect(seen).toEqual(["ok"]);
      expect(auth.listenerCount("login")).toBe(1);
    });
  });

  describe("two fletAuth() instances in one app", () => {
    const routeShowing = (req: Request, res: Response): void => {
      res.json({ signedIn: req.auth !== undefined, provider: req.auth?.provider ?? null, user: req.auth?.user ?? null, providers: Object.keys(req.authorizations) });
    };

    it('app.use(b) + app.use("/admin", a): signing in through one keeps the other\'s sign-in; each sees its own provider', async () => {
      const fake = await fakeProvider();
      const logger = recordingLogger();
      const a = fletAuth({ providers: { a: standardProvider(fake, { redirectUrl: "http://127.0.0.1/admin/oauth_callback" }) }, secret: SECRET, logger });
      const b = fletAuth({ providers: { b: standardProvider(fake) }, secret: SECRET, logger });
      const app = create();
      app.use(b);
      app.get("/me", routeShowing);
      app.use("/admin", a);
      app.get("/admin/me", routeShowing);
      const agent = await serve(app);

      const viaA = await signIn(agent, fake, "/admin/login/a");
      expect(viaA.status, viaA.text).toBe(303);
      expect((await me(agent, "/admin/me")).providers).toEqual(["a"]);
      // Passing through b (which does not configure "a") must leave a's sign-in alone.
      expect((await me(agent, "/me")).providers).toEqual([]);
      expect((await me(agent, "/admin/me")).providers).toEqual(["a"]);

      const viaB = await signIn(agent, fake, "/login/b");
      expect(viaB.status, viaB.text).toBe(303);
      expect(await me(agent, "/me")).toMatchObject({ signedIn: true, provider: "b", providers: ["b"] });
      expect(await me(agent, "/admin/me")).toMatchObject({ signedIn: true, provider: "a", providers: ["a"] });
      expect((await me(agent, "/me")).providers).toEqual(["b"]);
      expect(logger.error).not.toHaveBeenCalled();
    });

    /** Both at the root with the default /oauth_callback, B mounted first. A's logins start at /start-a (A's req.login). */
    async function rootPair() {
      const fake = await fakeProvider();
      const logger = recordingLogger();
      const a = fletAuth({ providers: { a: standardProvider(fake) }, secret: SECRET, logger });
      const b = fletAuth({ providers: { b: standardProvider(fake) }, secret: SECRET, logger });
      const app = create();
      app.use(b);
      app.get("/b/me", routeShowing);
      app.use(a);
      app.get("/a/me", routeShowing);
      // Runs after both instances: req.login is A's.
      app.get("/start-a", (req: Request, _res: Response, next: (err?: unknown) => void) => {
        req.login("a").catch(next);
      });
      return { fake, logger, app, a: recordEvents(a), b: recordEvents(b), agent: await serve(app) };
    }

    it("same callback path, B mounted first: the callback of A's login is answered by A", async () => {
      const t = await rootPair();
      const done = await signIn(t.agent, t.fake, "/start-a");
      expect(done.status, done.text).toBe(303);
      expect(t.fake.count("/token", "authorization_code")).toBe(1);
      expect(t.a.login.map((e) => e.error ?? "ok")).toEqual(["ok"]);
      expect(t.b.login).toEqual([]);
      expect(await me(t.agent, "/a/me")).toMatchObject({ signedIn: true, provider: "a", providers: ["a"] });
    });

    it("same callback path: signing in through one keeps the other's sign-in; each sees its own provider", async () => {
      const t = await rootPair();
      const viaB = await signIn(t.agent, t.fake, "/login/b");
      expect(viaB.status, viaB.text).toBe(303);
      const viaA = await signIn(t.agent, t.fake, "/start-a");
      expect(viaA.status, viaA.text).toBe(303);
      expect((await me(t.agent, "/b/me")).providers).toEqual(["b"]);
      expect((await me(t.agent, "/a/me")).providers).toEqual(["a"]);
      expect((await me(t.agent, "/b/me")).providers).toEqual(["b"]);
      expect(t.a.login.map((e) => `${e.provider}:${e.error ?? "ok"}`)).toEqual(["a:ok"]);
      expect(t.b.login.map((e) => `${e.provider}:${e.error ?? "ok"}`)).toEqual(["b:ok"]);
      expect(t.logger.error).not.toHaveBeenCalled();
    });

    it("same login path, B mounted first: GET /login/a is B's 404 unknown_provider (SPEC §1) — instances need distinct loginPath", async () => {
      const t = await rootPair();
      const res = await t.agent.get("/login/a");
      expect(res.status).toBe(404);
      // The name from the path is not echoed (reflected HTML with a naive error handler).
      expect(res.text).toContain("Unknown provider. Configured: b.");
    });

    it("distinct loginPath, B mounted first: GET /login-a/a is answered by A and signs in", async () => {
      const fake = await fakeProvider();
      const a = fletAuth({ providers: { a: standardProvider(fake) }, secret: SECRET, loginPath: "/login-a", logger: recordingLogger() });
      const b = fletAuth({ providers: { b: standardProvider(fake) }, secret: SECRET, logger: recordingLogger() });
      const app = create();
      app.use(b);
      app.use(a);
      app.get("/a/me", routeShowing);
      const agent = await serve(app);
      const done = await signIn(agent, fake, "/login-a/a");
      expect(done.status, done.text).toBe(303);
      expect(await me(agent, "/a/me")).toMatchObject({ signedIn: true, provider: "a" });
    });
  });

  describe("stray callbacks", () => {
    it("five cookieless GET /oauth_callback?state=x store no session and answer 400", async () => {
      const fake = await fakeProvider();
      const store = new session.MemoryStore();
      const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake) }, session: { store }, logger: recordingLogger() });
      const events = recordEvents(auth);
      for (let i = 0; i < 5; i++) {
        const res = await request(app).get(`/oauth_callback?state=stray-${i}&code=x`);
        expect(res.status).toBe(400);
        expect(setCookies(res)).toEqual([]);
      }
      expect(await storeLength(store)).toBe(0);
      expect(events.login.map((e) => e.error)).toEqual(Array.from({ length: 5 }, () => "invalid_state"));
      expect(fake.count("/token")).toBe(0);
      // Control: the store does count sessions (a started login is one).
      expect((await request(app).get("/login/demo")).status).toBe(302);
      expect(await storeLength(store)).toBe(1);
    });
  });

  describe("remember-me restore is skipped for subresources", () => {
    it("with only the remember-me cookie: Sec-Fetch-Mode no-cors is served signed out with no provider request; navigate restores", async () => {
      const fake = await fakeProvider();
      const clock = manualClock();
      const { app } = buildApp(create, {
        providers: { demo: standardProvider(fake) },
        clock: clock.fn,
        rememberMe: { secretKey: REMEMBER_KEY },
        logger: recordingLogger(),
      });
      const done = await signIn(request.agent(app), fake, "/login/demo?remember=1");
      expect(done.status, done.text).toBe(303);
      const line = findSetCookie(done, REMEMBER_COOKIE);
      expect(line, "the callback sets the remember-me cookie").toBeDefined();
      const cookie = `${REMEMBER_COOKIE}=${cookieValue(line!)}`;
      const before = fake.requests.length;

      const image = await request(app).get("/me").set("Cookie", cookie).set("Sec-Fetch-Mode", "no-cors").set("Sec-Fetch-Dest", "image");
      expect(image.status).toBe(200);
      expect((image.body as MeBody).signedIn).toBe(false);
      expect(fake.requests.length).toBe(before);

      const page = await request(app).get("/me").set("Cookie", cookie).set("Sec-Fetch-Mode", "navigate").set("Sec-Fetch-Dest", "document");
      expect(page.status).toBe(200);
      expect(page.body as MeBody).toMatchObject({ signedIn: true, provider: "demo" });
      expect(fake.requests.length).toBeGreaterThan(before);
      expect(fake.count("/userinfo")).toBeGreaterThanOrEqual(1);
    });
  });
});

describe("reserved authorize parameters cannot be configured", () => {
  const base: OAuthProviderOptions = {
    clientId: "client",
    clientSecret: "secret",
    authorizationEndpoint: "https://as.example/authorize",
    tokenEndpoint: "https://as.example/token",
    redirectUrl: "https://app.example/oauth_callback",
  };

  function constructionError(options: Partial<OAuthProviderOptions>): unknown {
    try {
      new OAuthProvider({ ...base, ...options });
    } catch (err) {
      return err;
    }
    return undefined;
  }

  it.each([
    { name: "code_challenge_method", options: { authorizationParams: { code_challenge_method: "plain" } } },
    { name: "response_type", options: { authorizationParams: { response_type: "token" } } },
    { name: "state", options: { authorizationParams: { state: "x" } } },
    { name: "redirect_uri", options: { authorizationEndpoint: "https://as.example/authorize?redirect_uri=https%3A%2F%2Fevil.example%2Fcb" } },
  ])("$name → TypeError naming it", ({ name, options }) => {
    const err = constructionError(options);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain(name);
  });

  it("control: other parameters, in the params or the endpoint's query, are accepted", () => {
    expect(constructionError({ authorizationParams: { prompt: "consent", access_type: "offline" } })).toBeUndefined();
    expect(constructionError({ authorizationEndpoint: "https://as.example/authorize?tenant=common" })).toBeUndefined();
  });
});
