/**
 * `req.login` and `req.logout` called by app code, the paths the other suites leave implicit:
 *
 * - an unknown provider's error lists every configured provider, comma-separated;
 * - `onOpenAuthorizationUrl` hands the app the provider's authorization URL (state, PKCE S256)
 *   instead of a redirect, and that URL completes the sign-in;
 * - the `logout` event of `req.logout(name)` carries the Authorization that ended;
 * - the remember-me cookie on logout: cleared (and its series revoked) when its provider signs
 *   out, when the browser signs out of its last sign-in, and when `req.logout()` signs out of
 *   every sign-in of the instance while another instance's sign-in stays; kept when another
 *   provider signs out;
 * - a signed-out visitor's `req.logout()` creates no session.
 *
 * Sign-ins come from saved tokens (no user fetch, no provider call) unless the test is about the
 * browser round trip. Cookies are carried by hand so that one request can hold cookies of two
 * browsers. Time moves only through fletAuth's `clock` option.
 */
import type { Express, Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fletAuth, OAuthToken, type FletAuthMiddleware, type FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, SECRET, pathOf, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { manualClock, type ManualClock } from "../helpers/refresh-harness.js";
import { absorb, cookieHeader, findSetCookie, isClearing, setCookies } from "../helpers/remember-cookies.js";

const REMEMBER = "flet-auth.remember";
const SESSION = "flet-auth.sid";
const KEY = "remember-me-key-0123456789abcdef0123";
const DAY_MS = 86_400_000;
const { create } = EXPRESS[0];
const quiet = { warn: () => undefined, error: () => undefined };

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

/** A token JSON for provider `name`, valid for an hour from the clock's now. */
function savedToken(clock: ManualClock, name: string): string {
  return new OAuthToken({
    accessToken: `access-${name}`,
    tokenType: "Bearer",
    expiresAt: Math.floor(clock.now() / 1000) + 3600,
    refreshToken: `refresh-${name}`,
  }).toJson();
}

function flag(req: Request, name: string): boolean {
  return (req.query as Record<string, unknown>)[name] === "1";
}

/**
 * Routes of one instance's `req.login`/`req.logout` under `prefix`:
 * `POST <prefix>/signin/:name[?remember=1]` signs in from a saved token;
 * `POST <prefix>/signout[/:name]` calls `req.logout(name)`; `GET <prefix>/me` lists the sign-ins.
 */
function addRoutes(app: Express, clock: ManualClock, prefix = ""): void {
  app.post(`${prefix}/signin/:name`, (req: Request, res: Response) => {
    const name = req.params["name"] as string;
    req.login(name, { savedToken: savedToken(clock, name), remember: flag(req, "remember"), fetchUser: false }).then(
      (auth) => res.json({ ok: true, provider: auth.provider }),
      (err: Error) => res.json({ ok: false, name: err.name, message: err.message }),
    );
  });
  app.post([`${prefix}/signout`, `${prefix}/signout/:name`], (req: Request, res: Response) => {
    req.logout(req.params["name"] as string | undefined).then(
      () => res.json({ ok: true, signedIn: Object.keys(req.authorizations) }),
      (err: Error) => res.json({ ok: false, name: err.name, message: err.message }),
    );
  });
  app.get(`${prefix}/me`, (req: Request, res: Response) => {
    res.json({ auth: req.auth?.provider ?? null, signedIn: Object.keys(req.authorizations) });
  });
}

interface World {
  readonly app: Express;
  readonly auth: FletAuthMiddleware;
  readonly clock: ManualClock;
}

/** One instance with providers `a` and `b` (the fake provider's endpoints) and remember-me. */
function world(options: Partial<FletAuthOptions> = {}): World {
  const clock = manualClock();
  const app = create();
  const auth = fletAuth({
    secret: SECRET,
    providers: {
      a: standardProvider(fake, { redirectUrl: "http://127.0.0.1/a_callback" }),
      b: standardProvider(fake, { redirectUrl: "http://127.0.0.1/b_callback" }),
    },
    rememberMe: { secretKey: KEY, maxAge: 7 * DAY_MS },
    clock: clock.fn,
    logger: quiet,
    ...options,
  });
  app.use(auth);
  addRoutes(app, clock);
  return { app, auth, clock };
}

/** A browser whose cookies the test carries: each call sends the jar and keeps what comes back. */
function browser(app: Express, jar: Record<string, string> = {}) {
  return {
    jar,
    async post(path: string): Promise<request.Response> {
      const res = await request(app).post(path).set("Cookie", cookieHeader(jar));
      absorb(jar, res);
      return res;
    },
    async get(path: string): Promise<request.Response> {
      const res = await request(app).get(path).set("Cookie", cookieHeader(jar));
      absorb(jar, res);
      return res;
    },
  };
}

/** Whether a browser holding only this remember-me cookie is signed in again (the series still valid). */
async function restores(app: Express, remembered: string, path = "/me"): Promise<string | null> {
  const res = await request(app).get(path).set("Cookie", cookieHeader({ [REMEMBER]: remembered }));
  return (res.body as { auth: string | null }).auth;
}

function expectCleared(res: request.Response): void {
  const line = findSetCookie(res, REMEMBER);
  expect(line, "the remember-me cookie is cleared").toBeDefined();
  expect(isClearing(line as string)).toBe(true);
}

describe("req.login", () => {
  it("an unknown provider's error lists every configured provider, comma-separated", async () => {
    const { app } = world();
    const res = await request(app).post("/signin/zzz");
    expect(res.body).toEqual({ ok: false, name: "FletAuthError", message: "Unknown provider. Configured: a, b." });
  });

  it("onOpenAuthorizationUrl gets the provider's authorization URL (state, PKCE S256) instead of a redirect, and that URL completes the sign-in", async () => {
    const { app } = world({ fetchUser: false });
    app.get("/start", (req: Request, res: Response) => {
      const opened: string[] = [];
      req.login("a", { onOpenAuthorizationUrl: (url) => void opened.push(url) }).then(
        () => res.json({ opened }),
        (err: Error) => res.status(500).json({ message: err.message }),
      );
    });
    const b = browser(app);
    const start = await b.get("/start");
    expect(start.status, start.text).toBe(200);
    expect(start.headers["location"], "flet-auth does not redirect").toBeUndefined();
    const { opened } = start.body as { opened: string[] };
    expect(opened).toHaveLength(1);
    const url = new URL(opened[0] as string);
    expect(`${url.origin}${url.pathname}`).toBe(`${fake.url}/authorize`);
    expect(url.searchParams.get("client_id")).toBe(fake.clientId);
    expect(url.searchParams.get("redirect_uri")).toBe("http://127.0.0.1/a_callback");
    expect(url.searchParams.get("state")).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");

    const callback = await fake.authorize(url.toString());
    const done = await b.get(pathOf(callback));
    expect(done.status, done.text).toBeLessThan(400);
    expect((await b.get("/me")).body).toEqual({ auth: "a", signedIn: ["a"] });
  });
});

describe("req.logout", () => {
  it("the logout event of req.logout(name) carries the Authorization that ended", async () => {
    const { app, auth } = world();
    const events: Array<{ provider: string; reason: string; auth: string | undefined; accessToken: string | undefined }> = [];
    auth.on("logout", (e) => {
      events.push({ provider: e.provider, reason: e.reason, auth: e.auth?.provider, accessToken: e.auth?.token.accessToken });
    });
    const b = browser(app);
    expect((await b.post("/signin/a")).body).toEqual({ ok: true, provider: "a" });
    expect((await b.post("/signin/b")).body).toEqual({ ok: true, provider: "b" });
    expect((await b.post("/signout/a")).body).toEqual({ ok: true, signedIn: ["b"] });
    expect(events).toEqual([{ provider: "a", reason: "logout", auth: "a", accessToken: "access-a" }]);
  });

  it("signing out of the remembered provider while another stays signed in clears the cookie and revokes its series", async () => {
    const { app } = world();
    const b = browser(app);
    expect((await b.post("/signin/a?remember=1")).body).toEqual({ ok: true, provider: "a" });
    const remembered = b.jar[REMEMBER] as string;
    expect(remembered).toBeDefined();
    expect((await b.post("/signin/b")).body).toEqual({ ok: true, provider: "b" });

    const out = await b.post("/signout/a");
    expect(out.body).toEqual({ ok: true, signedIn: ["b"] });
    expectCleared(out);
    expect((await b.get("/me")).body).toEqual({ auth: "b", signedIn: ["b"] });
    expect(await restores(app, remembered), "the old cookie restores nothing").toBeNull();
  });

  it("signing out of another provider keeps the remember-me cookie, which still restores its sign-in", async () => {
    const { app } = world();
    const b = browser(app);
    await b.post("/signin/a?remember=1");
    const remembered = b.jar[REMEMBER] as string;
    await b.post("/signin/b");

    const out = await b.post("/signout/b");
    expect(out.body).toEqual({ ok: true, signedIn: ["a"] });
    expect(findSetCookie(out, REMEMBER)).toBeUndefined();
    expect(await restores(app, remembered)).toBe("a");
  });

  it("signing out of a browser's last sign-in clears a remember-me cookie of another provider and revokes its series", async () => {
    const { app } = world();
    // The cookie of a sign-in to `a`, in a browser whose session only holds a sign-in to `b`.
    const first = browser(app);
    await first.post("/signin/a?remember=1");
    const remembered = first.jar[REMEMBER] as string;
    expect(remembered).toBeDefined();
    const second = browser(app);
    await second.post("/signin/b");
    second.jar[REMEMBER] = remembered;
    expect((await second.get("/me")).body).toEqual({ auth: "b", signedIn: ["b"] });

    const out = await second.post("/signout/b");
    expect(out.body).toEqual({ ok: true, signedIn: [] });
    expectCleared(out);
    expect(await restores(app, remembered), "the cookie's series is revoked").toBeNull();
  });

  it("req.logout() signs out of every sign-in of its instance and clears the remember-me cookie, while another instance's sign-in stays", async () => {
    const clock = manualClock();
    const app = create();
    // Instance B first: its routes run before instance A and get B's req.login.
    app.use(fletAuth({ secret: SECRET, providers: { b: standardProvider(fake, { redirectUrl: "http://127.0.0.1/b_callback" }) }, clock: clock.fn, logger: quiet }));
    addRoutes(app, clock, "/other");
    app.use(
      fletAuth({
        secret: SECRET,
        providers: { a: standardProvider(fake, { redirectUrl: "http://127.0.0.1/a_callback" }) },
        rememberMe: { secretKey: KEY, maxAge: 7 * DAY_MS },
        clock: clock.fn,
        logger: quiet,
      }),
    );
    addRoutes(app, clock);

    const b = browser(app);
    expect((await b.post("/signin/a?remember=1")).body).toEqual({ ok: true, provider: "a" });
    const remembered = b.jar[REMEMBER] as string;
    expect(remembered).toBeDefined();
    expect((await b.post("/other/signin/b")).body).toEqual({ ok: true, provider: "b" });

    const out = await b.post("/signout");
    expect(out.body).toEqual({ ok: true, signedIn: [] });
    expectCleared(out);
    expect((await b.get("/other/me")).body, "the other instance's sign-in stays").toEqual({ auth: "b", signedIn: ["b"] });
    expect(await restores(app, remembered), "the cookie's series is revoked").toBeNull();
  });

  it("a signed-out visitor's req.logout() answers normally and creates no session", async () => {
    const { app } = world();
    const res = await request(app).post("/signout");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, signedIn: [] });
    expect(setCookies(res).filter((line) => line.startsWith(`${SESSION}=`))).toEqual([]);
  });
});
