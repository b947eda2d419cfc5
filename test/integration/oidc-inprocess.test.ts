/**
 * OpenID Connect in-process (no Chromium, no Redis, no oidc-provider): real Express apps with
 * fletAuth, an OAuthHttp that answers the code exchange with ID tokens the test signs, and the
 * provider's JWKS on 127.0.0.1 (node:http). Time moves only through fletAuth's `clock`.
 *
 *  1. a login verifies the ID token (claims frozen in req.auth.claims; refused tokens store nothing)
 *     and shares the JWKS key set with back-channel logout;
 *  2. RP-initiated logout (lib/oidc/logout.ts redirectToEndSession, handlePostLogout);
 *  3. RFC 7009 revocation at sign-out (revokeTokens);
 *  4. Back-Channel Logout 1.0 (handleBackchannelLogout): what it accepts, what it refuses and why,
 *     and which sign-ins it ends.
 *
 * test/e2e/oidc.test.ts runs the same flows against oidc-provider in a browser.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import express from "express";
import session from "express-session";
import type { Express, Request, Response } from "express";
import { exportJWK, generateKeyPair } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OAuthProvider, createMemoryStore, fletAuth, type FletAuthMiddleware, type FletAuthOptions, type FletAuthStore, type OAuthHttp, type OAuthProviderOptions } from "../../lib/index.js";
import { SECRET, type Agent } from "../helpers/apps.js";
import { signRs256, strayKey, unsecuredJwt, type Claims, type SigningKey } from "../helpers/oidc-jwt.js";
import { START_MS, manualClock, recordEvents, type ManualClock, type RecordedEvents } from "../helpers/refresh-harness.js";
import { recordingLogger } from "../helpers/review-harness.js";

const CLIENT = "oidc-inprocess-client";
const OTHER_CLIENT = "oidc-inprocess-other";
const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
const REDIRECT = "http://127.0.0.1/oauth_callback";

let jwksServer: Server;
let base: string;
let issuer: string;
let jwksUri: string;
let jwksHits = 0;
let key: SigningKey;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  key = { kid: "op-key-1", privateKey: pair.privateKey };
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: key.kid, alg: "RS256", use: "sig" };
  jwksServer = createServer((_req: IncomingMessage, res: ServerResponse) => {
    jwksHits += 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  jwksServer.listen(0, "127.0.0.1");
  await once(jwksServer, "listening");
  base = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  issuer = `${base}/op`;
  jwksUri = `${base}/jwks`;
});

afterAll(async () => {
  jwksServer.closeAllConnections();
  await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
});

/** The provider, as an app declares it (its endpoints are never called: the OAuthHttp answers). */
function opProvider(overrides: Partial<OAuthProviderOptions> = {}): OAuthProvider {
  return new OAuthProvider({
    clientId: CLIENT,
    clientSecret: "oidc-inprocess-secret",
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
    redirectUrl: REDIRECT,
    scopes: ["openid"],
    issuer,
    jwksUri,
    endSessionEndpoint: `${base}/end-session?ui_locales=en`,
    revocationEndpoint: `${base}/revoke`,
    ...overrides,
  });
}

interface Revocation {
  readonly endpoint: string;
  readonly token: string;
  readonly hint: string;
}

interface Setup {
  readonly app: Express;
  readonly auth: FletAuthMiddleware;
  readonly clock: ManualClock;
  readonly events: RecordedEvents;
  readonly logger: ReturnType<typeof recordingLogger>;
  readonly revocations: Revocation[];
  /** Every store.set, in order. */
  readonly sets: Array<{ key: string; value: string; ttlMs: number; ifAbsent: boolean }>;
  /** What the next code exchange answers (besides access_token and token_type). */
  nextToken: Record<string, unknown>;
  /** How revoke() behaves ("throw-string": rejects with a string, not an Error). */
  revoke: "ok" | "fail" | "hang" | "throw-string";
}

