/**
 * Regression tests for issue 8 (sign-out, remember-me rotation, lifetimes, refresh binding, store
 * integrity, hostile names and bodies). One `describe` per audit item; each test is named after
 * the property it pins and fails when that item's fix is reverted. Time moves only through
 * fletAuth's `clock`; concurrency is ordered with the token gate (a refresh provably in flight),
 * never with sleeps.
 */
import { inspect } from "node:util";
import type { Express, NextFunction, Request, Response } from "express";
import session from "express-session";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createSealer } from "../../lib/crypto/sealer.js";
import {
  FletAuthError,
  createMemoryStore,
  createOAuthHttp,
  fletAuth,
  type FletAuthMiddleware,
  type FletAuthStore,
  type OAuthHttp,
  type OAuthProvider,
} from "../../lib/index.js";
import { ROTATION_GRACE_MS } from "../../lib/remember-me/series.js";
import { EXPRESS, SECRET, buildApp, signIn, standardProvider, type Agent, type ExpressFactory, type MeBody, type TestAuthOptions } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider, type FakeProviderOptions } from "../helpers/fake-provider.js";
import {
  addStoredTokenRoute,
  listen,
  manualClock,
  recordEvents,
  useServerLifecycle,
  type ManualClock,
  type RecordedEvents,
  type StoredToken,
} from "../helpers/refresh-harness.js";
import { cookieHeader, cookieValue, findSetCookie, isClearing, sessionIdOf } from "../helpers/remember-cookies.js";
import { recordingLogger } from "../helpers/review-harness.js";
import { startTokenGate, type TokenGate } from "../helpers/token-gate.js";

const COOKIE = "flet-auth.remember";
const SID = "flet-auth.sid";
const REMEMBER_KEY = "remember-me-key-0123456789abcdef0123";
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const cleanups = useServerLifecycle();

/** What `GET /token-outcome` answers: the token, or the refresh failure's code and OAuth error. */
interface TokenOutcome {
  ok: boolean;
  accessToken?: string;
  refreshToken?: string | null;
  code?: string;
  oauthError?: string | null;
}

interface WorldOptions {
  readonly fake?: FakeProviderOptions;
  /** Extra fletAuth options (lifetimes, store, logger, …). */
  readonly auth?: Partial<TestAuthOptions>;
  /** Put the token gate in front of the token endpoint (to hold a refresh in flight). */
  readonly gate?: boolean;
  /** Provider names, all pointing at the one fake provider. @default ["demo"] */
  readonly providers?: readonly string[];
  /** Turn remember-me on. */
  readonly remember?: boolean;
  /** Share a clock (and a fake provider) with another instance. */
  readonly clock?: ManualClock;
  readonly sharedFake?: FakeProvider;
  /** An explicit express-session store, to read and tamper with what is at rest. */
  readonly sessionStore?: session.Store;
}

interface World {
  readonly fake: FakeProvider;
  readonly gate: TokenGate | undefined;
  readonly clock: ManualClock;
  readonly app: Express;
  readonly auth: FletAuthMiddleware;
  readonly events: RecordedEvents;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** A new browser with a cookie jar. */
  agent(): Agent;
  /** A browser that sends exactly these cookies (raw values, as Set-Cookie gave them). */
  browser(cookies: Readonly<Record<string, string>>, path?: string): request.Test;
}

async function readText(req: Request): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

function queryString(req: Request, name: string): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Routes of these tests: `GET /token-outcome[?provider=]` (getToken(), failures as JSON),
 * `GET /saved` (the token JSON), `POST /restore` (body: a token JSON → req.login with savedToken),
 * `POST /signout[?provider=&everywhere=1]` (req.logout from app code).
 */
function addRoutes(app: Express): void {
  addStoredTokenRoute(app);
  app.get("/token-outcome", async (req: Request, res: Response) => {
    const name = queryString(req, "provider");
    const auth = name === undefined ? req.auth : req.authorizations[name];
    if (auth === undefined) return void res.status(401).json({ ok: false, code: "signed_out" } satisfies TokenOutcome);
    try {
      const token = await auth.getToken();
      res.json({ ok: true, accessToken: token.accessToken, refreshToken: token.refreshToken ?? null } satisfies TokenOutcome);
    } catch (err) {
      const e = err instanceof FletAuthError ? err : undefined;
      res.status(e?.status ?? 500).json({ ok: false, code: e?.code ?? String(err), oauthError: e?.oauthError ?? null } satisfies TokenOutcome);
    }
  });
  // The app's own session keys: a cart, set and read by the app.
  app.post("/cart", (req: Request, res: Response) => {
    (req.session as unknown as Record<string, unknown>)["cart"] = "secret-cart";
    res.json({ ok: true });
  });
  app.get("/cart", (req: Request, res: Response) => {
    res.json({ cart: (req.session as unknown as Record<string, unknown> | undefined)?.["cart"] ?? null });
  });
  app.get("/saved", (req: Request, res: Response) => {
    if (req.auth === undefined) return void res.status(401).type("text/plain").send("signed out");
    res.type("text/plain").send(req.auth.token.toJson());
  });
  app.post("/restore", async (req: Request, res: Response, next: NextFunction) => {
    try {
      const auth = await req.login(queryString(req, "provider") ?? "demo", { savedToken: await readText(req) });
      res.json({ provider: auth.provider, accessToken: auth.token.accessToken });
    } catch (err) {
      next(err);
    }
  });
  app.post("/signout", async (req: Request, res: Response, next: NextFunction) => {
    try {
      await req.logout(queryString(req, "provider"), queryString(req, "everywhere") === "1" ? { everywhere: true } : {});
      res.json({ signedIn: req.auth !== undefined, providers: Object.keys(req.authorizations) });
    } catch (err) {
      next(err);
    }
  });
}

