/**
 * End to end against a real OpenID provider: panva's oidc-provider, in-process on loopback
 * (examples/demo/idp.ts), with PKCE S256 required, refresh-token rotation and reuse detection.
 *
 * The app is a real Express (4 and 5) server on an ephemeral loopback port, driven by a supertest
 * agent (one cookie jar = one browser). The IdP has a fixed redirect URI registered
 * (http://127.0.0.1/oauth_callback): `idp.signIn()` performs the user's login and consent and
 * hands back the callback URL, whose path + query the agent then requests (pathOf).
 *
 * The Auth0 preset is pointed at the same IdP through test/helpers/oidc-auth0-proxy.ts, a loopback
 * front that serves Auth0's paths (/authorize, /oauth/token, /userinfo) and maps them to the
 * IdP's (/auth, /token, /me): the preset's endpoints are fixed to Auth0's layout, the IdP's are
 * fixed by examples/demo/idp.ts, and only a path-mapping front makes them meet.
 *
 * Token expiry is simulated with fletAuth's `clock` option: the IdP issues 1-hour access tokens,
 * and moving the middleware's clock forward by an hour makes the stored token "expiring".
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { NextFunction, Request, Response } from "express";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDemoIdp, type DemoIdp } from "../../examples/demo/idp.js";
import { Auth0OAuthProvider, OAuthProvider, type FletAuthMiddleware, type FletAuthOptions, type Group } from "../../lib/index.js";
import { EXPRESS, buildApp, pathOf, type ExpressFactory } from "../helpers/apps.js";
import { startAuth0Front, type Auth0Front } from "../helpers/oidc-auth0-proxy.js";

const CLIENT_ID = "flet-auth-e2e";
const CLIENT_SECRET = "e2e-client-secret-0123456789";
const OIDC_REDIRECT = "http://127.0.0.1/oauth_callback";
const AUTH0_REDIRECT = "http://127.0.0.1/auth0_callback";
/** Access-token lifetime at the IdP; the test clock jumps by this much to make a token expiring. */
const ACCESS_TOKEN_TTL_S = 3600;
const HOUR_MS = ACCESS_TOKEN_TTL_S * 1000;

let idp: DemoIdp;
let front: Auth0Front;

beforeAll(async () => {
  idp = await startDemoIdp({
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [OIDC_REDIRECT, AUTH0_REDIRECT] }],
    accessTokenTtl: ACCESS_TOKEN_TTL_S,
  });
  front = await startAuth0Front(idp);
});

afterAll(async () => {
  await front?.close();
  await idp?.close();
});

/** The generic provider, as a Flet developer would declare an OpenID provider. */
function oidcProvider(): OAuthProvider {
  return new OAuthProvider({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    authorizationEndpoint: idp.authorizationEndpoint,
    tokenEndpoint: idp.tokenEndpoint,
    userEndpoint: idp.userinfoEndpoint,
    userId: (u) => String(u["sub"]),
    scopes: ["offline_access"],
    userScopes: ["openid", "profile", "email"],
    redirectUrl: OIDC_REDIRECT,
    // oidc-provider sends RFC 9207 `iss` on every authorization response: require it.
    issuer: idp.issuer,
    requireIssuer: true,
    // The IdP's groups are a claim of /userinfo; `User.groups` is the fetched-groups list
    // (Group objects), so the groups hook reads that claim.
    fetchGroups: async (ctx) => {
      const { data } = await ctx.getJson(idp.userinfoEndpoint);
      const claim = (data as { groups?: unknown }).groups;
      return Array.isArray(claim) ? claim.map((name): Group => ({ name: String(name) })) : [];
    },
  });
}

function auth0Provider(): Auth0OAuthProvider {
  return new Auth0OAuthProvider({ domain: front.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUrl: AUTH0_REDIRECT });
}

