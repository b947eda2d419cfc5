/**
 * The refresh engine's edges, through a scripted refresh lock (it records each key and answers
 * as the test says: run the refresh, answer another instance's result, or fail) on a real app
 * and the fake provider: the lock key, the sealed result codec and its ID token, how lock
 * failures reach getToken(), following successors a stale session copy missed (at most three
 * hops, never for the leader), other providers' tokens, a revoked grant with several providers
 * signed in, the remember-me cookie on refresh and on revocation, and a sign-in replaced while
 * its refresh ran. Time moves only through fletAuth's `clock`.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import type { Express, Request, Response } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import {
  FletAuthError,
  OAuthToken,
  createMemoryStore,
  type FletAuthMiddleware,
  type FletAuthStore,
  type RefreshCodec,
  type RefreshLock,
} from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type Agent, type TestAuthOptions } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider, type FakeProviderOptions } from "../helpers/fake-provider.js";
import { START_MS, manualClock, recordEvents, useServerLifecycle, type ManualClock, type RecordedEvents } from "../helpers/refresh-harness.js";
import { cookieHeader, findSetCookie, isClearing, signInWithHeaders } from "../helpers/remember-cookies.js";
import { recordingLogger } from "../helpers/review-harness.js";
import { deferred } from "../helpers/deferred.js";
import { JsonSessionStore } from "../helpers/record-stores.js";

const cleanups = useServerLifecycle();
const REMEMBER = "flet-auth.remember";
const REMEMBER_KEY = "remember-me-key-0123456789abcdef0123";

/** What the engine hands a lock and gets back from it (RefreshResult, as far as tests see it). */
interface Result {
  readonly token: OAuthToken;
  readonly idToken?: string;
}
type Answer = (refresh: () => Promise<unknown>, codec: RefreshCodec<unknown> | undefined) => Promise<unknown>;

/** A RefreshLock that records keys and answers from a script; with no answer left it just refreshes. */
function scriptedLock(): { lock: RefreshLock; keys: string[]; answers: Answer[] } {
  const keys: string[] = [];
  const answers: Answer[] = [];
  const lock: RefreshLock = {
    run<T>(key: string, refresh: () => Promise<T>, codec?: RefreshCodec<T>): Promise<T> {
      keys.push(key);
      const answer = answers.shift();
      return (answer === undefined ? refresh() : answer(refresh, codec as RefreshCodec<unknown> | undefined)) as Promise<T>;
    },
  };
  return { lock, keys, answers };
}

/** What `GET /t/:name` answers: the token getToken() gave, or the error's public fields. */
interface TokenBody {
  ok: boolean;
  accessToken?: string;
  tokens?: Record<string, string>;
  code?: string;
  status?: number;
  message?: string;
  oauthError?: string | null;
  description?: string | null;
  causeCode?: string | null;
}

interface Setup {
  fake: FakeProvider;
  app: Express;
  auth: FletAuthMiddleware;
  clock: ManualClock;
  scripted: ReturnType<typeof scriptedLock>;
  events: RecordedEvents;
}

