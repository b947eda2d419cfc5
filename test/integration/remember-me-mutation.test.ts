/**
 * Restoring from the remember-me cookie (lib/remember-me/restore.ts), the properties the
 * remember-me suite leaves implicit:
 *
 * - a refresh during a restore is shared only by restores of the same cookie generation: two
 *   generations of one series holding the same old token each go to the provider;
 * - an error that is not a FletAuthError becomes `user_fetch_failed` "Restoring the remembered
 *   sign-in failed." (login event), and keeps the cookie;
 * - a failure with status 500 (a server-side fault) keeps the cookie; a 4xx clears it;
 * - OpenID Connect: the ID token a restore's refresh brings is verified and kept (claims, and the
 *   user when the provider has no user endpoint).
 *
 * Time moves only through fletAuth's `clock` option.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Request, Response } from "express";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMemoryStore,
  FletAuthError,
  OAuthProvider,
  OAuthToken,
  type FletAuthMiddleware,
  type FletAuthStore,
  type LoginEvent,
  type OAuthHttp,
} from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { START_MS, manualClock } from "../helpers/refresh-harness.js";
import { cookieHeader, cookieValue, findSetCookie, isClearing } from "../helpers/remember-cookies.js";

const COOKIE = "flet-auth.remember";
const KEY = "remember-me-key-0123456789abcdef0123";
const DAY_MS = 86_400_000;
const { create } = EXPRESS[0];

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider({ rotateRefreshTokens: false });
});
afterAll(() => fake.close());

/** Login events, with what the recorded-events helper leaves out: the description. */
function loginEvents(auth: FletAuthMiddleware) {
  const events: Array<{ error: string | undefined; description: string | undefined; source: string }> = [];
  auth.on("login", (e: LoginEvent) => {
    events.push({ error: e.error, description: e.errorDescription, source: e.source });
  });
  return events;
}

function withCookie(app: ReturnType<typeof buildApp>["app"], cookie: string, path = "/me"): request.Test {
  return request(app).get(path).set("Cookie", cookieHeader({ [COOKIE]: cookie }));
}

describe("remember-me restore", () => {
  it("two generations of one series holding the same expired token each refresh at the provider (no shared result)", async () => {
    const clock = manualClock();
    // Tokens live an hour; with this margin they count as expiring five seconds after issue.
    const { app } = buildApp(create, {
      providers: { idp: standardProvider(fake) },
      clock: clock.fn,
      rememberMe: { secretKey: KEY, maxAge: 7 * DAY_MS },
      refreshMarginMs: 3_600_000 - 5_000,
    });
    const done = await signIn(request.agent(app), fake, "/login/idp?remember=1");
    const first = cookieValue(findSetCookie(done, COOKIE)!);

    // One second later the token is still fresh: a restore rotates the cookie, same token inside.
    clock.advanceSeconds(1);
    const rotated = await withCookie(app, first);
    expect((rotated.body as MeBody).signedIn).toBe(true);
    const second = cookieValue(findSetCookie(rotated, COOKIE)!);
    expect(second).not.toBe(first);

    // Five seconds later (within the rotation grace) both cookies are accepted, and the token expiring.
    clock.advanceSeconds(5);
    const refreshes = fake.count("/token", "refresh_token");
    const old = await withCookie(app, first);
    expect((old.body as MeBody).signedIn).toBe(true);
    expect(fake.count("/token", "refresh_token")).toBe(refreshes + 1);
    const current = await withCookie(app, second);
    expect((current.body as MeBody).signedIn).toBe(true);
    expect(fake.count("/token", "refresh_token"), "the current cookie's restore is another generation: its own refresh").toBe(refreshes + 2);
  });

  it("a failure that is no FletAuthError (the store throws) is reported as user_fetch_failed with its own message, and keeps the cookie", async () => {
    const clock = manualClock();
    const memory = createMemoryStore({ clock: clock.fn });
    let failSwaps = false;
    const store: FletAuthStore = {
      getMany: (keys) => memory.getMany(keys),
      set: (key, value, ttlMs, options) => memory.set(key, value, ttlMs, options),
      swap: (key, expected, value, ttlMs) => (failSwaps ? Promise.reject(new Error("store connection lost")) : memory.swap(key, expected, value, ttlMs)),
      delete: (key) => memory.delete(key),
    };
    const { app, auth } = buildApp(create, {
      providers: { idp: standardProvider(fake) },
      clock: clock.fn,
      store,
      rememberMe: { secretKey: KEY, maxAge: 7 * DAY_MS },
    });
    const events = loginEvents(auth);
    const done = await signIn(request.agent(app), fake, "/login/idp?remember=1");
    const cookie = cookieValue(findSetCookie(done, COOKIE)!);
    events.length = 0;

    failSwaps = true;
    const back = await withCookie(app, cookie);
    expect((back.body as MeBody).signedIn).toBe(false);
    expect(events).toEqual([{ error: "user_fetch_failed", description: "Restoring the remembered sign-in failed.", source: "rememberMe" }]);
    expect(findSetCookie(back, COOKIE), "a 502 keeps the cookie for the next request").toBeUndefined();

    failSwaps = false;
    const later = await withCookie(app, cookie);
    expect((later.body as MeBody).signedIn).toBe(true);
  });

  it("a restore failing with status 500 keeps the cookie; with a 4xx it clears it", async () => {
    const clock = manualClock();
    let failure: FletAuthError | undefined;
    const provider = standardProvider(fake, {
      userId: (u) => {
        if (failure !== undefined) throw failure;
        return String(u["sub"]);
      },
    });
    const { app, auth } = buildApp(create, { providers: { idp: provider }, clock: clock.fn, rememberMe: { secretKey: KEY, maxAge: 7 * DAY_MS } });
    const events = loginEvents(auth);
    const done = await signIn(request.agent(app), fake, "/login/idp?remember=1");
    const cookie = cookieValue(findSetCookie(done, COOKIE)!);
    events.length = 0;

    failure = new FletAuthError("user_fetch_failed", "The app's user directory failed.", { status: 500 });
    const serverFault = await withCookie(app, cookie);
    expect((serverFault.body as MeBody).signedIn).toBe(false);
    expect(events).toMatchObject([{ error: "user_fetch_failed", description: "The app's user directory failed." }]);
    expect(findSetCookie(serverFault, COOKIE), "status 500: the cookie is kept").toBeUndefined();

    failure = new FletAuthError("user_fetch_failed", "The user is gone.", { status: 404 });
    const gone = await withCookie(app, cookie);
    const cleared = findSetCookie(gone, COOKIE);
    expect(cleared, "status 404: the cookie is cleared").toBeDefined();
    expect(isClearing(cleared!)).toBe(true);
  });
});

