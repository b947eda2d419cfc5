/**
 * req.auth.getToken(): lazy refresh inside the margin, single flight, rotation, the simple-oauth2
 * dropped-refresh-token defect, tokens that never refresh, and every failure mode (SPEC §3,
 * checklist 27–29). Time moves only through fletAuth's `clock`; refreshes are counted at the
 * fake provider's token endpoint.
 */
import type { Express, Request, Response } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { FletAuthError, createInProcessRefreshLock, type FletAuthMiddleware, type FletAuthOptions, type RefreshLock } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory, type Agent } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider, type FakeProviderOptions } from "../helpers/fake-provider.js";
import { startTokenGate, type TokenGate } from "../helpers/token-gate.js";
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


interface Signed {
  fake: FakeProvider;
  /** The proxy in front of the token endpoint, when asked for with `gate: true`. */
  gate: TokenGate | undefined;
  app: Express;
  auth: FletAuthMiddleware;
  agent: Agent;
  clock: ManualClock;
  events: RecordedEvents;
  /** The token stored right after sign-in. */
  initial: NonNullable<StoredToken>;
  stored(): Promise<StoredToken>;
  signedIn(): Promise<boolean>;
  refreshes(): number;
}

const cleanups = useServerLifecycle();

/** `GET /token-many?n=100`: n concurrent `req.auth.getToken()` calls in one handler. */
function addTokenManyRoute(app: Express): void {
  app.get("/token-many", async (req: Request, res: Response) => {
    const n = Number(req.query["n"] ?? 100);
    const auth = req.auth;
    if (!auth) return void res.status(401).json({ code: "signed_out" });
    const outcomes = await Promise.allSettled(Array.from({ length: n }, () => auth.getToken()));
    res.json({
      accessTokens: outcomes.map((o) => (o.status === "fulfilled" ? o.value.accessToken : null)),
      errors: outcomes.map((o) => (o.status === "rejected" ? (o.reason instanceof FletAuthError ? o.reason.code : String(o.reason)) : null)),
    });
  });
}

/**
 * `GET /token-error`: `req.auth.getToken()` expected to fail; answers the error's code, status
 * and message, and its cause's code (the error handler of buildApp shows code and message only).
 */
function addTokenErrorRoute(app: Express): void {
  app.get("/token-error", async (req: Request, res: Response) => {
    try {
      const token = await req.auth?.getToken();
      res.status(500).json({ unexpected: "no error", accessToken: token?.accessToken ?? null });
    } catch (err) {
      const cause = err instanceof Error ? err.cause : undefined;
      res.json({
        code: err instanceof FletAuthError ? err.code : String(err),
        status: err instanceof FletAuthError ? err.status : null,
        message: err instanceof Error ? err.message : null,
        causeCode: cause instanceof FletAuthError ? cause.code : null,
      });
    }
  });
}

/** A signed-in agent on a real listening server, with the clock at sign-in time. */
async function signedIn(
  create: ExpressFactory,
  options: { fake?: FakeProviderOptions; auth?: Partial<FletAuthOptions>; gate?: boolean } = {},
): Promise<Signed> {
  const fake = await startFakeProvider(options.fake);
  cleanups.push(() => fake.close());
  const gate = options.gate === true ? await startTokenGate(fake) : undefined;
  if (gate !== undefined) cleanups.push(() => gate.close());
  const clock = manualClock();
  const provider = standardProvider(fake, gate === undefined ? {} : { tokenEndpoint: gate.tokenEndpoint });
  const { app, auth } = buildApp(create, { providers: { demo: provider }, clock: clock.fn, ...options.auth });
  addStoredTokenRoute(app);
  addTokenManyRoute(app);
  addTokenErrorRoute(app);
  const server = await listen(app);
  cleanups.push(() => server.close());
  const agent = request.agent(server.server);
  const done = await signIn(agent, fake, "/login/demo");
  expect(done.status, done.text).toBe(303);
  const events = recordEvents(auth);
  const stored = async (): Promise<StoredToken> => (await agent.get("/stored-token").expect(200)).body as StoredToken;
  const initial = await stored();
  expect(initial).not.toBeNull();
  return {
    fake,
    gate,
    app,
    auth,
    agent,
    clock,
    events,
    initial: initial!,
    stored,
    signedIn: async () => ((await agent.get("/me").expect(200)).body as { signedIn: boolean }).signedIn,
    refreshes: () => fake.count("/token", "refresh_token"),
  };
}