async function setup(
  options: { names?: string[]; fake?: FakeProviderOptions; auth?: Partial<TestAuthOptions>; provider?: Parameters<typeof standardProvider>[1] } = {},
): Promise<Setup> {
  const fake = await startFakeProvider(options.fake);
  cleanups.push(() => fake.close());
  const clock = manualClock();
  const scripted = scriptedLock();
  const providers = Object.fromEntries((options.names ?? ["demo"]).map((n) => [n, standardProvider(fake, options.provider)]));
  // A recording logger keeps the redirectUrl-origin warnings (supertest's random port) out of the output.
  const { app, auth } = buildApp(EXPRESS[0].create, { providers, clock: clock.fn, refreshLock: scripted.lock, logger: recordingLogger(), ...options.auth });
  app.get("/t/:name", async (req: Request, res: Response) => {
    const a = req.authorizations[String(req.params["name"])];
    if (a === undefined) return void res.status(401).json({ ok: false, code: "signed_out" });
    try {
      const token = await a.getToken();
      const tokens = Object.fromEntries(Object.entries(req.authorizations).map(([n, x]) => [n, x.token.accessToken]));
      res.json({ ok: true, accessToken: token.accessToken, tokens });
    } catch (err) {
      const cause = err instanceof Error ? err.cause : undefined;
      res.json({
        ok: false,
        code: err instanceof FletAuthError ? err.code : String(err),
        status: err instanceof FletAuthError ? err.status : null,
        message: err instanceof Error ? err.message : null,
        oauthError: err instanceof FletAuthError ? (err.oauthError ?? null) : null,
        description: err instanceof FletAuthError ? (err.description ?? null) : null,
        causeCode: cause instanceof FletAuthError ? cause.code : null,
      });
    }
  });
  app.get("/saved", async (req: Request, res: Response) => {
    const saved = String(req.query["token"]);
    const scope = req.query["openid"] === "1" ? ["openid"] : [];
    const a = await req.login("demo", { savedToken: saved, fetchUser: false, scope });
    res.json({ accessToken: a?.token.accessToken ?? null });
  });
  app.get("/claims", (req: Request, res: Response) => {
    res.json({ signedIn: req.auth !== undefined, claims: req.auth?.claims ?? null });
  });
  return { fake, app, auth, clock, scripted, events: recordEvents(auth) };
}

/** expires_at (Unix seconds) of a token issued at START_MS with the fake's default 3600 s lifetime. */
const SIGNED_IN_EXPIRES_AT = START_MS / 1000 + 3600;

/** Moves the clock 30 s before the signed-in token expires: within the 60 s refresh margin. */
function nearExpiry(clock: ManualClock): number {
  clock.setBeforeExpiry(SIGNED_IN_EXPIRES_AT, 30);
  return clock.now() / 1000;
}

async function signedInAgent(s: Setup, names: string[] = ["demo"], query = ""): Promise<Agent> {
  const agent = request.agent(s.app);
  for (const name of names) {
    const done = await signIn(agent, s.fake, `/login/${name}${query}`);
    expect(done.status, done.text).toBe(303);
  }
  return agent;
}

const tokenOf = async (agent: Agent, name = "demo"): Promise<TokenBody> => (await agent.get(`/t/${name}`).expect(200)).body as TokenBody;
const generationOf = (refresh: string, access: string): string => createHash("sha256").update(`${refresh}\n${access}`).digest("base64url");
const successor = (n: number, expiresAt: number): Result => ({ token: new OAuthToken({ accessToken: `succ-${n}`, refreshToken: `r-${n}`, expiresAt, tokenType: "Bearer" }) });

describe("refresh engine: the lock key and the sealed result", () => {
  it("keys a refresh `{provider}:{22-char binding hash}:{token generation}` and seals the new token with its ID token, reversibly", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    nearExpiry(s.clock);
    let seen: Result | undefined;
    let text = "";
    let back: Result | undefined;
    s.scripted.answers.push(async (refresh, codec) => {
      seen = (await refresh()) as Result;
      text = await codec!.encode(seen);
      back = (await codec!.decode(text)) as Result;
      return back;
    });
    const body = await tokenOf(agent);
    expect(body.ok, JSON.stringify(body)).toBe(true);
    expect(s.scripted.keys).toHaveLength(1);
    expect(s.scripted.keys[0]).toMatch(/^demo:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{43}$/);
    // The provider's refresh answer carries an id_token: it travels with the result.
    expect(typeof seen?.idToken).toBe("string");
    expect(seen!.idToken!.split(".")).toHaveLength(3);
    expect(back?.idToken).toBe(seen!.idToken);
    expect(back?.token.toJson()).toBe(seen!.token.toJson());
    expect(body.accessToken).toBe(seen!.token.accessToken);
    // Sealed: neither token is readable in what a shared store would hold.
    expect(text).not.toContain(seen!.token.accessToken);
    expect(text).not.toContain(seen!.idToken!.split(".")[1]);
  });

  it("a result without an ID token decodes without one", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    const now = nearExpiry(s.clock);
    let back: Result | undefined;
    s.scripted.answers.push(async (_refresh, codec) => {
      back = (await codec!.decode(await codec!.encode(successor(1, now + 3600)))) as Result;
      return back;
    });
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-1" });
    expect(back).toBeDefined();
    expect("idToken" in back!).toBe(false);
  });

  it("a result that does not open, or opens to something that is not a result, fails with refresh_failed (503) as it is; the sign-in stays", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    nearExpiry(s.clock);
    const notAResult = (toJson: () => unknown): Answer => async (_refresh, codec) => codec!.decode(await codec!.encode({ token: { toJson } }));
    s.scripted.answers.push(
      async (_refresh, codec) => codec!.decode("not sealed at all"),
      notAResult(() => 42),
      notAResult(() => "not json"),
      notAResult(() => JSON.stringify({ no: "access token" })),
    );
    for (let i = 0; i < 4; i += 1) {
      expect(await tokenOf(agent)).toStrictEqual({
        ok: false,
        code: "refresh_failed",
        status: 503,
        message: "Another instance's refresh result does not open with this instance's secret.",
        oauthError: null,
        description: null,
        causeCode: null,
      });
    }
    expect(((await agent.get("/me").expect(200)).body as { signedIn: boolean }).signedIn).toBe(true);
  });
});

