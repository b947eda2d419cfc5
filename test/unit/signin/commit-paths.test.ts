/**
 * lib/signin/commit.ts (committing a sign-in after a callback, a saved token or a remember-me
 * restore) on a real Express app with fletAuth: an OAuthHttp that answers with ID tokens the test
 * signs, the provider's JWKS on 127.0.0.1 (as test/unit/oidc/logout-edges.test.ts does), a
 * provider `fetchUser` hook the test controls, and an in-memory flet-auth store whose writes
 * and deletes are recorded. Time is a manual clock.
 */
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Express, Request, Response } from "express";
import { exportJWK, generateKeyPair } from "jose";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, fletAuth, OAuthProvider, type FletAuthOptions, type LoginEvent, type OAuthHttp, type OAuthProviderOptions } from "../../../lib/index.js";
import { signRs256, type Claims, type SigningKey } from "../../helpers/oidc-jwt.js";
import { manualClock, type ManualClock } from "../../helpers/refresh-harness.js";
import { cookieValue, findSetCookie, isClearing } from "../../helpers/remember-cookies.js";
import { recordingLogger } from "../../helpers/review-harness.js";

type Agent = ReturnType<typeof request.agent>;

const SECRET = "commit-paths-session-secret-0123456789";
const REMEMBER_KEY = "commit-paths-remember-key-0123456789abcdef";
const CLIENT = "commit-paths-client";
const REDIRECT = "http://127.0.0.1/oauth_callback";
const SAVED_TOKEN = '{"access_token":"saved-access","refresh_token":"saved-refresh"}';

let jwksServer: Server;
let base: string;
let issuer: string;
let key: SigningKey;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  key = { kid: "commit-key-1", privateKey: pair.privateKey };
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

interface Setup {
  readonly app: Express;
  readonly clock: ManualClock;
  readonly memory: ReturnType<typeof createMemoryStore>;
  /** Keys written with set(), in order, with their values. */
  readonly sets: Array<{ key: string; value: string }>;
  readonly deletes: string[];
  readonly logins: LoginEvent[];
  nextToken: Record<string, unknown>;
}

/** `fetchUser` is the provider's user hook (default: a user without `sub`). */
function setup(fetchUser: OAuthProviderOptions["fetchUser"], options: Partial<FletAuthOptions> = {}): Setup {
  const clock = manualClock();
  const memory = createMemoryStore({ clock: clock.fn });
  const state = { sets: [] as Setup["sets"], deletes: [] as string[], logins: [] as LoginEvent[], nextToken: {} as Record<string, unknown> };
  let exchanges = 0;
  const http: OAuthHttp = {
    exchangeCode: () => {
      exchanges += 1;
      return Promise.resolve({ access_token: `access-${exchanges}`, token_type: "Bearer", expires_in: 3600, refresh_token: `refresh-${exchanges}`, ...state.nextToken });
    },
    getJson: () => Promise.reject(new Error("not used: the provider has a fetchUser hook")),
    refresh: () => Promise.reject(new Error("not used")),
    revoke: () => Promise.resolve(),
  };
  const provider = new OAuthProvider({
    clientId: CLIENT,
    clientSecret: "commit-paths-secret",
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
    redirectUrl: REDIRECT,
    scopes: ["openid"],
    issuer,
    jwksUri: `${base}/jwks`,
    ...(fetchUser !== undefined ? { fetchUser } : {}),
  });
  const app = express();
  const auth = fletAuth({
    secret: SECRET,
    providers: { op: provider },
    clock: clock.fn,
    http,
    logger: recordingLogger(),
    defaultReturnTo: "/start",
    rememberMe: { secretKey: REMEMBER_KEY },
    store: {
      getMany: (keys) => memory.getMany(keys),
      set(k, value, ttlMs, opts) {
        state.sets.push({ key: k, value });
        return memory.set(k, value, ttlMs, opts);
      },
      swap: (k, expected, value, ttlMs) => memory.swap(k, expected, value, ttlMs),
      delete(k) {
        state.deletes.push(k);
        return memory.delete(k);
      },
    },
    ...options,
  });
  auth.on("login", (e: LoginEvent) => {
    state.logins.push(e);
  });
  app.use(auth);
  // Signs in with a saved token; answers the error req.login rejects with, cause included.
  app.post("/restore", express.json(), async (req: Request, res: Response) => {
    const body = req.body as { remember?: boolean };
    try {
      await req.login("op", { savedToken: SAVED_TOKEN, remember: body.remember === true });
      res.json({ signedIn: req.auth !== undefined, userId: req.auth?.user?.id ?? null });
    } catch (err) {
      const e = err as { code?: string; message: string; cause?: unknown };
      res.status(500).json({ code: e.code, message: e.message, cause: e.cause instanceof Error ? e.cause.message : null });
    }
  });
  app.get("/me", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined, userId: req.auth?.user?.id ?? null });
  });
  return {
    app,
    clock,
    memory,
    sets: state.sets,
    deletes: state.deletes,
    logins: state.logins,
    get nextToken() {
      return state.nextToken;
    },
    set nextToken(value) {
      state.nextToken = value;
    },
  };
}