function setup(options: Partial<FletAuthOptions> & { bodyParser?: boolean; providers?: FletAuthOptions["providers"] } = {}): Setup {
  const clock = manualClock();
  const logger = recordingLogger();
  const memory = createMemoryStore({ clock: clock.fn });
  const state = {
    revocations: [] as Revocation[],
    sets: [] as Setup["sets"],
    nextToken: {} as Record<string, unknown>,
    revoke: "ok" as Setup["revoke"],
  };
  const store: FletAuthStore = {
    getMany: (keys) => memory.getMany(keys),
    set(k, value, ttlMs, opts) {
      state.sets.push({ key: k, value, ttlMs, ifAbsent: opts?.ifAbsent === true });
      return memory.set(k, value, ttlMs, opts);
    },
    swap: (k, expected, value, ttlMs) => memory.swap(k, expected, value, ttlMs),
    delete: (k) => memory.delete(k),
  };
  let exchanges = 0;
  const http: OAuthHttp = {
    exchangeCode: async () => {
      exchanges += 1;
      return { access_token: `access-${exchanges}`, token_type: "Bearer", expires_in: 3600, refresh_token: `refresh-${exchanges}`, ...state.nextToken };
    },
    getJson: () => Promise.reject(new Error("not used: the provider has no user endpoint")),
    refresh: () => Promise.reject(new Error("not used")),
    revoke: (_client, endpoint, token, hint) => {
      state.revocations.push({ endpoint, token, hint });
      if (state.revoke === "fail") return Promise.reject(new Error("revocation endpoint answered 500"));
      if (state.revoke === "hang") return new Promise<void>(() => undefined);
      if (state.revoke === "throw-string") return Promise.reject("revocation refused");
      return Promise.resolve();
    },
  };
  const { bodyParser, ...rest } = options;
  const app = express();
  if (bodyParser === true) app.use(express.urlencoded({ extended: false }));
  const auth = fletAuth({ secret: SECRET, providers: { op: opProvider() }, clock: clock.fn, http, store, logger, defaultReturnTo: "/start", ...rest });
  app.use(auth);
  app.get("/me", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined, provider: req.auth?.provider ?? null, claims: req.auth?.claims ?? null, frozen: req.auth?.claims === undefined ? null : Object.isFrozen(req.auth.claims) });
  });
  const s: Setup = {
    app,
    auth,
    clock,
    events: recordEvents(auth),
    logger,
    get revocations() {
      return state.revocations;
    },
    get sets() {
      return state.sets;
    },
    get nextToken() {
      return state.nextToken;
    },
    set nextToken(value) {
      state.nextToken = value;
    },
    get revoke() {
      return state.revoke;
    },
    set revoke(value) {
      state.revoke = value;
    },
  };
  return s;
}

/** The logger's warnings about revocation (others, e.g. about the redirect URL's origin, are not this suite's). */
const revocationWarnings = (logger: ReturnType<typeof recordingLogger>): unknown[][] => logger.warn.mock.calls.filter((call) => String(call[0]).includes("revoking"));

const nowS = (s: Setup): number => Math.floor(s.clock.now() / 1000);

/** An ID token for the login whose authorize URL carried `nonce`. */
function idClaims(s: Setup, nonce: string | null, more: Claims = {}): Claims {
  return { iss: issuer, sub: "user-1", aud: CLIENT, iat: nowS(s), exp: nowS(s) + 3600, nonce: nonce ?? undefined, sid: "sid-1", ...more };
}

interface LoggedIn {
  readonly callback: request.Response;
  readonly idToken: string;
}

/** Starts a login, answers the code exchange with the ID token `forge` builds from the good claims, follows the callback. */
async function login(s: Setup, agent: Agent, forge: (claims: Claims) => Promise<string> | string = (c) => signRs256(c, key), name = "op"): Promise<LoggedIn> {
  const start = await agent.get(`/login/${name}?returnTo=%2Fhome`);
  expect(start.status, start.text).toBe(302);
  const authorize = new URL(String(start.headers["location"]));
  const idToken = await forge(idClaims(s, authorize.searchParams.get("nonce")));
  s.nextToken = { id_token: idToken };
  const callback = await agent.get(`/oauth_callback?code=code-1&state=${encodeURIComponent(authorize.searchParams.get("state") ?? "")}`);
  return { callback, idToken };
}

async function signedIn(agent: Agent): Promise<boolean> {
  return ((await agent.get("/me")).body as { signedIn: boolean }).signedIn;
}

// ---------------------------------------------------------------------------
// 1. Login
// ---------------------------------------------------------------------------

