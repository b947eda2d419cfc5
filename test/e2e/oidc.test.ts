/**
 * OpenID Connect end to end (issue 11), against the real `oidc-provider` 9
 * (test/helpers/oidc-op.ts: revocation, back-channel logout, registered post-logout URIs, keys the
 * test holds and rotates):
 *
 *  1. discovery: the endpoints from oidc-provider's document; another issuer in the document,
 *     a 404 and an unreachable host each reject with `discovery_failed`;
 *  2. a login verifies the ID token: `req.auth.claims` (frozen), the nonce of the authorize URL,
 *     the user from userinfo (same `sub`);
 *  3. every refused ID token — forged through a front that replaces the provider's `id_token`
 *     (test/helpers/oidc-front.ts) — is a `login` event `id_token_invalid`, an error page, and
 *     nothing stored;
 *  4. JWKS key rotation during a run;
 *  5. RP-initiated logout in headless Chromium;
 *  6. back-channel logout across two instances sharing Redis;
 *  7. RFC 7009 revocation at sign-out, and a revocation endpoint that fails or hangs.
 *
 * Apps listen on ports fixed before the provider starts (test/helpers/oidc-apps.ts), so the
 * provider's client registration names their real redirect, post-logout and back-channel URIs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { RedisStore } from "connect-redis";
import session from "express-session";
import type { Browser } from "playwright-core";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createRedisStore, FletAuthError, OAuthProvider, type OAuthProviderOptions } from "../../lib/index.js";
import { pathOf, type Agent } from "../helpers/apps.js";
import { CHROMIUM_PATH, hasChromium, launchChromium, newContext } from "../helpers/browser-chromium.js";
import { signInAtDemoIdp } from "../helpers/browser-idp.js";
import { oidcApp, startSlot, type ClaimsBody, type OidcApp, type OidcAppOptions, type Slot } from "../helpers/oidc-apps.js";
import { startOidcFront, type OidcFront } from "../helpers/oidc-front.js";
import { claimsOf, hs256WithPublicKey, kidOf, nowSeconds, signRs256, strayKey, unsecuredJwt, type Claims } from "../helpers/oidc-jwt.js";
import { OP_USER, startOidcOp, type OidcOp, type OpSigningKey, type OpUserAgent } from "../helpers/oidc-op.js";
import { findRedisServerOrWarn, useRedisServer } from "../helpers/redis-server.js";
import { closedPort } from "../helpers/review-harness.js";

const RP = { clientId: "flet-auth-oidc", clientSecret: "oidc-e2e-secret-0123456789" } as const;
/** The client registered for back-channel logout (its ID and logout tokens carry `sid`). */
const RP_BC = { clientId: "flet-auth-oidc-bc", clientSecret: "oidc-e2e-bc-secret-0123456789" } as const;
const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";

let op: OidcOp;
let front: OidcFront;
/** Where the app under test listens (A in the back-channel test). */
let slotA: Slot;
/** The second instance of the back-channel test. */
let slotB: Slot;

beforeAll(async () => {
  [slotA, slotB, front] = await Promise.all([startSlot(), startSlot(), startOidcFront()]);
  op = await startOidcOp({
    clients: [
      { ...RP, redirectUris: [`${slotA.url}/oauth_callback`], postLogoutRedirectUris: [`${slotA.url}/flet-auth/logged-out`] },
      { ...RP_BC, redirectUris: [`${slotA.url}/oauth_callback`, `${slotA.url}/oauth_callback_bc`], backchannelLogoutUri: front.backchannelUri },
    ],
  });
  front.target = op;
});

afterEach(() => {
  vi.useRealTimers();
  slotA.mount(undefined);
  slotB.mount(undefined);
  front.idToken = undefined;
  front.userinfo = undefined;
  front.revocation = "forward";
  front.backchannelTarget = undefined;
});

afterAll(async () => {
  await Promise.all([front?.close(), slotA?.close(), slotB?.close()]);
  await op?.close();
});

type Client = typeof RP | typeof RP_BC;

const common = (client: Client) => ({
  ...client,
  redirectUrl: `${slotA.url}/oauth_callback`,
  scopes: ["openid", "offline_access"],
  userScopes: ["profile", "email"],
});