describe("refresh engine: how a lock's failure reaches getToken()", () => {
  it.each([
    [
      "a refresh_failed passes as it is (status, description, no cause)",
      new FletAuthError("refresh_failed", "kept as it is", { status: 503, description: "the same object" }),
      { code: "refresh_failed", status: 503, message: "kept as it is", oauthError: null, description: "the same object", causeCode: null },
    ],
    [
      "another FletAuthError becomes refresh_failed with its status, message and cause",
      new FletAuthError("provider_timeout", "no answer within 60000 ms"),
      { code: "refresh_failed", status: 504, message: "no answer within 60000 ms", oauthError: null, description: null, causeCode: "provider_timeout" },
    ],
    [
      "its oauthError is kept",
      new FletAuthError("token_exchange_failed", "(temporarily_unavailable) later", { status: 502, oauthError: "temporarily_unavailable" }),
      { code: "refresh_failed", status: 502, message: "(temporarily_unavailable) later", oauthError: "temporarily_unavailable", description: null, causeCode: "token_exchange_failed" },
    ],
    ["a plain Error becomes refresh_failed (502) with its message", new Error("socket hang up"), { code: "refresh_failed", status: 502, message: "socket hang up", oauthError: null, description: null, causeCode: null }],
    ["a non-Error becomes a generic refresh_failed (502)", "boom", { code: "refresh_failed", status: 502, message: "Refreshing the token failed.", oauthError: null, description: null, causeCode: null }],
  ] as const)("%s", async (_what, failure, expected) => {
    const s = await setup();
    const agent = await signedInAgent(s);
    nearExpiry(s.clock);
    s.scripted.answers.push(async () => Promise.reject(failure));
    expect(await tokenOf(agent)).toStrictEqual({ ok: false, ...expected });
    expect(((await agent.get("/me").expect(200)).body as { signedIn: boolean }).signedIn).toBe(true);
  });
});

