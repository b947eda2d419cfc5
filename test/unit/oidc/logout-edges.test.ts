/**
 * Signing out at the provider (lib/oidc/logout.ts) at its edges, on real Express apps with
 * fletAuth, an OAuthHttp that answers with ID tokens the test signs, and the provider's JWKS on
 * 127.0.0.1 (as test/integration/oidc-inprocess.test.ts does):
 *
 * - RP-initiated logout of several sign-ins: one that cannot use the end-session endpoint does not
 *   keep the next one from it;
 * - RFC 7009 revocation: an empty access token is not sent;
 * - Back-Channel Logout 1.0: a token naming only `sid` is enough; the body is read without a
 *   parser when (and only when) its media type is a form.
 *
 * fletAuth is imported inside each test after `vi.resetModules()`, so the module's constants (the
 * back-channel event's name, the body cap) are evaluated within the test that relies on them.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import express from "express";
import type { Express, Request, Response } from "express";
import { exportJWK, generateKeyPair } from "jose";
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { FletAuthOptions, OAuthHttp, OAuthProvider, OAuthProviderOptions } from "../../../lib/index.js";
import { signRs256, type Claims, type SigningKey } from "../../helpers/oidc-jwt.js";
import { manualClock, type ManualClock } from "../../helpers/refresh-harness.js";
import { recordingLogger } from "../../helpers/review-harness.js";

type Agent = ReturnType<typeof request.agent>;

const SECRET = "logout-edges-session-secret-0123456789";
const CLIENT = "logout-edges-client";
const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";
const REDIRECT = "http://127.0.0.1/oauth_callback";

let jwksServer: Server;
let base: string;
let issuer: string;
let key: SigningKey;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  key = { kid: "edges-key-1", privateKey: pair.privateKey };
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: key.kid, alg: "RS256", use: "sig" };
  jwksServer = createServer((_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  jwksServer.listen(0, "127.0.0.1");
  await once(jwksServer, "listening");
  base = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  issuer = `${base}/op`;
});

afterAll(async () => {
  jwksServer.closeAllConnections();
  await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
});

beforeEach(() => {
  vi.resetModules();
});

interface Setup {
  readonly app: Express;
  readonly clock: ManualClock;
  readonly revocations: Array<{ token: string; hint: string }>;
  readonly sets: string[];
  nextToken: Record<string, unknown>;
}

async function setup(providers: (p: (o?: Partial<OAuthProviderOptions>) => OAuthProvider) => Record<string, OAuthProvider>, options: Partial<FletAuthOptions> = {}): Promise<Setup> {
  const lib = await import("../../../lib/index.js");
  const provider = (overrides: Partial<OAuthProviderOptions> = {}): OAuthProvider =>
    new lib.OAuthProvider({
      clientId: CLIENT,
      clientSecret: "logout-edges-secret",
      authorizationEndpoint: `${base}/authorize`,
      tokenEndpoint: `${base}/token`,
      redirectUrl: REDIRECT,
      scopes: ["openid"],
      issuer,
      jwksUri: `${base}/jwks`,
      endSessionEndpoint: `${base}/end-session`,
      revocationEndpoint: `${base}/revoke`,
      ...overrides,
    });
  const clock = manualClock();
  const memory = lib.createMemoryStore({ clock: clock.fn });
  const state: Omit<Setup, "app" | "clock"> = { revocations: [], sets: [], nextToken: {} };
  let exchanges = 0;
  const http: OAuthHttp = {
    exchangeCode: async () => {
      exchanges += 1;
      return { access_token: `access-${exchanges}`, token_type: "Bearer", expires_in: 3600, refresh_token: `refresh-${exchanges}`, ...state.nextToken };
    },
    getJson: () => Promise.reject(new Error("not used: the provider has no user endpoint")),
    refresh: () => Promise.reject(new Error("not used")),
    revoke: async (_client, _endpoint, token, hint) => {
      state.revocations.push({ token, hint });
    },
  };
  const app = express();
  const auth = lib.fletAuth({
    secret: SECRET,
    providers: providers(provider),
    clock: clock.fn,
    http,
    logger: recordingLogger(),
    defaultReturnTo: "/start",
    store: {
      getMany: (keys) => memory.getMany(keys),
      set(k, value, ttlMs, opts) {
        state.sets.push(k);
        return memory.set(k, value, ttlMs, opts);
      },
      swap: (k, expected, value, ttlMs) => memory.swap(k, expected, value, ttlMs),
      delete: (k) => memory.delete(k),
    },
    ...options,
  });
  app.use(auth);
  app.post("/restore", express.text({ type: "*/*" }), async (req: Request, res: Response) => {
    await req.login("op", { savedToken: String(req.body), fetchUser: false });
    res.json({ signedIn: req.auth !== undefined });
  });
  app.get("/me", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined });
  });
  return {
    app,
    clock,
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
  };
}