describe("1. a login verifies the ID token in-process", () => {
  it("a good ID token: signed in, req.auth.claims are the token's (frozen)", async () => {
    const s = setup();
    const agent = request.agent(s.app);
    const { callback } = await login(s, agent);
    expect(callback.status, callback.text).toBe(303);
    const me = (await agent.get("/me")).body as { signedIn: boolean; claims: Record<string, unknown>; frozen: boolean };
    expect(me.signedIn).toBe(true);
    expect(me.claims).toMatchObject({ iss: issuer, sub: "user-1", aud: CLIENT, sid: "sid-1" });
    expect(me.frozen).toBe(true);
  });

  it.each([
    ["alg none", (c: Claims) => unsecuredJwt(c, { kid: "op-key-1" }), /its algorithm is not allowed/],
    ["another key", async (c: Claims) => signRs256(c, { kid: "op-key-1", privateKey: (await strayKey()).privateKey }), /its signature does not verify/],
    ["wrong nonce", (c: Claims) => signRs256({ ...c, nonce: "another-login" }, key), /its nonce does not belong to this login/],
    ["wrong aud", (c: Claims) => signRs256({ ...c, aud: OTHER_CLIENT }, key), /its aud check failed/],
  ] as const)("a refused ID token (%s): login event id_token_invalid, 401, nothing stored", async (_name, forge, why) => {
    const s = setup();
    const agent = request.agent(s.app);
    const { callback } = await login(s, agent, forge);
    expect(callback.status).toBe(401);
    expect(s.events.login).toMatchObject([{ provider: "op", error: "id_token_invalid" }]);
    expect(await signedIn(agent)).toBe(false);
    expect(callback.text).toMatch(why);
  });
});

// ---------------------------------------------------------------------------
// 2. RP-initiated logout
// ---------------------------------------------------------------------------