describe("refresh engine: successors a stale copy missed", () => {
  it("follows expiring successors another caller refreshed, at most three hops, each keyed by the token it replaces", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    const now = nearExpiry(s.clock);
    const chain = [1, 2, 3, 4, 5].map((n) => successor(n, now + 10));
    for (const r of chain) s.scripted.answers.push(async () => r);
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-4" });
    expect(s.scripted.keys).toHaveLength(4);
    const binding = s.scripted.keys[0]!.split(":")[1];
    for (let i = 1; i < 4; i += 1) {
      expect(s.scripted.keys[i]).toBe(`demo:${binding}:${generationOf(`r-${i}`, `succ-${i}`)}`);
    }
    expect(s.fake.count("/token", "refresh_token")).toBe(0);
    expect(s.events.refresh).toEqual([]); // nobody here reached the provider
  });

  it("stops at a successor that is not expiring", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    const now = nearExpiry(s.clock);
    s.scripted.answers.push(async () => successor(1, now + 10), async () => successor(2, now + 3600), async () => successor(3, now + 3600));
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-2" });
    expect(s.scripted.keys).toHaveLength(2);
  });

  it("stops when the lock answers a successor's refresh with that same successor", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    const now = nearExpiry(s.clock);
    const first = successor(1, now + 10);
    s.scripted.answers.push(async () => first, async () => first, async () => successor(2, now + 10), async () => successor(3, now + 10));
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-1" });
    expect(s.scripted.keys).toHaveLength(2);
  });

  it("the caller that refreshed itself does not refresh again, even when the provider's new token is already expiring", async () => {
    const s = await setup({ fake: { accessTokenTtl: 30 } });
    const agent = await signedInAgent(s);
    // Signed in with a 30 s token: it is within the margin at once.
    expect(await tokenOf(agent)).toMatchObject({ ok: true });
    expect(s.scripted.keys).toHaveLength(1);
    expect(s.fake.count("/token", "refresh_token")).toBe(1);
    expect(s.events.refresh).toHaveLength(1);
  });

  it("a saved token's refresh follows successors too (it is not the leader unless it refreshed)", async () => {
    const s = await setup();
    const now = s.clock.now() / 1000;
    const saved = new OAuthToken({ accessToken: "saved-access", refreshToken: "saved-refresh", expiresAt: now + 10, tokenType: "Bearer" }).toJson();
    s.scripted.answers.push(async () => successor(1, now + 10), async () => successor(2, now + 3600));
    const res = await request(s.app).get("/saved").query({ token: saved }).expect(200);
    expect(res.body).toStrictEqual({ accessToken: "succ-2" });
    expect(s.scripted.keys).toHaveLength(2);
    expect(s.scripted.keys[0]).toMatch(new RegExp(`^demo:[A-Za-z0-9_-]{22}:${generationOf("saved-refresh", "saved-access")}$`));
  });
});

describe("refresh engine: several providers", () => {
  it("a refresh updates only its own provider's authorization in the request", async () => {
    const s = await setup({ names: ["demo", "other"] });
    const agent = await signedInAgent(s, ["demo", "other"]);
    const before = (await tokenOf(agent, "other")).tokens!;
    const now = nearExpiry(s.clock);
    s.scripted.answers.push(async () => successor(1, now + 3600));
    const body = await tokenOf(agent, "demo");
    expect(body).toMatchObject({ ok: true, accessToken: "succ-1" });
    expect(body.tokens).toStrictEqual({ demo: "succ-1", other: before["other"] });
  });

  it("a revoked grant signs out that provider only; the others stay signed in", async () => {
    const s = await setup({ names: ["demo", "other"] });
    const agent = await signedInAgent(s, ["demo", "other"]);
    nearExpiry(s.clock);
    s.scripted.answers.push(async () => Promise.reject(new FletAuthError("token_exchange_failed", "(invalid_grant) revoked", { status: 400, oauthError: "invalid_grant" })));
    expect(await tokenOf(agent, "demo")).toMatchObject({ ok: false, code: "refresh_failed", oauthError: "invalid_grant" });
    const me = (await agent.get("/me").expect(200)).body as { signedIn: boolean; provider: string | null; providers: string[] };
    expect(me).toMatchObject({ signedIn: true, provider: "other", providers: ["other"] });
  });

  it("a revoked grant of a provider that is not the current one leaves the current one current, even when it is not the last signed in", async () => {
    const s = await setup({ names: ["a", "b", "c"] });
    // Signed in a, b, c, then a again: a is current, and first in the session's order.
    const agent = await signedInAgent(s, ["a", "b", "c", "a"]);
    expect(((await agent.get("/me").expect(200)).body as { provider: string }).provider).toBe("a");
    nearExpiry(s.clock);
    s.scripted.answers.push(async () => Promise.reject(new FletAuthError("token_exchange_failed", "(invalid_grant) revoked", { status: 400, oauthError: "invalid_grant" })));
    expect(await tokenOf(agent, "b")).toMatchObject({ ok: false, oauthError: "invalid_grant" });
    const me = (await agent.get("/me").expect(200)).body as { provider: string | null; providers: string[] };
    expect(me).toMatchObject({ provider: "a", providers: ["a", "c"] });
  });
});