const nowS = (s: Setup): number => Math.floor(s.clock.now() / 1000);

/** Runs a login through the callback with a good ID token (sub "user-1", sid "sid-1"); returns the callback response. */
async function oidcLogin(s: Setup, agent: Agent, query = ""): Promise<request.Response> {
  const start = await agent.get(`/login/op?returnTo=%2Fhome${query}`);
  expect(start.status, start.text).toBe(302);
  const authorize = new URL(String(start.headers["location"]));
  const claims: Claims = { iss: issuer, sub: "user-1", aud: CLIENT, iat: nowS(s), exp: nowS(s) + 3600, nonce: authorize.searchParams.get("nonce") ?? undefined, sid: "sid-1" };
  s.nextToken = { id_token: await signRs256(claims, key) };
  return agent.get(`/oauth_callback?code=code-1&state=${encodeURIComponent(authorize.searchParams.get("state") ?? "")}`);
}

const signInKeys = (s: Setup): string[] => s.sets.map((w) => w.key).filter((k) => k.startsWith("signin:"));

describe("completeSignIn: the user of an OpenID Connect sign-in", () => {
  it("a userinfo naming another subject than the ID token fails the sign-in with id_token_invalid", async () => {
    const s = setup(() => Promise.resolve({ id: "user-1", sub: "someone-else" }));
    const agent = request.agent(s.app);
    const callback = await oidcLogin(s, agent);
    expect(callback.status).toBe(401);
    expect(s.logins.map((e) => [e.error, e.errorDescription])).toEqual([["id_token_invalid", "The userinfo response names another subject than the ID token."]]);
    expect((await agent.get("/me")).body).toEqual({ signedIn: false, userId: null });
  });

  it("a userinfo without a sub is the user (its own id), whatever the ID token's subject", async () => {
    const s = setup(() => Promise.resolve({ id: "profile-7", name: "Ann" }));
    const agent = request.agent(s.app);
    const callback = await oidcLogin(s, agent);
    expect(callback.status, callback.text).toBe(303);
    expect(s.logins.map((e) => e.error)).toEqual([undefined]);
    expect((await agent.get("/me")).body).toEqual({ signedIn: true, userId: "profile-7" });
  });

  it("a remembered OpenID Connect sign-in's series records the ID token's sid and sub (back-channel logout revokes it)", async () => {
    const s = setup(() => Promise.resolve({ id: "user-1" }));
    const agent = request.agent(s.app);
    const callback = await oidcLogin(s, agent, "&remember=1");
    expect(callback.status, callback.text).toBe(303);
    const series = s.sets.filter((w) => w.key.startsWith("series:"));
    expect(series).toHaveLength(1);
    expect(JSON.parse(series[0]!.value)).toMatchObject({ provider: "op", userId: "user-1", sid: "sid-1", sub: "user-1" });
  });
});