describe("remember-me restore with OpenID Connect", () => {
  const CLIENT_ID = "oidc-client";
  let jwks: Server;
  let issuer: string;
  let signingKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    signingKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    jwks.closeAllConnections();
    await new Promise<void>((resolve) => jwks.close(() => resolve()));
  });

  it("the refreshed ID token is verified and kept: the restored sign-in has its claims, and its user when there is no user endpoint", async () => {
    const clock = manualClock();
    const nowS = (): number => Math.floor(clock.now() / 1000);
    const idToken = (): Promise<string> =>
      new SignJWT({ sub: "user-7", name: "Seven" })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(issuer)
        .setAudience(CLIENT_ID)
        .setIssuedAt(nowS())
        .setExpirationTime(nowS() + 3600)
        .sign(signingKey);
    let refreshes = 0;
    // No network but the JWKS: the token endpoint is this client.
    const http: OAuthHttp = {
      exchangeCode: () => Promise.reject(new Error("not used: the sign-in starts from a saved token")),
      getJson: () => Promise.reject(new Error("not used: the provider has no user endpoint")),
      async refresh(_client, refreshToken) {
        refreshes += 1;
        return { access_token: `access-${refreshes}`, token_type: "Bearer", expires_in: 3600, refresh_token: refreshToken, id_token: await idToken() };
      },
    };
    const provider = new OAuthProvider({
      clientId: CLIENT_ID,
      clientSecret: "oidc-client-secret",
      authorizationEndpoint: `${issuer}/authorize`,
      tokenEndpoint: `${issuer}/token`,
      issuer,
      jwksUri: `${issuer}/jwks`,
      scopes: ["openid", "offline_access"],
      redirectUrl: "http://127.0.0.1/oauth_callback",
    });
    const { app } = buildApp(create, { providers: { op: provider }, clock: clock.fn, http, rememberMe: { secretKey: KEY, maxAge: 7 * DAY_MS } });
    const saved = new OAuthToken({ accessToken: "access-0", tokenType: "Bearer", expiresAt: START_MS / 1000 + 3600, refreshToken: "refresh-0", scope: ["openid", "offline_access"] });
    app.get("/remember-saved", (req: Request, res: Response, next) => {
      req.login("op", { savedToken: saved.toJson(), remember: true }).then(() => res.json({ ok: true }), next);
    });
    app.get("/identity", (req: Request, res: Response) => {
      res.json({ signedIn: req.auth !== undefined, userId: req.auth?.user?.id ?? null, sub: req.auth?.claims?.["sub"] ?? null });
    });

    const first = await request(app).get("/remember-saved");
    expect(first.status, first.text).toBe(200);
    const cookie = cookieValue(findSetCookie(first, COOKIE)!);

    clock.advanceSeconds(2 * 3600);
    const back = await withCookie(app, cookie, "/identity");
    expect(refreshes).toBe(1);
    expect(back.body).toEqual({ signedIn: true, userId: "user-7", sub: "user-7" });
  });
});