/** Providers by name; own properties even for names such as "__proto__". */
function providersNamed(names: readonly string[], make: () => OAuthProvider): Record<string, OAuthProvider> {
  const providers: Record<string, OAuthProvider> = {};
  for (const name of names) Object.defineProperty(providers, name, { value: make(), enumerable: true, writable: true, configurable: true });
  return providers;
}

async function world(create: ExpressFactory, options: WorldOptions = {}): Promise<World> {
  let fake = options.sharedFake;
  if (fake === undefined) {
    const started = await startFakeProvider(options.fake);
    cleanups.push(() => started.close());
    fake = started;
  }
  const provided = fake;
  let gate: TokenGate | undefined;
  if (options.gate === true) {
    const started = await startTokenGate(provided);
    cleanups.push(() => started.close());
    gate = started;
  }
  const clock = options.clock ?? manualClock();
  const logger = recordingLogger();
  const tokenEndpoint = gate?.tokenEndpoint;
  const { app, auth } = buildApp(create, {
    providers: providersNamed(options.providers ?? ["demo"], () => standardProvider(provided, tokenEndpoint === undefined ? {} : { tokenEndpoint })),
    clock: clock.fn,
    logger,
    ...(options.remember === true ? { rememberMe: { secretKey: REMEMBER_KEY } } : {}),
    ...(options.sessionStore !== undefined ? { session: { store: options.sessionStore } } : {}),
    ...options.auth,
  });
  addRoutes(app);
  const server = await listen(app);
  cleanups.push(() => server.close());
  return {
    fake: provided,
    gate,
    clock,
    app,
    auth,
    events: recordEvents(auth),
    logger,
    agent: () => request.agent(server.server),
    browser: (cookies, path = "/me") => request(server.server).get(path).set("Cookie", cookieHeader(cookies)),
  };
}

async function me(agent: Agent): Promise<MeBody> {
  return seen(agent.get("/me"));
}

/** What a `GET /me` (e.g. `w.browser(cookies)`) answered. */
async function seen(test: request.Test): Promise<MeBody> {
  const res = await test;
  expect(res.status, res.text).toBe(200);
  return res.body as MeBody;
}

async function stored(agent: Agent): Promise<NonNullable<StoredToken>> {
  const body = (await agent.get("/stored-token").expect(200)).body as StoredToken;
  expect(body, "signed in with a stored token").not.toBeNull();
  return body!;
}

/** Signs a new browser in; returns it with the Set-Cookie values of the callback. */
async function signedIn(w: World, loginPath = "/login/demo"): Promise<{ agent: Agent; sid: string; remember: string | undefined }> {
  const agent = w.agent();
  const done = await signIn(agent, w.fake, loginPath);
  expect(done.status, done.text).toBe(303);
  const sid = findSetCookie(done, SID);
  expect(sid, "the callback sets the session cookie").toBeDefined();
  const remember = findSetCookie(done, COOKIE);
  return { agent, sid: cookieValue(sid!), remember: remember === undefined ? undefined : cookieValue(remember) };
}

/** The remember-me cookie a response set (not cleared), or undefined. */
function rememberSet(res: request.Response): string | undefined {
  const line = findSetCookie(res, COOKIE);
  return line === undefined || isClearing(line) ? undefined : cookieValue(line);
}

function rememberCleared(res: request.Response): boolean {
  const line = findSetCookie(res, COOKIE);
  return line !== undefined && isClearing(line);
}

/** Opens a remember-me cookie value to read its series and nonce. */
async function seriesOf(cookie: string, clock: ManualClock): Promise<{ series: string; nonce: string }> {
  const text = await createSealer(REMEMBER_KEY, "remember-me", { now: clock.fn }).open(decodeURIComponent(cookie));
  expect(text, "the remember-me cookie opens with the key").toBeDefined();
  const { series, nonce } = JSON.parse(text!) as { series: string; nonce: string };
  return { series, nonce };
}