describe("completeSignIn: fetching the user", () => {
  it("a fetchUser hook that throws fails with user_fetch_failed, the thrown error as its cause", async () => {
    const s = setup(() => Promise.reject(new Error("profile service down")));
    const res = await request(s.app).post("/restore").send({});
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ code: "user_fetch_failed", message: "Fetching the user failed.", cause: "profile service down" });
  });
});

describe("completeSignIn: the sign-in it replaces", () => {
  it("signing in again to the same provider in the same browser removes the previous sign-in's record from the store", async () => {
    const s = setup(() => Promise.resolve({ id: "user-1" }));
    const agent = request.agent(s.app);
    expect((await agent.post("/restore").send({})).body).toEqual({ signedIn: true, userId: "user-1" });
    const [first] = signInKeys(s);
    expect(first).toBeDefined();
    expect(await s.memory.getMany([first!])).not.toEqual([undefined]);
    expect((await agent.post("/restore").send({})).body).toEqual({ signedIn: true, userId: "user-1" });
    const keys = signInKeys(s);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(first);
    expect(s.deletes).toContain(first);
    expect(await s.memory.getMany([first!])).toEqual([undefined]);
    expect((await agent.get("/me")).body).toEqual({ signedIn: true, userId: "user-1" });
  });

  it("a new sign-in that draws the same sign-in id as the one it replaces keeps its record (it is not removed as the old one)", async () => {
    const fixed = new Uint8Array(16).fill(7);
    // Only the sign-in id draws 16 bytes here; everything else stays random.
    const s = setup(() => Promise.resolve({ id: "user-1" }), { randomBytes: (n: number) => (n === 16 ? fixed : new Uint8Array(randomBytes(n))) });
    const agent = request.agent(s.app);
    expect((await agent.post("/restore").send({})).body).toEqual({ signedIn: true, userId: "user-1" });
    expect((await agent.post("/restore").send({})).body).toEqual({ signedIn: true, userId: "user-1" });
    expect(new Set(signInKeys(s)).size).toBe(1);
    expect(s.deletes.filter((k) => k.startsWith("signin:"))).toEqual([]);
    expect((await agent.get("/me")).body).toEqual({ signedIn: true, userId: "user-1" });
  });
});

describe("completeSignIn: a remember-me restore whose series ends meanwhile", () => {
  it("a series revoked between the cookie check and its rotation: not signed in, login event invalid_saved_token, cookie cleared", async () => {
    let revokeDuringFetch = false;
    const s: Setup = setup(async () => {
      if (revokeDuringFetch) {
        // Another request signed this series out while the restore was fetching the user.
        for (const w of s.sets) if (w.key.startsWith("series:")) await s.memory.delete(w.key);
      }
      return { id: "user-1" };
    });
    const first = request.agent(s.app);
    const remembered = await first.post("/restore").send({ remember: true });
    expect(remembered.body).toEqual({ signedIn: true, userId: "user-1" });
    const line = findSetCookie(remembered, "flet-auth.remember");
    expect(line).toBeDefined();

    revokeDuringFetch = true;
    const restore = await request(s.app).get("/me").set("Cookie", `flet-auth.remember=${cookieValue(line!)}`);
    expect(restore.body).toEqual({ signedIn: false, userId: null });
    const cleared = findSetCookie(restore, "flet-auth.remember");
    expect(cleared !== undefined && isClearing(cleared)).toBe(true);
    expect(s.logins.map((e) => [e.source, e.error, e.errorDescription])).toEqual([
      ["savedToken", undefined, undefined],
      ["rememberMe", "invalid_saved_token", "The remembered sign-in was revoked."],
    ]);
  });
});