describe("2. RP-initiated logout", () => {
  async function logoutAtApp(agent: Agent, returnTo = "%2Fbye"): Promise<{ res: request.Response; to: URL }> {
    const res = await agent.post(`/logout?returnTo=${returnTo}`).set("Accept", "text/html");
    expect(res.status, res.text).toBe(302);
    return { res, to: new URL(String(res.headers["location"])) };
  }

  it("sends the browser to end_session_endpoint with id_token_hint, post_logout_redirect_uri, state and client_id (its own query kept), no-store, no-referrer", async () => {
    const s = setup({ idpLogout: true });
    const agent = request.agent(s.app);
    const { idToken } = await login(s, agent);
    const { res, to } = await logoutAtApp(agent);
    expect(`${to.origin}${to.pathname}`).toBe(`${base}/end-session`);
    expect([...to.searchParams.keys()]).toEqual(["ui_locales", "id_token_hint", "post_logout_redirect_uri", "state", "client_id"]);
    expect(to.searchParams.get("ui_locales")).toBe("en");
    expect(to.searchParams.get("id_token_hint")).toBe(idToken);
    expect(to.searchParams.get("post_logout_redirect_uri")).toBe("http://127.0.0.1/flet-auth/logged-out");
    expect(to.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get("client_id")).toBe(CLIENT);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    // The local sign-out happened first.
    expect(await signedIn(agent)).toBe(false);
    expect(s.events.logout).toEqual([{ provider: "op", reason: "logout" }]);
  });

  it("post_logout_redirect_uri is postLogoutPath on the redirect URL's origin", async () => {
    const s = setup({ idpLogout: true, postLogoutPath: "/after/logout", providers: { op: opProvider({ redirectUrl: "https://app.example.com:8443/auth/oauth_callback" }) } });
    const agent = request.agent(s.app);
    // The callback is served at the redirect URL's path.
    const start = await agent.get("/login/op");
    const authorize = new URL(String(start.headers["location"]));
    s.nextToken = { id_token: await signRs256(idClaims(s, authorize.searchParams.get("nonce")), key) };
    expect((await agent.get(`/auth/oauth_callback?code=c&state=${authorize.searchParams.get("state") ?? ""}`)).status).toBe(303);
    const { to } = await logoutAtApp(agent);
    expect(to.searchParams.get("post_logout_redirect_uri")).toBe("https://app.example.com:8443/after/logout");
  });

  it("back with the matching state: 303 to returnTo, once; then defaultReturnTo; no-store", async () => {
    const s = setup({ idpLogout: true });
    const agent = request.agent(s.app);
    await login(s, agent);
    const { to } = await logoutAtApp(agent);
    const state = to.searchParams.get("state") ?? "";
    const back = await agent.get(`/flet-auth/logged-out?state=${state}`);
    expect(back.status).toBe(303);
    expect(back.headers["location"]).toBe("/bye");
    expect(back.headers["cache-control"]).toBe("no-store");
    const again = await agent.get(`/flet-auth/logged-out?state=${state}`);
    expect(again.status).toBe(303);
    expect(again.headers["location"]).toBe("/start");
    expect(again.headers["cache-control"]).toBe("no-store");
  });

  it("a wrong state leads to defaultReturnTo and spends the pending logout (the right state no longer works)", async () => {
    const s = setup({ idpLogout: true });
    const agent = request.agent(s.app);
    await login(s, agent);
    const { to } = await logoutAtApp(agent);
    const state = to.searchParams.get("state") ?? "";
    expect((await agent.get(`/flet-auth/logged-out?state=${state.slice(1)}x`)).headers["location"]).toBe("/start");
    expect((await agent.get(`/flet-auth/logged-out?state=${state}`)).headers["location"]).toBe("/start");
  });

  it("no state, or state given twice: defaultReturnTo", async () => {
    const s = setup({ idpLogout: true });
    const agent = request.agent(s.app);
    await login(s, agent);
    let state = (await logoutAtApp(agent)).to.searchParams.get("state") ?? "";
    expect((await agent.get("/flet-auth/logged-out")).headers["location"]).toBe("/start");
    await login(s, agent);
    state = (await logoutAtApp(agent)).to.searchParams.get("state") ?? "";
    expect((await agent.get(`/flet-auth/logged-out?state=${state}&state=${state}`)).headers["location"]).toBe("/start");
  });

  it("the pending logout lasts loginTimeoutMs: 1 ms before, returnTo; at loginTimeoutMs, defaultReturnTo", async () => {
    const s = setup({ idpLogout: true, loginTimeoutMs: 60_000 });
    const agent = request.agent(s.app);
    await login(s, agent);
    let state = (await logoutAtApp(agent)).to.searchParams.get("state") ?? "";
    s.clock.set(s.clock.now() + 59_999);
    expect((await agent.get(`/flet-auth/logged-out?state=${state}`)).headers["location"]).toBe("/bye");
    await login(s, agent);
    state = (await logoutAtApp(agent)).to.searchParams.get("state") ?? "";
    s.clock.set(s.clock.now() + 60_000);
    expect((await agent.get(`/flet-auth/logged-out?state=${state}`)).headers["location"]).toBe("/start");
  });

  it("an unsafe returnTo comes back as defaultReturnTo", async () => {
    const s = setup({ idpLogout: true });
    const agent = request.agent(s.app);
    await login(s, agent);
    const state = (await logoutAtApp(agent, encodeURIComponent("https://evil.example/steal"))).to.searchParams.get("state") ?? "";
    expect((await agent.get(`/flet-auth/logged-out?state=${state}`)).headers["location"]).toBe("/start");
  });

  it("a visitor with no pending logout gets defaultReturnTo and no session cookie", async () => {
    const s = setup({ idpLogout: true });
    const res = await request(s.app).get("/flet-auth/logged-out?state=anything");
    expect(res.status).toBe(303);
    expect(res.headers["location"]).toBe("/start");
    expect(res.headers["set-cookie"]).toBeUndefined();
  });

  it("the pending logout is saved before the redirect, and its removal before the way back: a store that cannot save fails the request", async () => {
    /** A session store that refuses to save sessions matching `failing` while armed. */
    class PickyStore extends session.MemoryStore {
      failing: ((s: session.SessionData) => boolean) | undefined;
      override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
        if (this.failing?.(data) === true) return callback?.(new Error("session store down"));
        super.set(sid, data, callback);
      }
    }
    const store = new PickyStore();
    const s = setup({ idpLogout: true, session: { store } });
    const agent = request.agent(s.app);
    await login(s, agent);
    store.failing = (data) => (data.fletAuth as { logout?: unknown } | undefined)?.logout !== undefined;
    const out = await agent.post("/logout?returnTo=%2Fbye").set("Accept", "text/html");
    expect(out.status, out.text).toBe(503);

    store.failing = undefined;
    const s2 = setup({ idpLogout: true, session: { store } });
    const agent2 = request.agent(s2.app);
    await login(s2, agent2);
    const state = (await logoutAtApp(agent2)).to.searchParams.get("state") ?? "";
    store.failing = () => true;
    const back = await agent2.get(`/flet-auth/logged-out?state=${state}`);
    expect(back.status, back.text).toBe(503);
  });

  it("no end-session endpoint, or a sign-in without an ID token: the local sign-out's own redirect", async () => {
    const s = setup({ idpLogout: true, providers: { op: opProvider({ endSessionEndpoint: undefined }) } });
    const agent = request.agent(s.app);
    await login(s, agent);
    const out = await agent.post("/logout?returnTo=%2Fbye").set("Accept", "text/html");
    expect(out.status).toBe(303);
    expect(out.headers["location"]).toBe("/bye");

    // Without a JWKS no ID token is verified or kept.
    const plain = setup({ idpLogout: true, providers: { op: opProvider({ jwksUri: undefined }) } });
    const agent2 = request.agent(plain.app);
    expect((await login(plain, agent2)).callback.status).toBe(303);
    const out2 = await agent2.post("/logout?returnTo=%2Fbye").set("Accept", "text/html");
    expect(out2.status).toBe(303);
    expect(out2.headers["location"]).toBe("/bye");
  });

  it("after the response has started, req.logout({ idpLogout }) signs out locally and does not redirect", async () => {
    const s = setup();
    s.app.post("/late-logout", async (req: Request, res: Response) => {
      res.status(200).write("signing out… ");
      try {
        await req.logout("op", { idpLogout: true });
        res.end("done");
      } catch (err) {
        res.end(`failed: ${String(err)}`);
      }
    });
    const agent = request.agent(s.app);
    await login(s, agent);
    const res = await agent.post("/late-logout").set("Sec-Fetch-Site", "same-origin");
    expect(res.text).toBe("signing out… done");
  });
});