interface Recorded {
  readonly type: "login" | "logout" | "refresh";
  readonly provider: string;
  readonly error?: string | undefined;
  readonly errorDescription?: string | undefined;
  readonly source?: string;
  readonly reason?: string;
  readonly userId?: string | undefined;
}

interface Harness {
  readonly auth: FletAuthMiddleware;
  readonly events: Recorded[];
  /** A fresh browser (cookie jar) on the app. */
  browser(): ReturnType<typeof request.agent>;
  /** Moves the middleware's clock forward. */
  advance(ms: number): void;
  /** The token JSON the `/restore` route signs in with. */
  savedToken: string | undefined;
}

const servers: Server[] = [];

afterEach(async () => {
  const open = servers.splice(0);
  await Promise.all(
    open.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
});

async function harness(create: ExpressFactory, options: Partial<FletAuthOptions> = {}): Promise<Harness> {
  let offsetMs = 0;
  const { app, auth } = buildApp(create, {
    providers: { oidc: oidcProvider(), auth0: auth0Provider() },
    clock: () => Date.now() + offsetMs,
    ...options,
  });
  const h: Harness = {
    auth,
    events: [],
    browser: () => request.agent(server),
    advance: (ms) => {
      offsetMs += ms;
    },
    savedToken: undefined,
  };
  // What the session holds, without refreshing (a test app may show its own token).
  app.get("/stored-token", (req: Request, res: Response) => {
    res.json({ refreshToken: req.auth?.token.refreshToken ?? null, json: req.auth?.token.toJson() ?? null });
  });
  // Flet's "remember me" by hand: sign in with a saved token, no redirect.
  app.get("/restore", async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (h.savedToken === undefined) throw new Error("no saved token set by the test");
      const restored = await req.login("oidc", { savedToken: h.savedToken });
      res.json({ provider: restored.provider, user: restored.user ?? null });
    } catch (err) {
      next(err);
    }
  });
  app.use((err: { status?: number; code?: string; message: string }, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    res.status(err.status ?? 500).json({ code: err.code ?? "error", message: err.message });
  });
  auth.on("login", (e) =>
    void h.events.push({ type: "login", provider: e.provider, error: e.error, errorDescription: e.errorDescription, source: e.source, userId: e.auth?.user?.id }),
  );
  auth.on("logout", (e) => void h.events.push({ type: "logout", provider: e.provider, reason: e.reason, userId: e.auth?.user?.id }));
  auth.on("refresh", (e) => void h.events.push({ type: "refresh", provider: e.provider }));

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  servers.push(server);
  expect((server.address() as AddressInfo).port).toBeGreaterThan(0);
  return h;
}

interface SignedIn {
  /** The authorize request the app sent the browser to (for Auth0: the front's URL). */
  readonly authorize: URL;
  readonly callback: request.Response;
}

/** Starts the login in `browser`, lets the user sign in and consent at the IdP, follows the callback. */
async function signIn(
  browser: ReturnType<typeof request.agent>,
  provider: "oidc" | "auth0",
  options: { returnTo?: string; deny?: boolean } = {},
): Promise<SignedIn> {
  const start = await browser.get(`/login/${provider}${options.returnTo ? `?returnTo=${encodeURIComponent(options.returnTo)}` : ""}`);
  expect(start.status, `login start: ${start.text}`).toBe(302);
  const location = String(start.headers["location"]);
  const authorizeUrl = provider === "auth0" ? await front.resolveAuthorize(location) : location;
  const callbackUrl = await idp.signIn(authorizeUrl, { deny: options.deny ?? false });
  const redirect = provider === "auth0" ? AUTH0_REDIRECT : OIDC_REDIRECT;
  expect(callbackUrl.startsWith(`${redirect}?`), callbackUrl).toBe(true);
  const callback = await browser.get(pathOf(callbackUrl));
  return { authorize: new URL(location), callback };
}

function expectedUser() {
  const u = idp.users[0];
  if (!u) throw new Error("the demo IdP has no user");
  return u;
}