/** The provider as an app declares it: from oidc-provider's discovery document. */
function discovered(client: Client = RP): Promise<OAuthProvider> {
  return OAuthProvider.discover(op.issuer, common(client));
}

/** The provider with its token (and userinfo, revocation…) endpoints behind the front. */
function viaFront(overrides: Partial<OAuthProviderOptions> = {}): OAuthProvider {
  return new OAuthProvider({
    ...common(RP),
    authorizationEndpoint: op.authorizationEndpoint,
    tokenEndpoint: front.tokenEndpoint,
    userEndpoint: front.userinfoEndpoint,
    userId: (u) => String(u["sub"]),
    issuer: op.issuer,
    requireIssuer: true,
    jwksUri: op.jwksUri,
    endSessionEndpoint: op.endSessionEndpoint,
    revocationEndpoint: op.revocationEndpoint,
    ...overrides,
  });
}

function mount(options: OidcAppOptions, slot: Slot = slotA): OidcApp {
  const built = oidcApp(options);
  slot.mount(built.app);
  return built;
}

interface SignedIn {
  readonly authorize: URL;
  readonly callback: request.Response;
}

/** Starts the login on the app, signs in and consents at the provider (`ua`: its cookie jar), follows the callback. */
async function signIn(agent: Agent, ua: OpUserAgent = op.userAgent(), name = "oidc", callbackPath = "/oauth_callback"): Promise<SignedIn> {
  const start = await agent.get(`/login/${name}`);
  expect(start.status, start.text).toBe(302);
  const location = String(start.headers["location"]);
  const back = await ua.signIn(location);
  expect(back.startsWith(`${slotA.url}${callbackPath}?`), back).toBe(true);
  return { authorize: new URL(location), callback: await agent.get(pathOf(back)) };
}

async function claimsSeen(agent: Agent): Promise<ClaimsBody> {
  const res = await agent.get("/claims");
  expect(res.status).toBe(200);
  return res.body as ClaimsBody;
}

/** Every session in `store` that holds a sign-in (flet-auth's `auths`). */
function sessionsWithSignIns(store: session.MemoryStore): Promise<string[]> {
  return new Promise((resolve, reject) => {
    store.all((err: unknown, all?: session.SessionData[] | Record<string, session.SessionData> | null) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      const entries = Object.entries(all ?? {});
      resolve(entries.filter(([, s]) => Object.keys(s.fletAuth?.auths ?? {}).length > 0).map(([sid]) => sid));
    });
  });
}