describe.each(EXPRESS)("issue 8: sign-out and rotation ($name)", ({ create }) => {
  describe("1. logout racing a refresh", () => {
    it("a refresh that finishes after POST /logout persists nothing: the old session cookie reads signed out, no remember-me cookie, the browser stays signed out", async () => {
      const w = await world(create, { gate: true, remember: true });
      const { agent, sid: oldSid, remember } = await signedIn(w, "/login/demo?remember=1");
      expect(remember, "remembered sign-in").toBeDefined();
      const initial = await stored(agent);
      // Past expiry and past seenAt's rewrite interval (1 h): the racing request refreshes AND
      // rewrites its (stale) session copy, as any request that touches the session would.
      w.clock.setBeforeExpiry(initial.expires_at!, -10);
      const held = w.gate!.holdNext();
      const racing = agent.get("/token-outcome").then((r) => r);
      expect((await held.arrived).grant_type, "the racing request is refreshing").toBe("refresh_token");

      const out = await agent.post("/logout").set("Accept", "application/json");
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ signedIn: false });
      expect(rememberCleared(out), "logout clears the remember-me cookie").toBe(true);

      expect((await held.release()).status, "the provider's refresh succeeded").toBe(200);
      const late = await racing;
      // The request may use the token it waited for…
      expect(late.status, late.text).toBe(200);
      expect((late.body as TokenOutcome).ok).toBe(true);
      // …but writes nothing: no remember-me cookie that would outlive the logout.
      expect(findSetCookie(late, COOKIE), "the racing response sets no remember-me cookie").toBeUndefined();
      expect(w.fake.count("/token", "refresh_token")).toBe(1);

      // A copy of the old session cookie (the racing request wrote its copy back under that id).
      expect((await seen(w.browser({ [SID]: oldSid }))).signedIn, "the old session cookie reads signed out").toBe(false);
      expect((await me(agent)).signedIn, "the browser's next request is signed out").toBe(false);
      // One event for the one sign-in: the logout removed its record from the store, so the old
      // session copy names a sign-in that is gone (test/integration/records-in-session.test.ts
      // covers records kept in the session, whose stale copy announces "ended").
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "logout" }]);
      expect(w.events.refresh, "nothing was stored, so nothing was announced").toEqual([]);
    });
  });

  describe("1b. the session a logout destroyed stays empty, whatever a racing request writes back", () => {
    it("a copy of the old session cookie sees none of the app's keys after the racing request wrote its stale copy back", async () => {
      const w = await world(create, { gate: true });
      const { agent, sid: oldSid } = await signedIn(w, "/login/demo");
      expect((await agent.post("/cart")).status).toBe(200);
      const initial = await stored(agent);
      // Past expiry and past seenAt's rewrite interval: the racing request touches its copy.
      w.clock.setBeforeExpiry(initial.expires_at!, -10);
      const held = w.gate!.holdNext();
      const racing = agent.get("/token-outcome").then((r) => r);
      await held.arrived;
      expect((await agent.post("/logout").set("Accept", "application/json")).status).toBe(200);
      await held.release();
      expect((await racing).status).toBe(200);
      // The racing request saved its copy (sign-in and cart) under the destroyed id; reading it
      // finds the sign-in ended and empties the whole session, not only the sign-in.
      const copy = await w.browser({ [SID]: oldSid }, "/cart");
      expect(copy.body).toEqual({ cart: null });
      expect((await seen(w.browser({ [SID]: oldSid }))).signedIn).toBe(false);
    });
  });

  describe("2. remember-me is server-revocable", () => {
    it("(a) a copy of the remember-me cookie taken before POST /logout no longer signs in", async () => {
      const w = await world(create, { remember: true });
      const { agent, remember } = await signedIn(w, "/login/demo?remember=1");
      const copy = remember!;
      // Control: before the logout the copy signs a fresh browser in.
      const before = await w.browser({ [COOKIE]: copy });
      expect((before.body as MeBody).signedIn).toBe(true);
      const current = rememberSet(before) ?? copy;

      expect((await agent.post("/logout").set("Accept", "application/json")).status).toBe(200);
      // The series is revoked: neither the copy nor the newest cookie of the series restores.
      for (const cookie of [copy, current]) {
        const userinfo = w.fake.count("/userinfo");
        const after = await w.browser({ [COOKIE]: cookie });
        expect((after.body as MeBody).signedIn).toBe(false);
        expect(rememberCleared(after)).toBe(true);
        expect(w.fake.count("/userinfo"), "refused before any provider call").toBe(userinfo);
      }
    });

    it("(b) each restore rotates the cookie: same series, a new nonce, a new Set-Cookie value", async () => {
      const w = await world(create, { remember: true });
      const { remember } = await signedIn(w, "/login/demo?remember=1");
      const c0 = remember!;
      const first = await w.browser({ [COOKIE]: c0 });
      expect((first.body as MeBody).signedIn).toBe(true);
      const c1 = rememberSet(first);
      expect(c1, "the restore sets a new remember-me cookie").toBeDefined();
      const second = await w.browser({ [COOKIE]: c1! });
      expect((second.body as MeBody).signedIn).toBe(true);
      const c2 = rememberSet(second);
      expect(c2).toBeDefined();

      expect(new Set([c0, c1, c2]).size).toBe(3);
      const opened = await Promise.all([c0, c1!, c2!].map((c) => seriesOf(c, w.clock)));
      expect(new Set(opened.map((o) => o.series)).size, "one series").toBe(1);
      expect(new Set(opened.map((o) => o.nonce)).size, "a new nonce at every restore").toBe(3);
    });

    it(`(c) an already-rotated cookie presented more than ${ROTATION_GRACE_MS / 1000} s after the rotation revokes the series: cleared, logout remember_me_reused, the current cookie no longer restores`, async () => {
      const w = await world(create, { remember: true });
      const { remember } = await signedIn(w, "/login/demo?remember=1");
      const c0 = remember!;
      const rotated = await w.browser({ [COOKIE]: c0 });
      const c1 = rememberSet(rotated)!;
      expect(c1).toBeDefined();

      // Within the grace period the old cookie is the same browser's request in flight: honoured.
      w.clock.set(w.clock.now() + ROTATION_GRACE_MS - 1);
      const inFlight = await w.browser({ [COOKIE]: c0 });
      expect((inFlight.body as MeBody).signedIn).toBe(true);
      expect(findSetCookie(inFlight, COOKIE), "no second rotation from the old cookie").toBeUndefined();
      expect(w.events.logout).toEqual([]);

      w.clock.set(w.clock.now() + 2);
      const requests = w.fake.requests.length;
      const stolen = await w.browser({ [COOKIE]: c0 });
      expect((stolen.body as MeBody).signedIn).toBe(false);
      expect(rememberCleared(stolen)).toBe(true);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "remember_me_reused" }]);
      expect(w.logger.warn).toHaveBeenCalledWith(expect.stringContaining("used after it had been rotated"));

      // The legitimate browser's current cookie belongs to the revoked series too.
      const legit = await w.browser({ [COOKIE]: c1 });
      expect((legit.body as MeBody).signedIn).toBe(false);
      expect(rememberCleared(legit)).toBe(true);
      expect(w.fake.requests.length, "no provider call for either").toBe(requests);
    });

    it("(c2) the sign-in a thief restored from a copied cookie ends when the copy is detected", async () => {
      const w = await world(create, { remember: true });
      const { remember } = await signedIn(w, "/login/demo?remember=1");
      const copy = remember!;
      // The thief restores first: a session of its own, and the rotated cookie.
      const thief = await w.browser({ [COOKIE]: copy });
      expect((thief.body as MeBody).signedIn).toBe(true);
      const thiefSession = findSetCookie(thief, SID);
      expect(thiefSession).toBeDefined();
      const thiefSid = thiefSession!.split(";")[0]!.slice(SID.length + 1);
      expect((await seen(w.browser({ [SID]: thiefSid }))).signedIn, "the thief's session works").toBe(true);
      // The victim's browser presents the same (now rotated-away) cookie after the grace period.
      w.clock.set(w.clock.now() + ROTATION_GRACE_MS + 1);
      const victim = await w.browser({ [COOKIE]: copy });
      expect((victim.body as MeBody).signedIn).toBe(false);
      expect(w.events.logout).toContainEqual({ provider: "demo", reason: "remember_me_reused" });
      // The thief's live session, restored from the series, ends with it.
      expect((await seen(w.browser({ [SID]: thiefSid }))).signedIn, "the thief's session ended").toBe(false);
    });

    describe("(d) sign out everywhere", () => {
      /** Two instances of one deployment: one clock, one fake provider, one shared flet-auth store. */
      async function deployment() {
        const clock = manualClock();
        const store: FletAuthStore = createMemoryStore({ clock: clock.fn });
        const one = await world(create, { remember: true, clock, auth: { store } });
        const two = await world(create, { remember: true, clock, sharedFake: one.fake, auth: { store } });
        return { one, two };
      }

      it.each([
        { how: "POST /logout?everywhere=1", path: "/logout?everywhere=1" },
        { how: 'req.logout("demo", { everywhere: true })', path: "/signout?provider=demo&everywhere=1" },
      ])("$how on browser 1 ends browser 2's live session (logout ended) and its remember-me cookie", async ({ path }) => {
        const { one, two } = await deployment();
        const b1 = await signedIn(one, "/login/demo?remember=1");
        const b2 = await signedIn(two, "/login/demo?remember=1");
        expect(await me(b2.agent)).toMatchObject({ signedIn: true, user: { id: "1001" } });
        const b2Cookie = b2.remember!;

        const out = await b1.agent.post(path).set("Accept", "application/json");
        expect(out.status, out.text).toBe(200);
        expect((out.body as { signedIn: boolean }).signedIn).toBe(false);
        expect(one.events.logout).toEqual([{ provider: "demo", reason: "logout" }]);
        // Browser 2 comes back a minute later (a restore then is a sign-in after the cut-off).
        one.clock.advanceSeconds(60);

        // Browser 2 (the other instance, its own session store) reads signed out at once; its
        // remember-me cookie, tried on the same request, is refused and cleared.
        const userinfo = one.fake.count("/userinfo");
        const next = await b2.agent.get("/me");
        expect((next.body as MeBody).signedIn).toBe(false);
        expect(rememberCleared(next)).toBe(true);
        expect(two.events.logout).toEqual([{ provider: "demo", reason: "ended" }]);
        // A copy of browser 2's remember-me cookie restores on neither instance.
        for (const w of [two, one]) {
          const copy = await w.browser({ [COOKIE]: b2Cookie });
          expect((copy.body as MeBody).signedIn).toBe(false);
          expect(rememberCleared(copy)).toBe(true);
        }
        expect(one.fake.count("/userinfo"), "nothing restored").toBe(userinfo);
        expect(two.events.login.filter((e) => e.source === "rememberMe")).toEqual([]);
      });

      it("control: a plain logout on browser 1 leaves browser 2 signed in and remembered", async () => {
        const { one, two } = await deployment();
        const b1 = await signedIn(one, "/login/demo?remember=1");
        const b2 = await signedIn(two, "/login/demo?remember=1");
        expect((await b1.agent.post("/logout").set("Accept", "application/json")).status).toBe(200);
        expect((await me(b2.agent)).signedIn).toBe(true);
        expect(((await two.browser({ [COOKIE]: b2.remember! })).body as MeBody).signedIn).toBe(true);
        expect(two.events.logout).toEqual([]);
      });
    });
  });

  describe("4. sign-in lifetimes (idleTimeoutMs, absoluteTimeoutMs)", () => {
    it("a sign-in unused for idleTimeoutMs reads as signed out, with logout idle_timeout", async () => {
      const idle = 2 * HOUR_MS;
      const w = await world(create, { auth: { idleTimeoutMs: idle } });
      const early = await signedIn(w);
      const late = await signedIn(w);
      w.clock.set(w.clock.now() + idle - 1);
      expect((await me(early.agent)).signedIn, "1 ms before the limit").toBe(true);
      w.clock.set(w.clock.now() + 1);
      expect((await me(late.agent)).signedIn, "unused for exactly idleTimeoutMs").toBe(false);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "idle_timeout" }]);
      expect((await late.agent.get("/token")).status).toBe(401);
    });

    it("requests every idleTimeoutMs/2 keep the sign-in alive (seenAt is rewritten at most every min(idle/24, 1 h))", async () => {
      const idle = 2 * HOUR_MS;
      const w = await world(create, { auth: { idleTimeoutMs: idle } });
      const { agent } = await signedIn(w);
      for (let i = 1; i <= 10; i += 1) {
        w.clock.set(w.clock.now() + idle / 2);
        expect((await me(agent)).signedIn, `after ${i * (idle / 2 / HOUR_MS)} h`).toBe(true);
      }
      expect(w.events.logout).toEqual([]);
    });

    it("an active, refreshing sign-in ends absoluteTimeoutMs after sign-in (absolute_timeout): refreshes never extend it", async () => {
      const absolute = 4 * HOUR_MS;
      const w = await world(create, { auth: { absoluteTimeoutMs: absolute } });
      const start = w.clock.now();
      const { agent } = await signedIn(w);
      for (let t = HOUR_MS / 2; t < absolute; t += HOUR_MS / 2) {
        w.clock.set(start + t);
        const res = await agent.get("/token-outcome");
        expect(res.status, `at ${t / HOUR_MS} h: ${res.text}`).toBe(200);
      }
      // The 1 h tokens were refreshed along the way (at 1 h, 2 h and 3 h).
      expect(w.fake.count("/token", "refresh_token")).toBe(3);
      expect(w.events.refresh.length).toBe(3);
      w.clock.set(start + absolute - 1);
      expect((await me(agent)).signedIn, "1 ms before the limit").toBe(true);
      w.clock.set(start + absolute);
      expect((await me(agent)).signedIn).toBe(false);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "absolute_timeout" }]);
    });

    it("default idleTimeoutMs is one day", async () => {
      const w = await world(create);
      const early = await signedIn(w);
      const late = await signedIn(w);
      w.clock.set(w.clock.now() + DAY_MS - 1);
      expect((await me(early.agent)).signedIn).toBe(true);
      w.clock.set(w.clock.now() + 1);
      expect((await me(late.agent)).signedIn).toBe(false);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "idle_timeout" }]);
    });

    it("default absoluteTimeoutMs is seven days, however active the sign-in", async () => {
      const w = await world(create);
      const start = w.clock.now();
      const { agent } = await signedIn(w);
      for (let t = 12 * HOUR_MS; t < 7 * DAY_MS; t += 12 * HOUR_MS) {
        w.clock.set(start + t);
        expect((await me(agent)).signedIn, `at ${t / HOUR_MS} h`).toBe(true);
      }
      w.clock.set(start + 7 * DAY_MS - 1);
      expect((await me(agent)).signedIn).toBe(true);
      w.clock.set(start + 7 * DAY_MS);
      expect((await me(agent)).signedIn).toBe(false);
      expect(w.events.logout).toEqual([{ provider: "demo", reason: "absolute_timeout" }]);
    });

    it("Infinity turns both lifetimes off: unused for ten years, still signed in", async () => {
      const w = await world(create, { auth: { idleTimeoutMs: Infinity, absoluteTimeoutMs: Infinity } });
      const { agent } = await signedIn(w);
      w.clock.set(w.clock.now() + 10 * 365 * DAY_MS);
      expect(await me(agent)).toMatchObject({ signedIn: true, provider: "demo" });
      expect(w.events.logout).toEqual([]);
    });
  });

  describe("5. refresh sharing is bound to one sign-in", () => {
    it("a saved token copied into another session refreshes at the provider itself: the rotated-out refresh token is presented and refused (invalid_grant), never answered with the first session's successor", async () => {
      const w = await world(create, { fake: { rotateRefreshTokens: true, refreshReuseRevokesGrant: true } });
      const a = await signedIn(w);
      const saved = (await a.agent.get("/saved").expect(200)).text;
      const initial = JSON.parse(saved) as { access_token: string; refresh_token: string; expires_at: number };
      const b = w.agent();
      const restored = await b.post("/restore").set("content-type", "text/plain").send(saved);
      expect(restored.status, restored.text).toBe(200);
      expect((await me(b)).signedIn).toBe(true);
      expect(w.fake.count("/token", "refresh_token"), "the saved token was fresh: no refresh yet").toBe(0);

      w.clock.setBeforeExpiry(initial.expires_at, 30);
      const fromA = (await a.agent.get("/token-outcome")).body as TokenOutcome;
      expect(fromA.ok).toBe(true);
      expect(w.fake.count("/token", "refresh_token")).toBe(1);

      // Same token generation, same moment, another sign-in: B goes to the provider itself.
      const fromB = await b.get("/token-outcome");
      expect(fromB.body as TokenOutcome).toMatchObject({ ok: false, code: "refresh_failed", oauthError: "invalid_grant" });
      expect((fromB.body as TokenOutcome).accessToken).toBeUndefined();
      expect(w.fake.count("/token", "refresh_token"), "B's refresh reached the provider").toBe(2);
      const presented = w.fake.requests.filter((r) => r.form.grant_type === "refresh_token").map((r) => r.form.refresh_token);
      expect(presented).toEqual([initial.refresh_token, initial.refresh_token]);
      expect((await me(b)).signedIn, "B's grant is gone").toBe(false);
      // The provider's reuse detection saw the copy and revoked the grant A's successor belongs to.
      const userinfo = await fetch(`${w.fake.url}/userinfo`, { headers: { authorization: `Bearer ${fromA.accessToken!}` } });
      expect(userinfo.status).toBe(401);
    });
  });

  describe("7. one getToken() sends at most one token request", () => {
    it("tokens living shorter than the 60 s margin: one getToken() makes exactly one refresh call; the warning is logged once per provider", async () => {
      const w = await world(create, { fake: { accessTokenTtl: 30 }, providers: ["demo", "other"] });
      const { agent } = await signedIn(w);
      await signIn(agent, w.fake, "/login/other");
      const shortLived = () => w.logger.warn.mock.calls.map(([message]) => message).filter((m) => m.includes("refreshMarginMs"));

      const first = await agent.get("/token-outcome?provider=demo");
      expect(first.status, first.text).toBe(200);
      expect(w.fake.count("/token", "refresh_token"), "one refresh, though its token is within the margin too").toBe(1);
      expect(shortLived()).toHaveLength(1);
      expect(shortLived()[0]).toContain('"demo"');

      const second = await agent.get("/token-outcome?provider=demo");
      expect(second.status, second.text).toBe(200);
      expect(w.fake.count("/token", "refresh_token")).toBe(2);
      expect(shortLived(), "not logged again for the same provider").toHaveLength(1);

      const other = await agent.get("/token-outcome?provider=other");
      expect(other.status, other.text).toBe(200);
      expect(w.fake.count("/token", "refresh_token")).toBe(3);
      expect(shortLived()).toHaveLength(2);
      expect(shortLived()[1]).toContain('"other"');
    });
  });

  describe("8. store integrity: the whole sign-in record is sealed", () => {
    const USER = { id: "user-id-7f3a9c51", login: "login-q8zx2w", name: "Name Kv4Pn8", email: "mail-r5t6y7@example.org" };

    /** express-session's MemoryStore keeps each session as JSON text. */
    const rawSessions = (store: session.MemoryStore): Record<string, string> => (store as unknown as { sessions: Record<string, string> }).sessions;

    it("two providers' sealed entries swapped in the session store both read as signed out", async () => {
      const store = new session.MemoryStore();
      const w = await world(create, { fake: { user: USER }, providers: ["a", "b"], sessionStore: store });
      const { agent } = await signedIn(w, "/login/a");
      const done = await signIn(agent, w.fake, "/login/b");
      expect(done.status).toBe(303);
      const sid = sessionIdOf(cookieValue(findSetCookie(done, SID)!));
      expect((await me(agent)).providers.sort()).toEqual(["a", "b"]);

      const record = JSON.parse(rawSessions(store)[sid]!) as { fletAuth: { auths: Record<string, string> } };
      const { a, b } = record.fletAuth.auths;
      expect(typeof a === "string" && typeof b === "string" && a !== b).toBe(true);
      record.fletAuth.auths = { a: b!, b: a! };
      const swapped = JSON.stringify(record);

      // Another instance (same secret and session store) opens the entries afresh…
      rawSessions(store)[sid] = swapped;
      const other = await world(create, { sharedFake: w.fake, providers: ["a", "b"], sessionStore: store });
      expect(await seen(other.browser({ [SID]: cookieValue(findSetCookie(done, SID)!) }))).toMatchObject({ signedIn: false, providers: [] });
      // …and the instance that sealed them (its cache of opened records knows both) refuses them too.
      rawSessions(store)[sid] = swapped;
      expect(await me(agent)).toMatchObject({ signedIn: false, providers: [] });
      expect((await agent.get("/token-outcome?provider=a")).status).toBe(401);
      expect((await agent.get("/token-outcome?provider=b")).status).toBe(401);
    });

    it("the session store holds no user id, login, name or email in clear", async () => {
      const store = new session.MemoryStore();
      const w = await world(create, { fake: { user: USER }, sessionStore: store });
      const { agent } = await signedIn(w);
      expect(await me(agent)).toMatchObject({ signedIn: true, user: { id: "user-id-7f3a9c51", login: "login-q8zx2w" } });
      const everything = JSON.stringify(rawSessions(store));
      expect(everything).toContain("fletAuth");
      for (const value of Object.values(USER)) expect(everything).not.toContain(value);
    });
  });

  describe("9. provider names from the prototype", () => {
    const NAMES = ["constructor", "__proto__", "hasOwnProperty", "toString"];

    it.each(NAMES.map((name) => ({ name })))("POST /logout?provider=$name and req.logout(\"$name\") emit no logout event and leave the user signed in", async ({ name }) => {
      const w = await world(create);
      const { agent } = await signedIn(w);
      const out = await agent.post(`/logout?provider=${encodeURIComponent(name)}`).set("Accept", "application/json");
      expect(out.status, out.text).toBe(200);
      expect(out.body).toEqual({ signedIn: true });
      const viaApp = await agent.post(`/signout?provider=${encodeURIComponent(name)}`);
      expect(viaApp.status, viaApp.text).toBe(200);
      expect(viaApp.body).toEqual({ signedIn: true, providers: ["demo"] });
      expect(await me(agent)).toMatchObject({ signedIn: true, provider: "demo" });
      expect(w.events.logout).toEqual([]);
    });

    it.each(NAMES.map((name) => ({ name })))("with a provider configured as $name but not signed in, signing out of it emits no logout event and keeps the other sign-in", async ({ name }) => {
      const w = await world(create, { providers: ["demo", name] });
      const { agent } = await signedIn(w);
      const out = await agent.post(`/logout?provider=${encodeURIComponent(name)}`).set("Accept", "application/json");
      expect(out.status, out.text).toBe(200);
      expect(out.body).toEqual({ signedIn: true });
      const viaApp = await agent.post(`/signout?provider=${encodeURIComponent(name)}`);
      expect(viaApp.body).toEqual({ signedIn: true, providers: ["demo"] });
      expect(await me(agent)).toMatchObject({ signedIn: true, provider: "demo" });
      expect(w.events.logout).toEqual([]);
    });
  });

  describe("10. unknown provider names are not reflected", () => {
    it("GET /login/<img src=x onerror=alert(1)> → 404 unknown_provider whose message, sent as HTML by the app, holds neither <img nor the name", async () => {
      const fake = await startFakeProvider();
      cleanups.push(() => fake.close());
      const app = create();
      const auth = fletAuth({ providers: { demo: standardProvider(fake) }, secret: SECRET, logger: recordingLogger() });
      app.use(auth);
      const seen: unknown[] = [];
      // A naive error handler that sends err.message as HTML.
      app.use((err: { status?: number; message: string }, _req: Request, res: Response, _next: NextFunction) => {
        void _next;
        seen.push(err);
        res.status(err.status ?? 500).type("html").send(err.message);
      });
      const res = await request(app).get("/login/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E");
      expect(res.status).toBe(404);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toBeInstanceOf(FletAuthError);
      expect((seen[0] as FletAuthError).code).toBe("unknown_provider");
      expect(res.text).toContain("Configured: demo");
      for (const fragment of ["<img", "img src", "onerror", "alert(1)", "%3Cimg"]) expect(res.text).not.toContain(fragment);
    });
  });

  describe("11. malformed provider bodies never leak into errors", () => {
    const SECRETS = ["AT-123", "RT-secret", "SK-live"];

    /** An app whose OAuthHttp records what it threw, and whose login events are kept. */
    async function recordingApp() {
      const inner = createOAuthHttp({ timeoutMs: 5000 });
      const thrown: unknown[] = [];
      const keep = (err: unknown): never => {
        thrown.push(err);
        throw err;
      };
      const http: OAuthHttp = {
        exchangeCode: (client, params) => inner.exchangeCode(client, params).catch(keep),
        refresh: (client, token) => inner.refresh(client, token).catch(keep),
        getJson: (url, token, headers) => inner.getJson(url, token, headers).catch(keep),
      };
      const w = await world(create, { auth: { http } });
      const logins: Array<{ error: string | undefined; errorDescription: string | undefined }> = [];
      w.auth.on("login", (e) => {
        logins.push({ error: e.error, errorDescription: e.errorDescription });
      });
      return { w, thrown, logins };
    }

    function expectNoSecret(page: string, thrown: unknown[], logins: unknown[]): void {
      expect(thrown).toHaveLength(1);
      const everything = [page, JSON.stringify(logins), inspect(thrown, { depth: Infinity }), (thrown[0] as Error).message];
      for (const text of everything) for (const secret of SECRETS) expect(text).not.toContain(secret);
    }

    it.each([
      ["truncated JSON", '{"access_token":"AT-123","refresh_token":"RT-secret-456",'],
      ["truncated JSON with a bare token (the parser quotes around it)", '{"access_token":"AT-123","refresh_token":RT-secret-456'],
      ["bare tokens", "AT-123 RT-secret-456"],
    ])("a 200 application/json token body that is %s: page, login event and FletAuthError carry no token", async (_what, body) => {
      const { w, thrown, logins } = await recordingApp();
      w.fake.nextResponse("/token", { status: 200, contentType: "application/json", body });
      const res = await signIn(w.agent(), w.fake, "/login/demo");
      expect(w.fake.count("/token", "authorization_code"), "the provider answered the exchange").toBe(1);
      expect(res.status).toBe(502);
      expect(logins).toEqual([{ error: "token_exchange_failed", errorDescription: expect.any(String) }]);
      expect(thrown[0]).toBeInstanceOf(FletAuthError);
      expect((thrown[0] as FletAuthError).code).toBe("token_exchange_failed");
      expectNoSecret(res.text, thrown, logins);
    });

    it.each([
      ["truncated JSON", '{"sub":"1001","api_key":"SK-live-secret-789",'],
      ["truncated JSON with a bare secret", '{"sub":"1001","api_key":SK-live-secret-789'],
    ])("a 200 application/json userinfo body that is %s: page, login event and FletAuthError (cause included) carry no secret", async (_what, body) => {
      const { w, thrown, logins } = await recordingApp();
      w.fake.nextResponse("/userinfo", { status: 200, contentType: "application/json", body });
      const res = await signIn(w.agent(), w.fake, "/login/demo");
      expect(w.fake.count("/userinfo")).toBe(1);
      expect(res.status).toBe(502);
      expect(logins).toEqual([{ error: "user_fetch_failed", errorDescription: expect.any(String) }]);
      expect((thrown[0] as FletAuthError).code).toBe("user_fetch_failed");
      expectNoSecret(res.text, thrown, logins);
    });
  });
});