// ---------------------------------------------------------------------------
// 3. Revocation
// ---------------------------------------------------------------------------

describe("3. RFC 7009 revocation at sign-out", () => {
  it("revokes the refresh token, then the access token, at the revocation endpoint", async () => {
    const s = setup();
    const agent = request.agent(s.app);
    await login(s, agent);
    const out = await agent.post("/logout").set("Accept", "text/html");
    expect(out.status).toBe(303);
    expect(s.revocations).toEqual([
      { endpoint: `${base}/revoke`, token: "refresh-1", hint: "refresh_token" },
      { endpoint: `${base}/revoke`, token: "access-1", hint: "access_token" },
    ]);
    expect(revocationWarnings(s.logger)).toEqual([]);
  });

  it("without a refresh token only the access token is revoked; without an endpoint nothing", async () => {
    const s = setup();
    const agent = request.agent(s.app);
    const start = await agent.get("/login/op");
    const authorize = new URL(String(start.headers["location"]));
    s.nextToken = { id_token: await signRs256(idClaims(s, authorize.searchParams.get("nonce")), key), refresh_token: undefined };
    expect((await agent.get(`/oauth_callback?code=c&state=${authorize.searchParams.get("state") ?? ""}`)).status).toBe(303);
    await agent.post("/logout").set("Accept", "text/html");
    expect(s.revocations).toEqual([{ endpoint: `${base}/revoke`, token: "access-1", hint: "access_token" }]);

    const none = setup({ providers: { op: opProvider({ revocationEndpoint: undefined }) } });
    const agent2 = request.agent(none.app);
    await login(none, agent2);
    expect((await agent2.post("/logout").set("Accept", "text/html")).status).toBe(303);
    expect(none.revocations).toEqual([]);
    expect(revocationWarnings(none.logger)).toEqual([]);
  });

  it("an OAuthHttp without revoke(): no revocation, no warning", async () => {
    // An app whose http client cannot revoke.
    const clock = manualClock();
    const http: OAuthHttp = {
      exchangeCode: async () => ({ access_token: "a", token_type: "Bearer", expires_in: 3600 }),
      getJson: () => Promise.reject(new Error("unused")),
      refresh: () => Promise.reject(new Error("unused")),
    };
    const logger = recordingLogger();
    const app = express();
    const auth = fletAuth({ secret: SECRET, providers: { op: opProvider({ scopes: [] }) }, clock: clock.fn, http, logger });
    app.use(auth);
    app.get("/me", (req: Request, res: Response) => void res.json({ signedIn: req.auth !== undefined }));
    const agent2 = request.agent(app);
    const start = await agent2.get("/login/op");
    const authorize = new URL(String(start.headers["location"]));
    expect((await agent2.get(`/oauth_callback?code=c&state=${authorize.searchParams.get("state") ?? ""}`)).status).toBe(303);
    expect(await signedIn(agent2)).toBe(true);
    expect((await agent2.post("/logout").set("Accept", "text/html")).status).toBe(303);
    expect(await signedIn(agent2)).toBe(false);
    expect(revocationWarnings(logger)).toEqual([]);
  });

  it.each([
    ["fail", "revocation endpoint answered 500"],
    ["hang", "no answer within 2000 ms"],
    ["throw-string", "revocation refused"],
  ] as const)("a revocation that does %s is logged once (%s); the local sign-out stands", async (mode, logged) => {
    const s = setup({ timeoutMs: 2000 });
    s.revoke = mode;
    const agent = request.agent(s.app);
    await login(s, agent);
    const out = await agent.post("/logout").set("Accept", "text/html");
    expect(out.status).toBe(303);
    expect(await signedIn(agent)).toBe(false);
    expect(revocationWarnings(s.logger)).toEqual([
      ['flet-auth: revoking the tokens of provider "op" at sign-out failed; the local sign-out stands.', logged],
    ]);
  });
});