/** A refresh_token grant sent straight to oidc-provider's token endpoint. */
async function refreshAtProvider(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(op.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: RP.clientId, client_secret: RP.clientSecret }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// ---------------------------------------------------------------------------
// 1. Discovery
// ---------------------------------------------------------------------------

describe("1. OAuthProvider.discover() against oidc-provider", () => {
  it("takes the endpoints, issuer, JWKS, end-session and revocation endpoints from the document; none and HMAC algorithms are dropped", async () => {
    const doc = (await (await fetch(op.discoveryUrl)).json()) as Record<string, unknown>;
    const provider = await discovered();
    expect(provider.issuer).toBe(op.issuer);
    expect(provider.authorizationEndpoint).toBe(op.authorizationEndpoint);
    expect(provider.tokenEndpoint).toBe(op.tokenEndpoint);
    expect(provider.userEndpoint).toBe(op.userinfoEndpoint);
    expect(provider.jwksUri).toBe(op.jwksUri);
    expect(provider.endSessionEndpoint).toBe(op.endSessionEndpoint);
    expect(provider.revocationEndpoint).toBe(op.revocationEndpoint);
    // oidc-provider says it sends RFC 9207 `iss`: discovery makes it required.
    expect(doc["authorization_response_iss_parameter_supported"]).toBe(true);
    expect(provider.requireIssuer).toBe(true);
    const advertised = doc["id_token_signing_alg_values_supported"] as string[];
    expect(advertised).toContain("RS256");
    expect(provider.idTokenSigningAlgorithms).toEqual(advertised.filter((a) => a !== "none" && !a.startsWith("HS")));
    expect(provider.clientId).toBe(RP.clientId);
    expect(provider.redirectUrl).toBe(`${slotA.url}/oauth_callback`);
  });

  it("rejects with discovery_failed when the document names another issuer (a front serving the provider's document)", async () => {
    const seen = front.hits["/.well-known/openid-configuration"] ?? 0;
    const failure = OAuthProvider.discover(front.url, common(RP));
    await expect(failure).rejects.toBeInstanceOf(FletAuthError);
    await expect(failure).rejects.toMatchObject({ code: "discovery_failed", message: expect.stringMatching(/another issuer/) as unknown });
    // The front did serve the (well-formed) document: the issuer check refused it.
    expect(front.hits["/.well-known/openid-configuration"]).toBe(seen + 1);
  });

  it("rejects with discovery_failed on a 404 well-known and on an unreachable issuer", async () => {
    const missing = OAuthProvider.discover(`${op.issuer}/no-such-tenant`, common(RP));
    await expect(missing).rejects.toMatchObject({ code: "discovery_failed", message: expect.stringContaining("answered HTTP 404") as unknown });
    const port = await closedPort();
    const unreachable = OAuthProvider.discover(`http://127.0.0.1:${port}`, { ...common(RP), discoveryTimeoutMs: 5000 });
    await expect(unreachable).rejects.toBeInstanceOf(FletAuthError);
    await expect(unreachable).rejects.toMatchObject({ code: "discovery_failed", message: expect.stringContaining("could not read") as unknown });
  });
});

// ---------------------------------------------------------------------------
// 2. A good login
// ---------------------------------------------------------------------------

describe("2. a login with a verified ID token", () => {
  it("gives req.auth.claims (frozen) with the authorize URL's nonce, and the user from userinfo with the same sub", async () => {
    const app = mount({ providers: { oidc: await discovered() } });
    const agent = request.agent(slotA.url);
    const { authorize, callback } = await signIn(agent);

    const nonce = authorize.searchParams.get("nonce");
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(authorize.searchParams.get("scope")?.split(" ")).toContain("openid");
    expect(callback.status, callback.text).toBe(303);

    const seen = await claimsSeen(agent);
    expect(seen.signedIn).toBe(true);
    const claims = seen.claims ?? {};
    expect(claims).toMatchObject({ sub: OP_USER.id, iss: op.issuer, aud: RP.clientId, nonce });
    expect(typeof claims["iat"]).toBe("number");
    expect(claims["exp"] as number).toBeGreaterThan(claims["iat"] as number);
    expect(Math.abs((claims["iat"] as number) - nowSeconds())).toBeLessThan(120);
    // Frozen: an app cannot change what the provider said.
    expect(seen.frozen).toBe(true);
    expect(seen.writable).toBe(false);

    // The user is the userinfo response (the ID token has no profile claims), with the ID token's sub.
    expect(claims["email"]).toBeUndefined();
    expect(seen.user).toMatchObject({ id: OP_USER.id, sub: claims["sub"], email: OP_USER.email, name: OP_USER.name });
    expect(app.logins).toEqual([{ provider: "oidc", error: undefined, errorDescription: undefined, userId: OP_USER.id }]);

    // Every login has its own nonce.
    const again = await request.agent(slotA.url).get("/login/oidc");
    const second = new URL(String(again.headers["location"])).searchParams.get("nonce");
    expect(second).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(second).not.toBe(nonce);
  });

  it("without a user endpoint, the user comes from the verified claims", async () => {
    mount({ providers: { oidc: viaFront({ userEndpoint: undefined }) } });
    const agent = request.agent(slotA.url);
    expect((await signIn(agent)).callback.status).toBe(303);
    const seen = await claimsSeen(agent);
    expect(seen.user).toMatchObject({ id: OP_USER.id, sub: OP_USER.id, iss: op.issuer });
    expect(seen.user?.["email"]).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// 3. Refused ID tokens
// ---------------------------------------------------------------------------

/** Builds the ID token the front hands the app instead of the provider's (`original`). */
type Forge = (original: string, key: OpSigningKey) => Promise<string> | string;

const forgeries: ReadonlyArray<{ readonly name: string; readonly forge: Forge; readonly why: RegExp }> = [
  { name: "wrong aud", forge: (t, key) => signRs256({ ...claimsOf(t), aud: "another-client" }, key), why: /its aud check failed/ },
  { name: "wrong iss", forge: (t, key) => signRs256({ ...claimsOf(t), iss: "http://127.0.0.1:9/other-issuer" }, key), why: /its iss check failed/ },
  {
    name: "expired (an hour ago, far past the 30 s tolerance)",
    forge: (t, key) => signRs256({ ...claimsOf(t), iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }, key),
    why: /it has expired/,
  },
  {
    name: "bad signature (payload changed after signing)",
    forge: (t) => {
      const [header, , signature] = t.split(".");
      const payload = Buffer.from(JSON.stringify({ ...claimsOf(t), sub: "someone-else" })).toString("base64url");
      return `${header}.${payload}.${signature}`;
    },
    why: /its signature does not verify/,
  },
  {
    name: "bad signature (another key under the provider's kid)",
    forge: async (t, key) => signRs256(claimsOf(t), { kid: key.kid, privateKey: (await strayKey()).privateKey }),
    why: /its signature does not verify/,
  },
  { name: "alg: none", forge: (t, key) => unsecuredJwt(claimsOf(t), { kid: key.kid }), why: /its algorithm is not allowed/ },
  { name: "wrong nonce", forge: (t, key) => signRs256({ ...claimsOf(t), nonce: "a-nonce-of-another-login" }, key), why: /its nonce does not belong to this login/ },
  {
    name: "no nonce",
    forge: (t, key) => {
      const { nonce: _dropped, ...rest } = claimsOf(t);
      void _dropped;
      return signRs256(rest, key);
    },
    why: /its nonce does not belong to this login/,
  },
  {
    name: "HS256 signed with the provider's public key (PEM) as the HMAC secret",
    forge: (t, key) => hs256WithPublicKey(claimsOf(t), key.publicPem, key.kid),
    why: /its algorithm is not allowed/,
  },
  { name: "no id_token in the token response", forge: () => "", why: /the token response has no id_token/ },
  {
    name: "azp naming another client",
    forge: (t, key) => signRs256({ ...claimsOf(t), aud: [RP.clientId, "another-client"], azp: "another-client" }, key),
    why: /its azp is not this client/,
  },
];

describe("3. refused ID tokens: login event id_token_invalid, error page, nothing stored", () => {
  async function attempt(forge: Forge | undefined): Promise<{ app: OidcApp; agent: Agent; callback: request.Response; store: session.MemoryStore }> {
    const store = new session.MemoryStore();
    const app = mount({ providers: { oidc: viaFront() }, session: { store } });
    front.idToken = forge === undefined ? undefined : async (original) => forge(original, op.signingKey());
    const agent = request.agent(slotA.url);
    const { callback } = await signIn(agent);
    return { app, agent, callback, store };
  }

  it("control: the provider's token re-signed unchanged through the same front signs in", async () => {
    const { app, agent, callback, store } = await attempt((t, key) => signRs256(claimsOf(t), key));
    expect(callback.status, callback.text).toBe(303);
    expect((await claimsSeen(agent)).signedIn).toBe(true);
    expect(app.logins.map((e) => e.error)).toEqual([undefined]);
    expect(await sessionsWithSignIns(store)).toHaveLength(1);
  });

  it.each(forgeries)("$name", async ({ forge, why }) => {
    const { app, agent, callback, store } = await attempt(forge);
    expect(front.lastIdToken, "the provider issued a real ID token").toBeDefined();
    expect(callback.status, callback.text).toBe(401);
    expect(callback.type).toBe("text/html");
    expect(callback.text).toContain("Sign-in failed");
    expect(callback.text).toContain('"error":"id_token_invalid"');
    expect(app.logins).toHaveLength(1);
    expect(app.logins[0]).toMatchObject({ provider: "oidc", error: "id_token_invalid", userId: undefined });
    expect(app.logins[0]?.errorDescription).toMatch(why);
    // Nothing stored: no session holds a sign-in, and the browser is signed out.
    expect(await sessionsWithSignIns(store)).toEqual([]);
    expect((await claimsSeen(agent)).signedIn).toBe(false);
  });

  it("a userinfo response naming another subject than the ID token", async () => {
    front.userinfo = (body) => ({ ...body, sub: "someone-else" });
    const store = new session.MemoryStore();
    const app = mount({ providers: { oidc: viaFront() }, session: { store } });
    const agent = request.agent(slotA.url);
    const { callback } = await signIn(agent);
    expect(callback.status, callback.text).toBe(401);
    expect(app.logins).toEqual([{ provider: "oidc", error: "id_token_invalid", errorDescription: expect.stringMatching(/another subject/) as unknown, userId: undefined }]);
    expect(await sessionsWithSignIns(store)).toEqual([]);
    expect((await claimsSeen(agent)).signedIn).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// 4. Key rotation
// ---------------------------------------------------------------------------

describe("4. JWKS key rotation during a run", () => {
  it("a login signed with the provider's new key verifies (the JWKS is fetched again); a key the JWKS does not have is refused", async () => {
    // Tokens through the front (to read their kid), the JWKS through it too (to count jose's fetches).
    const app = mount({ providers: { oidc: viaFront({ jwksUri: front.jwksUri }) }, clock: () => Date.now() });
    const fetches = (): number => front.hits["/jwks"] ?? 0;
    const first = fetches();

    const agent1 = request.agent(slotA.url);
    expect((await signIn(agent1)).callback.status).toBe(303);
    const oldKid = op.signingKey().kid;
    expect(kidOf(front.lastIdToken ?? "")).toBe(oldKid);
    expect(fetches()).toBe(first + 1);

    const rotated = await op.rotateSigningKey();
    expect(rotated.kid).not.toBe(oldKid);
    // jose fetches the JWKS again for an unknown kid at most once per 30 s (its cooldown, counted
    // from the last fetch): the clock moves past it, as it would between two real logins.
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 31_000);

    const agent2 = request.agent(slotA.url);
    const second = await signIn(agent2);
    expect(second.callback.status, second.callback.text).toBe(303);
    expect(kidOf(front.lastIdToken ?? "")).toBe(rotated.kid);
    expect(fetches()).toBe(first + 2);
    expect((await claimsSeen(agent2)).claims).toMatchObject({ sub: OP_USER.id });
    // The sign-in made with the old key still counts.
    expect((await claimsSeen(agent1)).signedIn).toBe(true);

    // A key nobody published: fetched again (past the cooldown), still no such key: refused.
    vi.setSystemTime(Date.now() + 31_000);
    const stray = await strayKey();
    front.idToken = async (original) => signRs256(claimsOf(original), stray);
    const agent3 = request.agent(slotA.url);
    const third = await signIn(agent3);
    expect(third.callback.status).toBe(401);
    expect(fetches()).toBe(first + 3);
    expect(app.logins.map((e) => e.error)).toEqual([undefined, undefined, "id_token_invalid"]);
    expect(app.logins[2]?.errorDescription).toMatch(/no key of the provider's JWKS matches it/);
    expect((await claimsSeen(agent3)).signedIn).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// 5. RP-initiated logout in Chromium
// ---------------------------------------------------------------------------

if (!hasChromium) console.warn(`[oidc e2e] ${CHROMIUM_PATH} is missing: the RP-initiated logout browser test is SKIPPED (apt-get install chromium).`);

describe.skipIf(!hasChromium)("5. RP-initiated logout in headless Chromium", () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("idpLogout: local sign-out, the provider's end-session page, back through postLogoutPath to returnTo; the provider's session is gone", async () => {
    if (browser === undefined) throw new Error("Chromium did not start");
    const app = mount({ providers: { oidc: await discovered() }, idpLogout: true });
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const seen: string[] = [];
      page.on("request", (r) => void seen.push(r.url()));
      const signedIn = async (): Promise<boolean> => ((await (await context.request.get(`${slotA.url}/me`)).json()) as { signedIn: boolean }).signedIn;

      await page.goto(`${slotA.url}/login/oidc?returnTo=%2Fhome`);
      await signInAtDemoIdp(page, op, { login: OP_USER.email, password: OP_USER.password });
      await page.waitForURL(`${slotA.url}/home`);
      expect(await page.locator("#who").textContent()).toBe(`Signed in as ${OP_USER.email}`);

      // Control: while the provider's session lives, a new login comes straight back (no form).
      const mark = seen.length;
      await page.goto(`${slotA.url}/login/oidc?returnTo=%2Fhome`);
      await page.waitForURL(`${slotA.url}/home`);
      expect(seen.slice(mark).some((u) => u.startsWith(`${op.authorizationEndpoint}?`))).toBe(true);
      expect(seen.slice(mark).filter((u) => u.includes("/interaction/"))).toEqual([]);

      // Sign out (the app's form POSTs /logout): first at the app, then at the provider.
      await page.locator("#sign-out").click();
      await page.locator("#logout-yes").waitFor();
      const endSession = seen.map((u) => new URL(u)).find((u) => `${u.origin}${u.pathname}` === op.endSessionEndpoint);
      expect(endSession, seen.join("\n")).toBeDefined();
      const q = endSession?.searchParams ?? new URLSearchParams();
      expect(q.get("post_logout_redirect_uri")).toBe(`${slotA.url}/flet-auth/logged-out`);
      expect(q.get("client_id")).toBe(RP.clientId);
      const state = q.get("state") ?? "";
      expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const hint = claimsOf(q.get("id_token_hint") ?? "");
      expect(hint).toMatchObject({ sub: OP_USER.id, aud: RP.clientId, iss: op.issuer });
      expect(await signedIn()).toBe(false);
      expect(app.logouts).toEqual([{ provider: "oidc", reason: "logout" }]);

      // "Yes, sign me out" at the provider → postLogoutPath with the state → returnTo.
      await page.locator("#logout-yes").click();
      await page.waitForURL(`${slotA.url}/bye`);
      expect(seen).toContain(`${slotA.url}/flet-auth/logged-out?state=${state}`);
      expect(await page.locator("#bye").textContent()).toBe("Goodbye");

      // The provider's session is gone: a new login shows its login form, not an automatic consent.
      await page.goto(`${slotA.url}/login/oidc?returnTo=%2Fhome`);
      await page.locator("#login").waitFor();
      expect(new URL(page.url()).origin).toBe(op.issuer);
      expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
      expect(await signedIn()).toBe(false);
    } finally {
      await context.close();
    }
  });
});

describe("5. RP-initiated logout: the way back through postLogoutPath", () => {
  /** Signs in, then `req.logout(…, { idpLogout })` through POST /logout: the end-session redirect's `state`. */
  async function loggedOutAtApp(agent: Agent): Promise<string> {
    expect((await signIn(agent)).callback.status).toBe(303);
    const out = await agent.post("/logout?returnTo=%2Fbye").set("Accept", "text/html");
    expect(out.status, out.text).toBe(302);
    expect(out.headers["cache-control"]).toBe("no-store");
    const to = new URL(String(out.headers["location"]));
    expect(`${to.origin}${to.pathname}`).toBe(op.endSessionEndpoint);
    expect((await claimsSeen(agent)).signedIn).toBe(false);
    return to.searchParams.get("state") ?? "";
  }

  it("the matching state leads to returnTo once; a wrong or missing state to defaultReturnTo, and it spends the pending logout", async () => {
    mount({ providers: { oidc: await discovered() }, idpLogout: true });
    const agent = request.agent(slotA.url);

    const state = await loggedOutAtApp(agent);
    const back = await agent.get(`/flet-auth/logged-out?state=${encodeURIComponent(state)}`);
    expect(back.status).toBe(303);
    expect(back.headers["location"]).toBe("/bye");
    // Single use: the same state again no longer names the returnTo.
    expect((await agent.get(`/flet-auth/logged-out?state=${encodeURIComponent(state)}`)).headers["location"]).toBe("/");

    const next = await loggedOutAtApp(agent);
    expect(next).not.toBe(state);
    const wrong = await agent.get(`/flet-auth/logged-out?state=${randomBytes(32).toString("base64url")}`);
    expect(wrong.status).toBe(303);
    expect(wrong.headers["location"]).toBe("/");
    expect((await agent.get(`/flet-auth/logged-out?state=${encodeURIComponent(next)}`)).headers["location"]).toBe("/");

    await loggedOutAtApp(agent);
    expect((await agent.get("/flet-auth/logged-out")).headers["location"]).toBe("/");
  });
});

// ---------------------------------------------------------------------------
// 6. Back-channel logout across instances
// ---------------------------------------------------------------------------

const REDIS_BINARY = findRedisServerOrWarn("oidc e2e", "the back-channel logout test (two instances sharing Redis)");

describe.skipIf(REDIS_BINARY === undefined)("6. back-channel logout: two instances sharing Redis", () => {
  const redis = useRedisServer(REDIS_BINARY, "oidc e2e");

  it("the provider's logout token at B ends the sign-in held via A; replays and malformed tokens get 400", async () => {
    const prefix = `flet-auth-oidc:${randomBytes(6).toString("hex")}:`;
    /** One "process": its own Redis clients, sessions in Redis, flet-auth's store in Redis. */
    const instance = async (slot: Slot): Promise<OidcApp> =>
      mount(
        {
          providers: { oidc: await discovered(RP_BC) },
          session: { store: new RedisStore({ client: await redis.client(), prefix: `${prefix}sess:` }) },
          store: createRedisStore(await redis.client(), { prefix: `${prefix}store:` }),
        },
        slot,
      );
    const a = await instance(slotA);
    const b = await instance(slotB);
    front.backchannelTarget = `${slotB.url}/backchannel_logout`;

    const ua = op.userAgent();
    const agent = request.agent(slotA.url);
    const { callback } = await signIn(agent, ua);
    expect(callback.status, callback.text).toBe(303);
    const cookie = ([] as string[]).concat(callback.headers["set-cookie"] ?? []).find((c) => c.startsWith("flet-auth.sid="))?.split(";")[0] ?? "";
    expect(cookie).not.toBe("");
    const me = async (slot: Slot): Promise<boolean> => ((await request(slot.url).get("/me").set("Cookie", cookie).expect(200)).body as { signedIn: boolean }).signedIn;
    const { claims } = await claimsSeen(agent);
    const sid = claims?.["sid"];
    expect(typeof sid).toBe("string");
    // One session, both instances.
    expect(await me(slotA)).toBe(true);
    expect(await me(slotB)).toBe(true);

    const post = (slot: Slot, token: string) => request(slot.url).post("/backchannel_logout").type("form").send({ logout_token: token });
    const key = op.signingKey();
    const valid = (): Claims => ({ iss: op.issuer, aud: RP_BC.clientId, iat: nowSeconds(), jti: randomUUID(), events: { [BACKCHANNEL_EVENT]: {} }, sid, sub: OP_USER.id });
    const without = (claim: string): Claims => Object.fromEntries(Object.entries(valid()).filter(([k]) => k !== claim)) as Claims;
    const refused: Array<[string, () => Promise<string> | string, RegExp]> = [
      ["with a nonce", () => signRs256({ ...valid(), nonce: "n-0" }, key), /must not carry a nonce/],
      ["without events", () => signRs256(without("events"), key), /no back-channel logout event/],
      ["with another event", () => signRs256({ ...valid(), events: { "http://schemas.openid.net/event/other": {} } }, key), /no back-channel logout event/],
      ["without sid and sub", () => signRs256(Object.fromEntries(Object.entries(valid()).filter(([k]) => k !== "sid" && k !== "sub")), key), /neither sid nor sub/],
      ["with a wrong aud", () => signRs256({ ...valid(), aud: "another-client" }, key), /no configured issuer and client/],
      ["issued 10 minutes ago", () => signRs256({ ...valid(), iat: nowSeconds() - 600 }, key), /does not verify/],
      ["signed by a key the provider does not publish", async () => signRs256(valid(), { kid: key.kid, privateKey: (await strayKey()).privateKey }), /does not verify/],
      ["alg: none", () => unsecuredJwt(valid()), /does not verify/],
      ["without a jti", () => signRs256(without("jti"), key), /does not verify/],
    ];
    for (const [name, build, why] of refused) {
      const res = await post(slotB, await build());
      expect(res.status, `${name}: ${res.text}`).toBe(400);
      expect(res.body, name).toMatchObject({ error: "invalid_request", error_description: expect.stringMatching(why) as unknown });
    }
    // Control: the same builder, no defect, for another provider session → accepted (and ours lives on).
    expect((await post(slotB, await signRs256({ ...valid(), sid: "another-session" }, key))).status).toBe(200);
    expect(await me(slotA)).toBe(true);

    // The user signs out at the provider: it posts its logout token (through the front) to B.
    await ua.endSession();
    expect(front.backchannel).toHaveLength(1);
    const delivered = front.backchannel[0];
    expect(delivered?.status).toBe(200);
    expect(claimsOf(delivered?.logoutToken ?? "")).toMatchObject({ sid, iss: op.issuer, aud: RP_BC.clientId, events: { [BACKCHANNEL_EVENT]: {} } });

    // The session held via A reads as signed out on its next request on A (and on B).
    expect(await me(slotA)).toBe(false);
    expect(a.logouts).toEqual([{ provider: "oidc", reason: "ended" }]);
    expect(await me(slotB)).toBe(false);

    // Replayed (same jti) to either instance: refused (the jti is recorded in the shared store).
    for (const slot of [slotB, slotA]) {
      const replay = await post(slot, delivered?.logoutToken ?? "");
      expect(replay.status, replay.text).toBe(400);
      expect((replay.body as { error_description?: string }).error_description).toMatch(/already used/);
    }
    expect(b.logins).toEqual([]);
  });
});

describe("6. back-channel logout: two providers (clients) of one issuer", () => {
  // Two providers on one issuer (one per client): the logout token's `aud` picks the provider, so
  // the sid is recorded under the right name and the right sign-in ends.
  it("a logout token for the second client of an issuer ends that client's sign-in (aud picks the provider)", async () => {
    const first = await discovered(RP);
    const second = await OAuthProvider.discover(op.issuer, { ...common(RP_BC), redirectUrl: `${slotA.url}/oauth_callback_bc` });
    mount({ providers: { first, second } });
    const agent = request.agent(slotA.url);
    expect((await signIn(agent, op.userAgent(), "second", "/oauth_callback_bc")).callback.status).toBe(303);
    const sid = (await claimsSeen(agent)).claims?.["sid"];
    expect(typeof sid).toBe("string");
    const token = await signRs256(
      { iss: op.issuer, aud: RP_BC.clientId, iat: nowSeconds(), jti: randomUUID(), events: { [BACKCHANNEL_EVENT]: {} }, sid, sub: OP_USER.id },
      op.signingKey(),
    );
    const res = await request(slotA.url).post("/backchannel_logout").type("form").send({ logout_token: token });
    const signedIn = (await claimsSeen(agent)).signedIn;
    expect(res.status, res.text).toBe(200);
    expect(signedIn).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// 7. Revocation at sign-out
// ---------------------------------------------------------------------------

describe("7. RFC 7009 revocation at sign-out", () => {
  it("after POST /logout oidc-provider refuses the old refresh token (invalid_grant)", async () => {
    const app = mount({ providers: { oidc: await discovered() } });
    const agent = request.agent(slotA.url);
    expect((await signIn(agent)).callback.status).toBe(303);
    const stored = (await agent.get("/stored-token")).body as { refresh_token?: string };
    const refreshToken = stored.refresh_token ?? "";
    expect(refreshToken).not.toBe("");
    // Control: the provider does not rotate refresh tokens, so this one stays good until revoked.
    expect((await refreshAtProvider(refreshToken)).status).toBe(200);

    const out = await agent.post("/logout").set("Accept", "text/html");
    expect(out.status, out.text).toBe(303);
    expect((await claimsSeen(agent)).signedIn).toBe(false);

    const after = await refreshAtProvider(refreshToken);
    expect(after.status).toBe(400);
    expect(after.body["error"]).toBe("invalid_grant");
    expect(app.logger.warn).not.toHaveBeenCalled();
  });

  it.each(["fail", "hang"] as const)("a revocation endpoint that %s does not hold up the local sign-out", async (mode) => {
    const timeoutMs = 2000;
    front.revocation = mode;
    const app = mount({ providers: { oidc: viaFront({ revocationEndpoint: front.revocationEndpoint }) }, timeoutMs });
    const agent = request.agent(slotA.url);
    expect((await signIn(agent)).callback.status).toBe(303);
    const hits = front.hits["/revoke"] ?? 0;

    const started = performance.now();
    const out = await agent.post("/logout").set("Accept", "text/html");
    const elapsed = performance.now() - started;
    expect(out.status, out.text).toBe(303);
    expect(elapsed).toBeLessThan(timeoutMs + 2000);
    expect(front.hits["/revoke"]).toBe(hits + 1);
    expect((await claimsSeen(agent)).signedIn).toBe(false);
    expect(app.logouts).toEqual([{ provider: "oidc", reason: "logout" }]);
    expect(app.logger.warn).toHaveBeenCalledTimes(1);
    expect(String(app.logger.warn.mock.calls[0]?.[0])).toMatch(/revoking the tokens of provider "oidc" at sign-out failed; the local sign-out stands/);
  });
});