async function replayRefreshToken(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(idp.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.each(EXPRESS)("oidc-provider end to end ($name)", ({ create }) => {
  it("signs in with the generic OAuthProvider (PKCE S256) and shows the /userinfo user", async () => {
    const h = await harness(create, { fetchGroups: true });
    const codes = idp.grants("authorization_code");
    const browser = h.browser();

    const { authorize, callback } = await signIn(browser, "oidc", { returnTo: "/me" });

    // The authorize request: the IdP's endpoint, the registered redirect, PKCE S256.
    expect(`${authorize.origin}${authorize.pathname}`).toBe(idp.authorizationEndpoint);
    const q = authorize.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe(CLIENT_ID);
    expect(q.get("redirect_uri")).toBe(OIDC_REDIRECT);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")?.length ?? 0).toBeGreaterThanOrEqual(22);
    expect(q.get("scope")?.split(" ").sort()).toEqual(["email", "offline_access", "openid", "profile"]);

    // The callback exchanged the code (with the verifier: the IdP requires PKCE) and went back.
    expect(callback.status, callback.text).toBe(303);
    expect(callback.headers["location"]).toBe("/me");
    expect(idp.grants("authorization_code")).toEqual({ success: codes.success + 1, error: codes.error });

    const me = await browser.get("/me");
    const u = expectedUser();
    expect(me.body).toMatchObject({ signedIn: true, provider: "oidc", providers: ["oidc"] });
    expect(me.body.user).toMatchObject({
      id: u.id,
      sub: u.id,
      name: u.name,
      email: u.email,
      email_verified: true,
      groups: (u.groups ?? []).map((name) => ({ name })),
    });
    expect(u.groups?.length ?? 0).toBeGreaterThan(0);
    expect(h.events).toEqual([{ type: "login", provider: "oidc", error: undefined, errorDescription: undefined, source: "callback", userId: u.id }]);

    // The token is usable at the IdP as is (no refresh while it is fresh).
    const token = await browser.get("/token");
    expect(token.status).toBe(200);
    const userinfo = await fetch(idp.userinfoEndpoint, { headers: { authorization: `Bearer ${String(token.body.accessToken)}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: u.id });
  });

  it("getToken() refreshes with rotation: the rotated refresh token is stored, the old one is dead", async () => {
    const h = await harness(create);
    const browser = h.browser();
    const { callback } = await signIn(browser, "oidc");
    expect(callback.status, callback.text).toBe(303);

    const first = await browser.get("/stored-token");
    const rt1 = first.body.refreshToken as string | null;
    expect(typeof rt1).toBe("string");
    const fresh = await browser.get("/token");
    const at1 = fresh.body.accessToken as string;
    expect(fresh.body.refreshToken).toBe(rt1);

    const before = idp.grants("refresh_token");

    // First refresh: the token now counts as expiring.
    h.advance(HOUR_MS);
    const refreshed = await browser.get("/token");
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body.accessToken).not.toBe(at1);
    const rt2 = refreshed.body.refreshToken as string;
    expect(rt2).not.toBe(rt1);
    expect(idp.grants("refresh_token")).toEqual({ success: before.success + 1, error: before.error });
    expect((await browser.get("/stored-token")).body.refreshToken).toBe(rt2);
    // Not expiring any more at the new clock: no second call.
    expect((await browser.get("/token")).body.accessToken).toBe(refreshed.body.accessToken);
    expect(idp.grants("refresh_token").success).toBe(before.success + 1);

    // Second refresh, later: only works if the stored refresh token is the rotated one.
    h.advance(HOUR_MS);
    const again = await browser.get("/token");
    expect(again.status, again.text).toBe(200);
    expect(again.body.accessToken).not.toBe(refreshed.body.accessToken);
    expect(again.body.refreshToken).not.toBe(rt2);
    expect(idp.grants("refresh_token")).toEqual({ success: before.success + 2, error: before.error });
    expect(h.events.filter((e) => e.type === "refresh")).toHaveLength(2);

    // The first refresh token was rotated out: the IdP refuses it (and, by reuse detection,
    // revokes the grant).
    const replay = await replayRefreshToken(rt1 as string);
    expect(replay.status).toBe(400);
    expect(replay.body["error"]).toBe("invalid_grant");

    // The middleware then meets invalid_grant on its next refresh: refresh_failed, the user is
    // signed out (logout event), no crash.
    h.advance(HOUR_MS);
    const revoked = await browser.get("/token");
    expect(revoked.status, revoked.text).toBe(401);
    expect(revoked.body.code).toBe("refresh_failed");
    expect((await browser.get("/me")).body.signedIn).toBe(false);
    expect(h.events.filter((e) => e.type === "logout")).toEqual([{ type: "logout", provider: "oidc", reason: "refresh_failed", userId: expectedUser().id }]);
  });

  it("single flight: 50 concurrent GET /token while expiring make exactly one refresh grant", async () => {
    const h = await harness(create);
    const browser = h.browser();
    const { callback } = await signIn(browser, "oidc");
    expect(callback.status, callback.text).toBe(303);
    const at1 = (await browser.get("/token")).body.accessToken as string;

    const before = idp.grants("refresh_token");
    h.advance(HOUR_MS);
    const responses = await Promise.all(Array.from({ length: 50 }, () => browser.get("/token")));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 200));
    const accessTokens = new Set(responses.map((r) => r.body.accessToken as string));
    expect(accessTokens.size, [...accessTokens].join(", ")).toBe(1);
    expect(accessTokens.has(at1)).toBe(false);
    expect(idp.grants("refresh_token")).toEqual({ success: before.success + 1, error: before.error });

    // Every request stored the same rotated token: a later refresh still works.
    h.advance(HOUR_MS);
    const later = await browser.get("/token");
    expect(later.status, later.text).toBe(200);
    expect(accessTokens.has(later.body.accessToken as string)).toBe(false);
    expect(idp.grants("refresh_token")).toEqual({ success: before.success + 2, error: before.error });
    expect((await browser.get("/me")).body.signedIn).toBe(true);
  });

  it("POST /logout signs out and emits logout", async () => {
    const h = await harness(create);
    const browser = h.browser();
    const { callback } = await signIn(browser, "oidc");
    expect(callback.status, callback.text).toBe(303);
    expect((await browser.get("/me")).body.signedIn).toBe(true);

    const out = await browser.post("/logout");
    expect(out.status).toBe(303);
    expect(out.headers["location"]).toBe("/");
    const me = await browser.get("/me");
    expect(me.body).toMatchObject({ signedIn: false, provider: null, user: null, providers: [] });
    expect((await browser.get("/token")).status).toBe(401);
    expect(h.events.filter((e) => e.type === "logout")).toEqual([{ type: "logout", provider: "oidc", reason: "logout", userId: expectedUser().id }]);
  });

  it("restores a saved token on a fresh browser with req.login(provider, { savedToken })", async () => {
    const h = await harness(create);
    const first = h.browser();
    const { callback } = await signIn(first, "oidc");
    expect(callback.status, callback.text).toBe(303);
    const stored = await first.get("/stored-token");
    const json = stored.body.json as string;
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(typeof parsed["access_token"]).toBe("string");
    expect(parsed["refresh_token"]).toBe(stored.body.refreshToken);
    expect(typeof parsed["expires_at"]).toBe("number");

    const second = h.browser();
    expect((await second.get("/me")).body.signedIn).toBe(false);
    h.savedToken = json;
    const codes = idp.grants("authorization_code");
    const refreshes = idp.grants("refresh_token");
    const restored = await second.get("/restore");
    expect(restored.status, restored.text).toBe(200);
    const u = expectedUser();
    expect(restored.body).toMatchObject({ provider: "oidc", user: { id: u.id, sub: u.id, name: u.name, email: u.email } });

    const me = await second.get("/me");
    expect(me.body).toMatchObject({ signedIn: true, provider: "oidc", user: { id: u.id, name: u.name, email: u.email } });
    // A fresh saved token is used as is: no new code, no refresh; the same access token.
    expect(idp.grants("authorization_code")).toEqual(codes);
    expect(idp.grants("refresh_token")).toEqual(refreshes);
    expect((await second.get("/token")).body.accessToken).toBe(parsed["access_token"]);
    expect(h.events.filter((e) => e.type === "login")).toEqual([
      { type: "login", provider: "oidc", error: undefined, errorDescription: undefined, source: "callback", userId: u.id },
      { type: "login", provider: "oidc", error: undefined, errorDescription: undefined, source: "savedToken", userId: u.id },
    ]);
  });

  it("consent denied: the callback answers 403 with the error page and a login event access_denied", async () => {
    const h = await harness(create);
    const browser = h.browser();
    const codes = idp.grants("authorization_code");
    const { callback } = await signIn(browser, "oidc", { deny: true });

    expect(callback.status).toBe(403);
    expect(callback.headers["content-type"]).toMatch(/^text\/html/);
    expect(callback.text).toContain("Sign-in failed");
    expect(callback.text).toContain('role="alert"');
    expect(callback.text).not.toContain("Signed in successfully");
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ type: "login", provider: "oidc", error: "access_denied", userId: undefined });
    expect(h.events[0]?.errorDescription ?? "").not.toBe("");
    expect((await browser.get("/me")).body.signedIn).toBe(false);
    expect(idp.grants("authorization_code")).toEqual(codes);
  });

  // The Auth0 preset's endpoints are fixed (/authorize, /oauth/token, /userinfo) and so are the
  // IdP's (/auth, /token, /me); they meet through the path-mapping front (oidc-auth0-proxy.ts).
  it("signs in and refreshes with the Auth0OAuthProvider preset (through an Auth0-path front)", async () => {
    const h = await harness(create);
    const browser = h.browser();
    const hitsBefore = { ...front.hits };
    const { authorize, callback } = await signIn(browser, "auth0", { returnTo: "/me" });

    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${front.url}/authorize`);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("redirect_uri")).toBe(AUTH0_REDIRECT);
    expect(authorize.searchParams.get("scope")?.split(" ").sort()).toEqual(["email", "offline_access", "openid", "profile"]);
    expect(authorize.searchParams.has("audience")).toBe(false);
    expect(callback.status, callback.text).toBe(303);
    expect(callback.headers["location"]).toBe("/me");

    const u = expectedUser();
    const me = await browser.get("/me");
    // The preset has no groups hook: User.groups stays empty (the /userinfo claim is shadowed).
    expect(me.body).toMatchObject({ signedIn: true, provider: "auth0", user: { id: u.id, sub: u.id, name: u.name, email: u.email, groups: [] } });
    expect((front.hits["/oauth/token"] ?? 0) - (hitsBefore["/oauth/token"] ?? 0)).toBe(1);
    expect((front.hits["/userinfo"] ?? 0) - (hitsBefore["/userinfo"] ?? 0)).toBe(1);

    const at1 = (await browser.get("/token")).body.accessToken as string;
    const before = idp.grants("refresh_token");
    h.advance(HOUR_MS);
    const refreshed = await browser.get("/token");
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body.accessToken).not.toBe(at1);
    expect(idp.grants("refresh_token")).toEqual({ success: before.success + 1, error: before.error });
    expect((front.hits["/oauth/token"] ?? 0) - (hitsBefore["/oauth/token"] ?? 0)).toBe(2);
    expect(h.events.filter((e) => e.type === "login")).toEqual([
      { type: "login", provider: "auth0", error: undefined, errorDescription: undefined, source: "callback", userId: u.id },
    ]);
  });
});