// ---------------------------------------------------------------------------
// 4. Back-channel logout
// ---------------------------------------------------------------------------

describe("4. back-channel logout", () => {
  const logoutClaims = (s: Setup, more: Claims = {}): Claims => ({
    iss: issuer,
    aud: CLIENT,
    iat: nowS(s),
    jti: randomUUID(),
    events: { [BACKCHANNEL_EVENT]: {} },
    sid: "sid-1",
    sub: "user-1",
    ...more,
  });
  const drop = (claims: Claims, ...names: string[]): Claims => Object.fromEntries(Object.entries(claims).filter(([k]) => !names.includes(k))) as Claims;
  const post = (s: Setup, token: string, path = "/backchannel_logout") => request(s.app).post(path).type("form").send({ logout_token: token });

  async function refused(res: request.Response, description: string): Promise<void> {
    expect(res.status, res.text).toBe(400);
    expect(res.body).toEqual({ error: "invalid_request", error_description: description });
    expect(res.headers["cache-control"]).toBe("no-store");
  }

  it("a valid logout token (sid): 200, empty, no-store; the sign-in with that sid reads as ended on its next request", async () => {
    const s = setup();
    const agent = request.agent(s.app);
    await login(s, agent);
    expect(await signedIn(agent)).toBe(true);
    s.clock.advanceSeconds(5);
    const res = await post(s, await signRs256(logoutClaims(s), key));
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe("");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(await signedIn(agent)).toBe(false);
    expect(s.events.logout).toEqual([{ provider: "op", reason: "ended" }]);
  });

  it("records the jti (10 min, only if absent) and the ended sid for as long as a sign-in lives (absoluteTimeoutMs)", async () => {
    const s = setup({ absoluteTimeoutMs: 3_600_000 });
    const claims = logoutClaims(s);
    expect((await post(s, await signRs256(claims, key))).status).toBe(200);
    expect(s.sets).toEqual([
      { key: `oidc-jti:${issuer}:${String(claims.jti)}`, value: "1", ttlMs: 600_000, ifAbsent: true },
      { key: "oidc-sid:op:sid-1", value: String(START_MS), ttlMs: 3_600_000, ifAbsent: false },
    ]);
  });

  it("an absoluteTimeoutMs longer than 400 days keeps the marker 400 days; a sub-only token records the subject", async () => {
    const s = setup({ absoluteTimeoutMs: Infinity });
    const claims = drop(logoutClaims(s), "sid");
    expect((await post(s, await signRs256(claims, key))).status).toBe(200);
    expect(s.sets[1]).toEqual({ key: "oidc-sub:op:user-1", value: String(START_MS), ttlMs: 400 * 86_400_000, ifAbsent: false });
  });

  it("sid wins over sub: another sid ends nothing, even for the same sub", async () => {
    const s = setup();
    const agent = request.agent(s.app);
    await login(s, agent);
    s.clock.advanceSeconds(5);
    expect((await post(s, await signRs256(logoutClaims(s, { sid: "another-session" }), key))).status).toBe(200);
    expect(await signedIn(agent)).toBe(true);
    expect(s.sets.map((x) => x.key).filter((k) => k.startsWith("oidc-su"))).toEqual([]);
  });

  it("a sub-only token ends the subject's sign-ins made before it, not later ones", async () => {
    const s = setup();
    const before = request.agent(s.app);
    await login(s, before);
    s.clock.advanceSeconds(5);
    expect((await post(s, await signRs256(drop(logoutClaims(s), "sid"), key))).status).toBe(200);
    expect(await signedIn(before)).toBe(false);
    s.clock.advanceSeconds(5);
    const after = request.agent(s.app);
    await login(s, after);
    expect(await signedIn(after)).toBe(true);
  });

  it("a replayed token (same jti): logout_token was already used", async () => {
    const s = setup();
    const token = await signRs256(logoutClaims(s), key);
    expect((await post(s, token)).status).toBe(200);
    await refused(await post(s, token), "logout_token was already used");
  });

  it("refusals, each with its reason", async () => {
    const s = setup();
    const sign = (claims: Claims) => signRs256(claims, key);
    const cases: Array<[string, () => Promise<string> | string, string]> = [
      ["not a JWT", () => "not-a-jwt", "logout_token is not a JWT"],
      ["another issuer", () => sign(logoutClaims(s, { iss: `${base}/other` })), "logout_token comes from no configured issuer and client"],
      ["another audience", () => sign(logoutClaims(s, { aud: OTHER_CLIENT })), "logout_token comes from no configured issuer and client"],
      ["no audience", () => sign(drop(logoutClaims(s), "aud")), "logout_token comes from no configured issuer and client"],
      ["alg none", () => unsecuredJwt(logoutClaims(s), { kid: key.kid }), "logout_token does not verify"],
      ["another key", async () => signRs256(logoutClaims(s), { kid: key.kid, privateKey: (await strayKey()).privateKey }), "logout_token does not verify"],
      ["no jti", () => sign(drop(logoutClaims(s), "jti")), "logout_token does not verify"],
      ["no iat", () => sign(drop(logoutClaims(s), "iat")), "logout_token does not verify"],
      ["no events", () => sign(drop(logoutClaims(s), "events")), "logout_token has no back-channel logout event"],
      ["events not an object", () => sign(logoutClaims(s, { events: [BACKCHANNEL_EVENT] })), "logout_token has no back-channel logout event"],
      ["another event", () => sign(logoutClaims(s, { events: { "http://schemas.openid.net/event/other": {} } })), "logout_token has no back-channel logout event"],
      ["the event not an object", () => sign(logoutClaims(s, { events: { [BACKCHANNEL_EVENT]: true } })), "logout_token has no back-channel logout event"],
      ["a nonce", () => sign(logoutClaims(s, { nonce: "n" })), "logout_token must not carry a nonce"],
      ["neither sid nor sub", () => sign(drop(logoutClaims(s), "sid", "sub")), "logout_token names neither sid nor sub"],
      ["sid and sub not strings", () => sign({ ...logoutClaims(s), sid: 5, sub: 6 } as unknown as Claims), "logout_token names neither sid nor sub"],
    ];
    for (const [name, build, why] of cases) {
      const res = await post(s, await build());
      expect(res.body, name).toEqual({ error: "invalid_request", error_description: why });
      await refused(res, why);
    }
    // Nothing was recorded for any of them.
    expect(s.sets.filter((x) => x.key.startsWith("oidc-"))).toEqual([]);
  });

  it("iat: up to 300 s old (plus 30 s tolerance) and up to 30 s ahead, by fletAuth's clock; exp is not required", async () => {
    const s = setup();
    const at = (iat: number) => signRs256(logoutClaims(s, { iat }), key);
    expect((await post(s, await at(nowS(s) - 330))).status).toBe(200);
    await refused(await post(s, await at(nowS(s) - 331)), "logout_token does not verify");
    expect((await post(s, await at(nowS(s) + 30))).status).toBe(200);
    await refused(await post(s, await at(nowS(s) + 31)), "logout_token does not verify");
    await refused(await post(s, await signRs256(logoutClaims(s, { exp: nowS(s) - 31 }), key)), "logout_token does not verify");
  });

  it("the body: missing, empty, JSON, or over 16 KiB is 'logout_token is missing'; an app's urlencoded parser is used", async () => {
    const s = setup();
    await refused(await request(s.app).post("/backchannel_logout").type("form").send(""), "logout_token is missing");
    await refused(await request(s.app).post("/backchannel_logout").type("form").send("logout_token="), "logout_token is missing");
    await refused(await request(s.app).post("/backchannel_logout").set("Content-Type", "application/json").send(JSON.stringify({ logout_token: "x" })), "logout_token is missing");
    const token = await signRs256(logoutClaims(s), key);
    await refused(await request(s.app).post("/backchannel_logout").type("form").send(`logout_token=${token}&pad=${"p".repeat(16 * 1024)}`), "logout_token is missing");
    // Just under the cap is read.
    const body = `logout_token=${token}&pad=`;
    expect((await request(s.app).post("/backchannel_logout").type("form").send(`${body}${"p".repeat(16 * 1024 - body.length)}`)).status).toBe(200);

    // Only a form body is read: the same bytes as text/plain are not; a charset parameter is fine.
    const fresh = async () => signRs256(logoutClaims(s), key);
    await refused(await request(s.app).post("/backchannel_logout").set("Content-Type", "text/plain").send(`logout_token=${await fresh()}`), "logout_token is missing");
    expect((await request(s.app).post("/backchannel_logout").set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8").send(`logout_token=${await fresh()}`)).status).toBe(200);

    const parsed = setup({ bodyParser: true });
    expect((await post(parsed, await signRs256(logoutClaims(parsed), key))).status).toBe(200);
  });

  it("the path is backchannelLogoutPath", async () => {
    const s = setup({ backchannelLogoutPath: "/oidc/bcl" });
    expect((await post(s, await signRs256(logoutClaims(s), key), "/oidc/bcl")).status).toBe(200);
  });

  it("two providers of one issuer: the token's aud picks the one whose sid is recorded; a provider without JWKS is skipped", async () => {
    const s = setup({
      providers: {
        nojwks: opProvider({ clientId: OTHER_CLIENT, jwksUri: undefined }),
        first: opProvider(),
        second: opProvider({ clientId: OTHER_CLIENT }),
      },
    });
    expect((await post(s, await signRs256(logoutClaims(s, { aud: OTHER_CLIENT }), key))).status).toBe(200);
    expect(s.sets[1]?.key).toBe("oidc-sid:second:sid-1");
    expect((await post(s, await signRs256(logoutClaims(s, { aud: ["someone", CLIENT] }), key))).status).toBe(200);
    expect(s.sets[3]?.key).toBe("oidc-sid:first:sid-1");
  });

  it("a templated issuer ({tenantid}) is filled from the token's tid", async () => {
    const s = setup({ providers: { azure: opProvider({ issuer: `${base}/{tenantid}/v2.0` }) } });
    const iss = `${base}/tenant-a/v2.0`;
    expect((await post(s, await signRs256(logoutClaims(s, { iss, tid: "tenant-a" }), key))).status).toBe(200);
    expect(s.sets[1]?.key).toBe("oidc-sid:azure:sid-1");
    await refused(await post(s, await signRs256(logoutClaims(s, { iss, tid: "tenant-b" }), key)), "logout_token comes from no configured issuer and client");
    await refused(await post(s, await signRs256(logoutClaims(s, { iss }), key)), "logout_token comes from no configured issuer and client");
  });

  it("keeps the key set it creates: two logout tokens, then a login, fetch the JWKS once", async () => {
    const s = setup({ providers: { op: opProvider({ jwksUri: `${jwksUri}?instance=${randomUUID()}` }) } });
    const before = jwksHits;
    expect((await post(s, await signRs256(logoutClaims(s, { sid: "x" }), key))).status).toBe(200);
    expect((await post(s, await signRs256(logoutClaims(s, { sid: "y" }), key))).status).toBe(200);
    const agent = request.agent(s.app);
    expect((await login(s, agent)).callback.status).toBe(303);
    expect(jwksHits).toBe(before + 1);
  });

  it("shares the instance's key set with logins: one JWKS fetch for a login and two logout tokens", async () => {
    const s = setup({ providers: { op: opProvider({ jwksUri: `${jwksUri}?instance=${randomUUID()}` }) } });
    const before = jwksHits;
    const agent = request.agent(s.app);
    await login(s, agent);
    expect((await post(s, await signRs256(logoutClaims(s, { sid: "x" }), key))).status).toBe(200);
    expect((await post(s, await signRs256(logoutClaims(s, { sid: "y" }), key))).status).toBe(200);
    expect(jwksHits).toBe(before + 1);
  });
});