function expiresAtOf(token: StoredToken): number {
  expect(typeof token?.expires_at).toBe("number");
  return token!.expires_at!;
}

describe.each(EXPRESS)("req.auth.getToken() refresh ($name)", ({ create }) => {
  describe("refresh margin (checklist 29)", () => {
    it("does not refresh a token that expires after the margin (120 s left, margin 60)", async () => {
      const s = await signedIn(create);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 120);
      const res = await s.agent.get("/token").expect(200);
      expect(res.body.accessToken).toBe(s.initial.access_token);
      expect(s.refreshes()).toBe(0);
      expect(s.events.refresh).toEqual([]);
    });

    it("refreshes once inside the margin (30 s left) and persists the new token to the session", async () => {
      const s = await signedIn(create);
      const expiresAt = expiresAtOf(s.initial);
      s.clock.setBeforeExpiry(expiresAt, 30);
      const first = await s.agent.get("/token").expect(200);
      expect(s.refreshes()).toBe(1);
      expect(first.body.accessToken).not.toBe(s.initial.access_token);
      // The refreshed token's expiry counts from the injected clock (round(now) + expires_in).
      expect(first.body.expiresAt).toBe(Math.round(s.clock.now() / 1000) + 3600);

      const second = await s.agent.get("/token").expect(200);
      expect(second.body.accessToken).toBe(first.body.accessToken);
      expect(s.refreshes()).toBe(1);
      const stored = await s.stored();
      expect(stored?.access_token).toBe(first.body.accessToken);
      expect(stored?.expires_at).toBe(first.body.expiresAt);
    });

    it("honours refreshMarginMs (300000: refreshes with 200 s left)", async () => {
      const s = await signedIn(create, { auth: { refreshMarginMs: 300_000 } });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 301);
      await s.agent.get("/token").expect(200);
      expect(s.refreshes()).toBe(0);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 200);
      const res = await s.agent.get("/token").expect(200);
      expect(s.refreshes()).toBe(1);
      expect(res.body.accessToken).not.toBe(s.initial.access_token);
    });

    it("refreshes a token that is already past its expiry", async () => {
      const s = await signedIn(create);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), -7200);
      const res = await s.agent.get("/token").expect(200);
      expect(s.refreshes()).toBe(1);
      expect(res.body.accessToken).not.toBe(s.initial.access_token);
    });
  });

  describe("single flight (checklist 28)", () => {
    it("100 concurrent GET /token after expiry make exactly ONE refresh_token grant (rotation + reuse detection on)", async () => {
      const s = await signedIn(create, { fake: { rotateRefreshTokens: true, refreshReuseRevokesGrant: true } });
      // A slow token endpoint keeps the refresh in flight while the requests pile up.
      s.fake.set({ tokenDelayMs: 150 });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 10);
      const responses = await Promise.all(Array.from({ length: 100 }, () => s.agent.get("/token")));
      s.fake.set({ tokenDelayMs: 0 });
      expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 100 }, () => 200));
      const tokens = new Set(responses.map((r) => r.body.accessToken as string));
      expect(tokens.size).toBe(1);
      const [fresh] = [...tokens];
      expect(fresh).not.toBe(s.initial.access_token);
      expect(s.refreshes()).toBe(1);
      // The grant survived (a second refresh with the old token would have revoked it): the
      // session holds the rotated token and it works at the provider's userinfo too.
      const stored = await s.stored();
      expect(stored?.access_token).toBe(fresh);
      expect(stored?.refresh_token).not.toBe(s.initial.refresh_token);
      const userinfo = await fetch(`${s.fake.url}/userinfo`, { headers: { authorization: `Bearer ${fresh}` } });
      expect(userinfo.status).toBe(200);
      expect(await s.signedIn()).toBe(true);
    });

    it("100 concurrent req.auth.getToken() calls inside one handler make ONE refresh and share its token", async () => {
      const s = await signedIn(create, { fake: { rotateRefreshTokens: true, refreshReuseRevokesGrant: true } });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 10);
      const res = await s.agent.get("/token-many?n=100").expect(200);
      const body = res.body as { accessTokens: (string | null)[]; errors: (string | null)[] };
      expect(body.errors).toEqual(Array.from({ length: 100 }, () => null));
      expect(new Set(body.accessTokens).size).toBe(1);
      expect(body.accessTokens[0]).not.toBe(s.initial.access_token);
      expect(s.refreshes()).toBe(1);
      expect((await s.stored())?.access_token).toBe(body.accessTokens[0]);
    });

    it("emits ONE refresh event for one shared refresh (100 concurrent requests)", async () => {
      const s = await signedIn(create);
      s.fake.set({ tokenDelayMs: 150 });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 10);
      await Promise.all(Array.from({ length: 100 }, () => s.agent.get("/token").expect(200)));
      expect(s.refreshes()).toBe(1);
      expect(s.events.refresh.length).toBe(1);
    });

    it("emits ONE refresh event for one shared refresh (100 concurrent getToken() in one handler)", async () => {
      const s = await signedIn(create);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 10);
      await s.agent.get("/token-many?n=100").expect(200);
      expect(s.refreshes()).toBe(1);
      expect(s.events.refresh.length).toBe(1);
    });
  });

  describe("refresh token rotation (checklist 27)", () => {
    it("stores the NEW refresh token, so a second expiry later refreshes successfully", async () => {
      const s = await signedIn(create, { fake: { rotateRefreshTokens: true } });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      const first = await s.agent.get("/token").expect(200);
      const afterFirst = await s.stored();
      expect(afterFirst?.refresh_token).toBeDefined();
      expect(afterFirst?.refresh_token).not.toBe(s.initial.refresh_token);

      // Well past the grace period of the first refresh: a real second refresh.
      s.clock.setBeforeExpiry(expiresAtOf(afterFirst), 30);
      const second = await s.agent.get("/token");
      expect(second.status, second.text).toBe(200);
      expect(s.refreshes()).toBe(2);
      expect(second.body.accessToken).not.toBe(first.body.accessToken);
      const afterSecond = await s.stored();
      expect(afterSecond?.refresh_token).not.toBe(afterFirst?.refresh_token);
      expect(await s.signedIn()).toBe(true);
    });

    it("keeps the old refresh token when the refresh response omits one (simple-oauth2 5.1.0 drops it)", async () => {
      const s = await signedIn(create, { fake: { refreshOmitsRefreshToken: true } });
      const original = s.initial.refresh_token;
      expect(original).toBeDefined();
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      const first = await s.agent.get("/token").expect(200);
      expect(first.body.refreshToken).toBe(original);
      const afterFirst = await s.stored();
      expect(afterFirst?.refresh_token).toBe(original);
      expect(afterFirst?.access_token).toBe(first.body.accessToken);

      s.clock.setBeforeExpiry(expiresAtOf(afterFirst), 30);
      const second = await s.agent.get("/token");
      expect(second.status, second.text).toBe(200);
      expect(s.refreshes()).toBe(2);
      expect(second.body.accessToken).not.toBe(first.body.accessToken);
      expect((await s.stored())?.refresh_token).toBe(original);
    });
  });

  describe("tokens that are never refreshed", () => {
    it("a token without expiry (accessTokenTtl 0) is never refreshed, even ten years later", async () => {
      // No sign-in lifetime either: the property is about refreshing, not about lifetimes.
      const s = await signedIn(create, { fake: { accessTokenTtl: 0 }, auth: { absoluteTimeoutMs: Infinity, idleTimeoutMs: Infinity } });
      expect(s.initial.expires_at).toBeUndefined();
      expect(s.initial.refresh_token).toBeDefined();
      s.clock.advanceSeconds(10 * 365 * 86_400);
      const res = await s.agent.get("/token").expect(200);
      expect(res.body.accessToken).toBe(s.initial.access_token);
      expect(res.body.expiresAt).toBeNull();
      expect(s.refreshes()).toBe(0);
    });

    it("an expired token without a refresh token is returned stale, with no token call", async () => {
      const s = await signedIn(create, { fake: { issueRefreshTokens: false } });
      expect(s.initial.refresh_token).toBeUndefined();
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), -3600);
      const res = await s.agent.get("/token").expect(200);
      expect(res.body.accessToken).toBe(s.initial.access_token);
      expect(s.refreshes()).toBe(0);
      expect(await s.signedIn()).toBe(true);
    });
  });

  describe("failed refresh", () => {
    it.each([
      { what: "HTTP 500 with an OAuth error body", status: 500, body: '{"error":"server_error","error_description":"down"}', contentType: "application/json" },
      { what: "HTTP 503 with HTML", status: 503, body: "<html><body>Service Unavailable</body></html>", contentType: "text/html" },
    ])("$what → refresh_failed, still signed in, token unchanged, the next getToken retries", async ({ status, body, contentType }) => {
      const s = await signedIn(create);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      s.fake.nextResponse("/token", { status, body, contentType });
      const failed = await s.agent.get("/token");
      expect(failed.status).toBeGreaterThanOrEqual(400);
      expect(failed.body.code).toBe("refresh_failed");
      expect(s.refreshes()).toBe(1);
      expect(await s.signedIn()).toBe(true);
      expect(await s.stored()).toEqual(s.initial);
      expect(s.events.logout).toEqual([]);
      expect(s.events.refresh).toEqual([]);

      // For the next 5 s the failure is shared: no second request to a failing provider.
      const shared = await s.agent.get("/token");
      expect(shared.body.code).toBe("refresh_failed");
      expect(s.refreshes()).toBe(1);

      s.clock.advanceSeconds(5);
      const retried = await s.agent.get("/token");
      expect(retried.status, retried.text).toBe(200);
      expect(s.refreshes()).toBe(2);
      expect(retried.body.accessToken).not.toBe(s.initial.access_token);
      expect(s.events.refresh.length).toBe(1);
    });

    it("invalid_grant (refresh tokens revoked) → refresh_failed, signed out, logout event with reason refresh_failed", async () => {
      const s = await signedIn(create);
      s.fake.revokeAll("refresh");
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      const failed = await s.agent.get("/token");
      expect(failed.status).toBeGreaterThanOrEqual(400);
      expect(failed.body.code).toBe("refresh_failed");
      expect(s.refreshes()).toBe(1);
      expect(s.events.logout).toEqual([{ provider: "demo", reason: "refresh_failed" }]);
      expect(s.events.refresh).toEqual([]);
      expect(await s.signedIn()).toBe(false);
      expect(await s.stored()).toBeNull();
      // Signed out: no further token calls.
      expect((await s.agent.get("/token")).status).toBe(401);
      expect(s.refreshes()).toBe(1);
    });

    it("invalid_grant seen by 10 concurrent requests signs out once: ONE logout event", async () => {
      const s = await signedIn(create);
      s.fake.revokeAll("refresh");
      s.fake.set({ tokenDelayMs: 150 });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      const responses = await Promise.all(Array.from({ length: 10 }, () => s.agent.get("/token")));
      // A request that loads the session after the sign-out was saved just sees "signed out".
      for (const r of responses) expect([r.body.code, r.body.error]).toContainEqual(expect.stringMatching(/^(refresh_failed|signed out)$/));
      expect(responses.filter((r) => r.body.code === "refresh_failed").length).toBeGreaterThanOrEqual(1);
      expect(await s.signedIn()).toBe(false);
      expect(s.events.logout).toEqual([{ provider: "demo", reason: "refresh_failed" }]);
    });

    it("a token endpoint slower than timeoutMs → refresh_failed (503) at the deadline, still signed in; the late token serves the next call", async () => {
      const s = await signedIn(create, { auth: { timeoutMs: 200 }, gate: true });
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      // The provider gets the refresh but answers only when the test releases it, with a good
      // (rotated) token: without the deadline the request would wait for it and succeed.
      const held = s.gate!.holdNext();
      const answer = s.agent.get("/token-error").then((r) => r);
      // Only if the deadline is broken: let the provider answer, so the test fails on the
      // assertions below instead of hanging. 50× timeoutMs; not part of the passing path.
      const valve = setTimeout(() => void held.release(), 10_000);
      try {
        expect((await held.arrived).grant_type).toBe("refresh_token");
        const failed = await answer;
        // The app answered while the provider still held its (successful) answer back.
        expect(held.answered(), "the app waited for the provider").toBe(false);
        expect(failed.body).toMatchObject({ code: "refresh_failed", status: 503, message: expect.stringMatching(/longer than 200 ms/) });
        expect(await s.signedIn()).toBe(true);
        expect(await s.stored()).toEqual(s.initial);
      } finally {
        clearTimeout(valve);
      }
      // The caller's deadline did not cut the refresh short: the provider's late answer arrives…
      const late = await held.release();
      expect(late.status).toBe(200);
      const rotated = JSON.parse(late.body) as { access_token: string; refresh_token: string };
      expect(await held.closedBeforeAnswer, "the HTTP client gave up on the provider").toBe(false);
      // … and the next getToken() gets it without presenting the rotated-out refresh token again.
      const next = await s.agent.get("/token");
      expect(next.status, next.text).toBe(200);
      expect(next.body.accessToken).toBe(rotated.access_token);
      expect(s.refreshes()).toBe(1);
      expect((await s.stored())?.refresh_token).toBe(rotated.refresh_token);
      expect(s.events.logout).toEqual([]);
    });

    it("getToken() rejects with a FletAuthError whose code is refresh_failed", async () => {
      const s = await signedIn(create);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      s.fake.nextResponse("/token", { status: 500, body: "{}" });
      const res = await s.agent.get("/token-many?n=3").expect(200);
      expect(res.body.errors).toEqual(["refresh_failed", "refresh_failed", "refresh_failed"]);
      expect(s.refreshes()).toBe(1);
    });
  });

  describe("refresh event", () => {
    it("is emitted once per refresh, with the provider and the new token", async () => {
      const s = await signedIn(create);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      const first = await s.agent.get("/token").expect(200);
      expect(s.events.refresh).toEqual([{ provider: "demo", accessToken: first.body.accessToken }]);
      await s.agent.get("/token").expect(200);
      expect(s.events.refresh.length).toBe(1);
      s.clock.setBeforeExpiry(first.body.expiresAt as number, 30);
      const second = await s.agent.get("/token").expect(200);
      expect(s.events.refresh).toEqual([
        { provider: "demo", accessToken: first.body.accessToken },
        { provider: "demo", accessToken: second.body.accessToken },
      ]);
    });
  });

  describe("refreshLock option", () => {
    it("routes every refresh through the custom lock", async () => {
      const inner = createInProcessRefreshLock();
      const keys: string[] = [];
      const lock: RefreshLock = {
        run(key, fn) {
          keys.push(key);
          return inner.run(key, fn);
        },
      };
      const s = await signedIn(create, { auth: { refreshLock: lock } });
      expect(keys).toEqual([]);
      s.clock.setBeforeExpiry(expiresAtOf(s.initial), 30);
      await Promise.all(Array.from({ length: 5 }, () => s.agent.get("/token").expect(200)));
      expect(keys.length).toBeGreaterThanOrEqual(1);
      expect(s.refreshes()).toBe(1);
      expect(new Set(keys).size).toBe(1);
      const [key] = keys;
      expect(key).toMatch(/^demo\b/);
      // Lock keys may end up in logs or in a shared store (Redis): never the refresh token itself.
      expect(key).not.toContain(s.initial.refresh_token!);
    });
  });
});