describe("refresh engine: the remember-me cookie", () => {
  const revoked = (): Answer => async () => Promise.reject(new FletAuthError("token_exchange_failed", "(invalid_grant) revoked", { status: 400, oauthError: "invalid_grant" }));

  it("a revoked grant clears the cookie of the provider it belongs to", async () => {
    const s = await setup({ auth: { rememberMe: { secretKey: REMEMBER_KEY } } });
    const { jar } = await signInWithHeaders(s.app, s.fake, "/login/demo?remember=1", {});
    expect(jar[REMEMBER]).toBeDefined();
    nearExpiry(s.clock);
    s.scripted.answers.push(revoked());
    const res = await request(s.app).get("/t/demo").set("Cookie", cookieHeader(jar)).expect(200);
    expect(res.body).toMatchObject({ ok: false, oauthError: "invalid_grant" });
    const line = findSetCookie(res, REMEMBER);
    expect(line).toBeDefined();
    expect(isClearing(line!)).toBe(true);
  });

  it("a revoked grant leaves a cookie that remembers another provider", async () => {
    const s = await setup({ names: ["demo", "other"], auth: { rememberMe: { secretKey: REMEMBER_KEY } } });
    const first = await signInWithHeaders(s.app, s.fake, "/login/demo", {});
    const start = await request(s.app).get("/login/other?remember=1").set("Cookie", cookieHeader(first.jar));
    expect(start.status).toBe(302);
    const jar: Record<string, string> = { ...first.jar };
    const absorb = (res: request.Response): void => {
      for (const line of (res.headers["set-cookie"] as unknown as string[] | undefined) ?? []) {
        const pair = line.split(";")[0]!;
        jar[pair.slice(0, pair.indexOf("="))] = pair.slice(pair.indexOf("=") + 1);
      }
    };
    absorb(start);
    const callback = new URL(await s.fake.authorize(start.headers["location"] as string));
    const done = await request(s.app).get(`${callback.pathname}${callback.search}`).set("Cookie", cookieHeader(jar));
    expect(done.status, done.text).toBe(303);
    absorb(done);
    expect(jar[REMEMBER]).toBeDefined();
    nearExpiry(s.clock);
    s.scripted.answers.push(revoked());
    const res = await request(s.app).get("/t/demo").set("Cookie", cookieHeader(jar)).expect(200);
    expect(res.body).toMatchObject({ ok: false, oauthError: "invalid_grant" });
    expect(findSetCookie(res, REMEMBER)).toBeUndefined();
  });

  it("a refresh rewrites the cookie of its own series only, not another series' cookie of the same provider", async () => {
    const s = await setup({ auth: { rememberMe: { secretKey: REMEMBER_KEY } } });
    const one = await signInWithHeaders(s.app, s.fake, "/login/demo?remember=1", {});
    const two = await signInWithHeaders(s.app, s.fake, "/login/demo?remember=1", {});
    const now = nearExpiry(s.clock);
    // The first browser's session with the second browser's cookie (same provider, another series): not rewritten …
    s.scripted.answers.push(async () => successor(1, now + 3600));
    const mixed = await request(s.app)
      .get("/t/demo")
      .set("Cookie", cookieHeader({ ...one.jar, [REMEMBER]: two.jar[REMEMBER]! }))
      .expect(200);
    expect(mixed.body).toMatchObject({ ok: true, accessToken: "succ-1" });
    expect(findSetCookie(mixed, REMEMBER)).toBeUndefined();
    // … while its own series' cookie is rewritten with the new token.
    s.scripted.answers.push(async () => successor(2, now + 3600));
    const own = await request(s.app).get("/t/demo").set("Cookie", cookieHeader(two.jar)).expect(200);
    expect(own.body).toMatchObject({ ok: true, accessToken: "succ-2" });
    const line = findSetCookie(own, REMEMBER);
    expect(line).toBeDefined();
    expect(isClearing(line!)).toBe(false);
  });
});