const nowS = (s: Setup): number => Math.floor(s.clock.now() / 1000);

/** Signs in to provider `name` through its login route and callback, with a good ID token. */
async function login(s: Setup, agent: Agent, name: string): Promise<void> {
  const start = await agent.get(`/login/${name}?returnTo=%2Fhome`);
  expect(start.status, start.text).toBe(302);
  const authorize = new URL(String(start.headers["location"]));
  const claims: Claims = { iss: issuer, sub: "user-1", aud: CLIENT, iat: nowS(s), exp: nowS(s) + 3600, nonce: authorize.searchParams.get("nonce") ?? undefined, sid: "sid-1" };
  s.nextToken = { id_token: await signRs256(claims, key) };
  const callback = await agent.get(`/oauth_callback?code=code-1&state=${encodeURIComponent(authorize.searchParams.get("state") ?? "")}`);
  expect(callback.status, callback.text).toBe(303);
}

const logoutClaims = (s: Setup, more: Claims = {}): Claims => ({
  iss: issuer,
  aud: CLIENT,
  iat: nowS(s),
  jti: randomUUID(),
  events: { [BACKCHANNEL_EVENT]: {} },
  ...more,
});

describe("RP-initiated logout of several sign-ins", () => {
  it("a first sign-in whose provider has no end-session endpoint does not stop the next one's redirect to its end-session endpoint", async () => {
    const s = await setup((p) => ({ plain: p({ endSessionEndpoint: undefined }), op: p() }), { idpLogout: true });
    const agent = request.agent(s.app);
    await login(s, agent, "plain");
    await login(s, agent, "op");
    const out = await agent.post("/logout?returnTo=%2Fbye").set("Accept", "text/html");
    expect(out.status, out.text).toBe(302);
    const to = new URL(String(out.headers["location"]));
    expect(`${to.origin}${to.pathname}`).toBe(`${base}/end-session`);
    expect(to.searchParams.get("client_id")).toBe(CLIENT);
    expect(((await agent.get("/me")).body as { signedIn: boolean }).signedIn).toBe(false);
  });
});

describe("RFC 7009 revocation at sign-out", () => {
  it("an empty access token is not sent for revocation; the refresh token is", async () => {
    const s = await setup((p) => ({ op: p() }));
    const agent = request.agent(s.app);
    const restored = await agent.post("/restore").set("Content-Type", "text/plain").send('{"access_token":"","refresh_token":"saved-refresh"}');
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body).toEqual({ signedIn: true });
    const out = await agent.post("/logout").set("Accept", "text/html");
    expect(out.status, out.text).toBe(303);
    expect(s.revocations).toEqual([{ token: "saved-refresh", hint: "refresh_token" }]);
  });
});

describe("back-channel logout", () => {
  const post = (s: Setup, token: string) => request(s.app).post("/backchannel_logout").type("form").send({ logout_token: token });

  it("a logout token with the back-channel event and a sid but no sub: 200, and that sid's sign-in reads as ended", async () => {
    const s = await setup((p) => ({ op: p() }));
    const agent = request.agent(s.app);
    await login(s, agent, "op");
    expect(((await agent.get("/me")).body as { signedIn: boolean }).signedIn).toBe(true);
    s.clock.advanceSeconds(5);
    const res = await post(s, await signRs256(logoutClaims(s, { sid: "sid-1" }), key));
    expect(res.status, res.text).toBe(200);
    expect(s.sets).toContain("oidc-sid:op:sid-1");
    expect(((await agent.get("/me")).body as { signedIn: boolean }).signedIn).toBe(false);
  });

  it("a form body without a body parser is read (well under 16 KiB): a logout_token that is no JWT is reported as such", async () => {
    const s = await setup((p) => ({ op: p() }));
    const res = await request(s.app).post("/backchannel_logout").type("form").send("logout_token=this-is-not-a-jwt");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "invalid_request", error_description: "logout_token is not a JWT" });
  });

  it("a media type that only mentions application/x-www-form-urlencoded in a parameter is not a form: the body is not read", async () => {
    const s = await setup((p) => ({ op: p() }));
    const res = await request(s.app)
      .post("/backchannel_logout")
      .set("Content-Type", "text/plain; profile=application/x-www-form-urlencoded")
      .send("logout_token=this-is-not-a-jwt");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "invalid_request", error_description: "logout_token is missing" });
  });
});