describe("refresh engine: what a refresh writes back", () => {
  /** The built-in memory store, with its sign-in record swaps counted and, when asked, the next one lost to a concurrent removal. */
  function swappingStore(): { store: FletAuthStore; swaps: () => number; loseNextSwap: () => void } {
    const inner = createMemoryStore();
    let swaps = 0;
    let lose = false;
    const store: FletAuthStore = {
      getMany: (keys) => inner.getMany(keys),
      set: (key, value, ttl, options) => inner.set(key, value, ttl, options),
      delete: (key) => inner.delete(key),
      async swap(key, expected, value, ttl) {
        if (key.startsWith("signin:")) swaps += 1;
        if (lose && key.startsWith("signin:")) {
          lose = false;
          await inner.delete(key); // signed out elsewhere between the read and the write
          return false;
        }
        return inner.swap(key, expected, value, ttl);
      },
    };
    return { store, swaps: () => swaps, loseNextSwap: () => void (lose = true) };
  }

  it("a refresh that yields the token the stored record already holds does not rewrite the record", async () => {
    const held = swappingStore();
    const s = await setup({ auth: { store: held.store } });
    const agent = await signedInAgent(s);
    const now = nearExpiry(s.clock);
    // Another caller's expiring successor, and the same successor again for its own refresh.
    const first = successor(1, now + 10);
    s.scripted.answers.push(async () => first, async () => first);
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-1" });
    expect(held.swaps()).toBe(1);
    // The next request holds succ-1 already and is answered succ-1 again (a waiter of that refresh).
    s.scripted.answers.push(async () => first, async () => first);
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-1" });
    expect(s.scripted.keys).toHaveLength(4);
    expect(held.swaps()).toBe(1);
  });

  it("a record removed while its refresh is written back gets nothing more: no remember-me cookie", async () => {
    const held = swappingStore();
    const s = await setup({ auth: { store: held.store, rememberMe: { secretKey: REMEMBER_KEY } } });
    const { jar } = await signInWithHeaders(s.app, s.fake, "/login/demo?remember=1", {});
    const now = nearExpiry(s.clock);
    // With the record in place, the refreshed token reaches the cookie …
    s.scripted.answers.push(async () => successor(1, now + 3600));
    const kept = await request(s.app).get("/t/demo").set("Cookie", cookieHeader(jar)).expect(200);
    expect(kept.body).toMatchObject({ ok: true, accessToken: "succ-1" });
    const line = findSetCookie(kept, REMEMBER);
    expect(line).toBeDefined();
    jar[REMEMBER] = line!.split(";")[0]!.slice(REMEMBER.length + 1);
    // … but not once the record is gone: the caller still gets the token it waited for.
    s.clock.set(now * 1000 + 3600_000);
    s.scripted.answers.push(async () => {
      held.loseNextSwap(); // armed while the refresh runs: the write-back is the next swap
      return successor(2, now + 7200);
    });
    const gone = await request(s.app).get("/t/demo").set("Cookie", cookieHeader(jar)).expect(200);
    expect(gone.body).toMatchObject({ ok: true, accessToken: "succ-2" });
    expect(findSetCookie(gone, REMEMBER)).toBeUndefined();
  });

  it("a sign-in replaced while its refresh ran is not overwritten with the old sign-in's token", async () => {
    const s = await setup();
    const agent = await signedInAgent(s);
    const now = nearExpiry(s.clock);
    const gate = deferred<void>();
    const entered = deferred<void>();
    s.scripted.answers.push(async () => {
      entered.resolve();
      await gate.promise;
      return successor(1, now + 3600);
    });
    const replacement = new OAuthToken({ accessToken: "replacement", refreshToken: "replacement-r", expiresAt: now + 3600, tokenType: "Bearer" }).toJson();
    s.app.get("/replace-during-refresh", async (req: Request, res: Response) => {
      const refreshing = req.auth!.getToken();
      await entered.promise;
      await req.login("demo", { savedToken: replacement, fetchUser: false });
      gate.resolve();
      const token = await refreshing;
      res.json({ refreshed: token.accessToken });
    });
    const res = await agent.get("/replace-during-refresh");
    expect(res.status, res.text).toBe(200);
    expect(res.body).toStrictEqual({ refreshed: "succ-1" });
    // The session holds the replacement sign-in with its own token.
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "replacement" });
  });
});


/** A JWKS endpoint on loopback and ID tokens signed with its key "as the provider". */
async function startJwks(): Promise<{ url: string; sign(claims: Record<string, unknown>): Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks`,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" }).sign(privateKey),
  };
}

describe("refresh engine: a refreshed ID token (OpenID Connect Core §12.2)", () => {
  const ISSUER = "https://issuer.example";

  /**
   * Signed in from an expiring saved token with `openid`: its refresh (through the script) brings
   * the first ID token (sub 1001), so the sign-in holds verified claims. Returns the agent and
   * a maker of the next refresh's ID token.
   */
  async function oidcSignedIn(sessionStore?: JsonSessionStore) {
    const jwks = await startJwks();
    const s = await setup({ provider: { issuer: ISSUER, jwksUri: jwks.url }, auth: sessionStore ? { session: { store: sessionStore } } : {} });
    const nowS = Math.floor(s.clock.now() / 1000);
    const idToken = (claims: Record<string, unknown>) => jwks.sign({ iss: ISSUER, aud: s.fake.clientId, iat: Math.floor(s.clock.now() / 1000), exp: Math.floor(s.clock.now() / 1000) + 600, ...claims });
    const saved = new OAuthToken({ accessToken: "saved-access", refreshToken: "saved-refresh", expiresAt: nowS + 10, tokenType: "Bearer" }).toJson();
    const first = await idToken({ sub: "1001", email: "first@example.com" });
    s.scripted.answers.push(async () => ({ ...successor(1, nowS + 3600), idToken: first }));
    const agent = request.agent(s.app);
    const login = await agent.get("/saved").query({ token: saved, openid: "1" });
    expect(login.status, login.text).toBe(200);
    expect(login.body).toStrictEqual({ accessToken: "succ-1" });
    const before = (await agent.get("/claims").expect(200)).body as { claims: Record<string, unknown> | null };
    expect(before.claims).toMatchObject({ sub: "1001", email: "first@example.com" });
    // Near succ-1's expiry.
    s.clock.set((nowS + 3600 - 30) * 1000);
    return { s, agent, idToken, nowS: nowS + 3600 - 30 };
  }

  it.each([
    ["records in the store", false],
    ["records in the session", true],
  ])("a verified refreshed ID token replaces the sign-in's claims (%s)", async (_where, inSession) => {
    const { s, agent, idToken, nowS } = await oidcSignedIn(inSession ? new JsonSessionStore() : undefined);
    const second = await idToken({ sub: "1001", email: "second@example.com" });
    s.scripted.answers.push(async () => ({ ...successor(2, nowS + 3600), idToken: second }));
    expect(await tokenOf(agent)).toMatchObject({ ok: true, accessToken: "succ-2" });
    const after = (await agent.get("/claims").expect(200)).body as { claims: Record<string, unknown> | null };
    expect(after.claims).toMatchObject({ sub: "1001", email: "second@example.com" });
  });

  it.each([
    ["for another subject", { sub: "someone-else", email: "x@example.com" }],
    ["signed for another audience", { sub: "1001", aud: "another-client" }],
  ])("an ID token %s ends the sign-in: refresh_failed (401) with the verification error as cause", async (_what, claims) => {
    const { s, agent, idToken, nowS } = await oidcSignedIn();
    const bad = await idToken(claims);
    s.scripted.answers.push(async () => ({ ...successor(2, nowS + 3600), idToken: bad }));
    const body = await tokenOf(agent);
    expect(body).toMatchObject({ ok: false, code: "refresh_failed", status: 401, causeCode: "id_token_invalid" });
    expect(((await agent.get("/claims").expect(200)).body as { signedIn: boolean }).signedIn).toBe(false);
  });
});
