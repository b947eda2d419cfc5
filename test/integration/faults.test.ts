/**
 * Under faults (issue 9), one process: deadlines that hold against a provider trickling its
 * answer, two fletAuth() instances in one app that do not sign each other out, a refresh whose
 * late answer (after the caller gave up) still serves the next caller instead of a second
 * refresh, a bounded wait while the provider hangs, and no retry storm against a failing token
 * endpoint. Time moves through fletAuth's `clock`; "the provider has not answered" is a held
 * request (token gate) or a trickling server's own byte count, never a timing guess.
 * The Redis side (outage, killed leader across instances) is in faults-redis.test.ts.
 */
import type { Express, Request, Response } from "express";
import request from "supertest";
import { describe, expect, it, vi } from "vitest";
import { fletAuth, type FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, SECRET, buildApp, pathOf, signIn, standardProvider, type Agent } from "../helpers/apps.js";
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
import { startTokenGate, type TokenGate } from "../helpers/token-gate.js";
import { startTrickleServer } from "../helpers/trickle-server.js";

const [{ create }] = EXPRESS;
const cleanups = useServerLifecycle();

/**
 * Only if a deadline is broken: lets a held provider answer, so the test fails on its
 * assertions instead of hanging. Not part of any passing path (every request answers long before).
 */
const VALVE_MS = 10_000;

interface Signed {
  fake: FakeProvider;
  gate: TokenGate;
  app: Express;
  agent: Agent;
  clock: ManualClock;
  events: RecordedEvents;
  initial: NonNullable<StoredToken> & { expires_at: number };
  stored(): Promise<StoredToken>;
  signedIn(): Promise<boolean>;
  refreshes(): number;
}

/** Signed in on a listening app whose token endpoint sits behind a gate; the clock at sign-in time. */
async function signedIn(options: { fake?: FakeProviderOptions; auth?: Partial<FletAuthOptions> } = {}): Promise<Signed> {
  const fake = await startFakeProvider(options.fake);
  cleanups.push(() => fake.close());
  const gate = await startTokenGate(fake);
  cleanups.push(() => gate.close());
  const clock = manualClock();
  const { app, auth } = buildApp(create, {
    providers: { demo: standardProvider(fake, { tokenEndpoint: gate.tokenEndpoint }) },
    clock: clock.fn,
    ...options.auth,
  });
  addStoredTokenRoute(app);
  const server = await listen(app);
  cleanups.push(() => server.close());
  const agent = request.agent(server.server);
  const done = await signIn(agent, fake, "/login/demo");
  expect(done.status, done.text).toBe(303);
  const events = recordEvents(auth);
  const stored = async (): Promise<StoredToken> => (await agent.get("/stored-token").expect(200)).body as StoredToken;
  const initial = await stored();
  expect(initial?.expires_at).toBeTypeOf("number");
  expect(initial?.refresh_token).toBeTypeOf("string");
  return {
    fake,
    gate,
    app,
    agent,
    clock,
    events,
    initial: initial as Signed["initial"],
    stored,
    signedIn: async () => ((await agent.get("/me").expect(200)).body as { signedIn: boolean }).signedIn,
    refreshes: () => fake.count("/token", "refresh_token"),
  };
}

describe("deadlines: a userinfo endpoint trickling its body", () => {
  it("fails the callback with user_fetch_failed/provider_timeout while the body is still trickling (overall deadline, not an idle timeout)", async () => {
    const timeoutMs = 500;
    const fake = await startFakeProvider();
    cleanups.push(() => fake.close());
    // 80 bytes at one byte per 100 ms: 8 s for the whole body; every byte restarts an idle timer.
    const profile = JSON.stringify({ sub: "1001", name: "The Octocat", email: "octocat@example.com", pad: "" });
    const trickle = await startTrickleServer(profile.slice(0, -2) + "x".repeat(80 - profile.length) + '"}', 100);
    cleanups.push(() => trickle.close());
    const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake, { userEndpoint: `${trickle.url}/userinfo` }) }, timeoutMs });
    const events = recordEvents(auth);
    const agent = request.agent(app);

    const res = await signIn(agent, fake, "/login/demo");
    const sentWhenAnswered = trickle.bytesSent();
    const finishedWhenAnswered = trickle.finished();

    expect(trickle.requests()).toBe(1);
    // The app answered while the endpoint was still sending: it did not wait for the body…
    expect(finishedWhenAnswered, "the app waited for the whole trickled body").toBe(false);
    // … and answered within about 2 × timeoutMs of the endpoint's first byte (one byte per 100 ms).
    expect(sentWhenAnswered).toBeLessThanOrEqual((2 * timeoutMs) / 100);
    expect([502, 504]).toContain(res.status);
    expect(events.login).toEqual([expect.objectContaining({ error: expect.stringMatching(/^(user_fetch_failed|provider_timeout)$/), accessToken: undefined })]);
    expect((await agent.get("/me").expect(200)).body.signedIn).toBe(false);
    // The HTTP client gave up on the endpoint (closed its connection), rather than leaving it open.
    await vi.waitFor(() => expect(trickle.abandoned()).toBe(true), { timeout: 5000, interval: 20 });
    expect(trickle.finished()).toBe(false);
  });
});

describe("two fletAuth() instances in one app", () => {
  it("logging out of instance A leaves B's sign-in in place and emits no logout for B's provider", async () => {
    const fake = await startFakeProvider();
    cleanups.push(() => fake.close());
    const app = create();
    const authA = fletAuth({
      secret: SECRET,
      providers: { alpha: standardProvider(fake, { redirectUrl: "http://127.0.0.1/a/callback" }) },
      loginPath: "/a/login",
      logoutPath: "/a/logout",
    });
    const authB = fletAuth({
      secret: SECRET,
      providers: { beta: standardProvider(fake, { redirectUrl: "http://127.0.0.1/b/callback" }) },
      loginPath: "/b/login",
      logoutPath: "/b/logout",
    });
    const seen = (req: Request, res: Response): void => void res.json({ providers: Object.keys(req.authorizations), current: req.auth?.provider ?? null });
    app.use(authA);
    app.get("/a/me", seen);
    app.use(authB);
    app.get("/b/me", seen);
    app.get("/b/token", async (req: Request, res: Response) => {
      const token = await req.auth?.getToken();
      res.json({ accessToken: token?.accessToken ?? null });
    });
    const eventsA = recordEvents(authA);
    const eventsB = recordEvents(authB);
    const agent = request.agent(app);

    for (const [login, provider] of [["/a/login/alpha", "alpha"], ["/b/login/beta", "beta"]] as const) {
      const start = await agent.get(login);
      expect(start.status, start.text).toBe(302);
      const done = await agent.get(pathOf(await fake.authorize(start.headers["location"] as string)));
      expect(done.status, `${provider} callback: ${done.text}`).toBeLessThan(400);
    }
    expect((await agent.get("/a/me").expect(200)).body).toEqual({ providers: ["alpha"], current: "alpha" });
    expect((await agent.get("/b/me").expect(200)).body).toEqual({ providers: ["beta"], current: "beta" });
    expect(eventsA.login.map((e) => [e.provider, e.error])).toEqual([["alpha", undefined]]);
    expect(eventsB.login.map((e) => [e.provider, e.error])).toEqual([["beta", undefined]]);

    const out = await agent.post("/a/logout").set("Accept", "application/json");
    expect(out.status, out.text).toBe(200);
    expect(out.body).toEqual({ signedIn: false });

    expect((await agent.get("/a/me").expect(200)).body).toEqual({ providers: [], current: null });
    expect((await agent.get("/b/me").expect(200)).body).toEqual({ providers: ["beta"], current: "beta" });
    expect((await agent.get("/b/token").expect(200)).body.accessToken).toBeTypeOf("string");
    expect(eventsA.logout).toEqual([{ provider: "alpha", reason: "logout" }]);
    expect(eventsB.logout).toEqual([]);

    // B's own logout still works.
    await agent.post("/b/logout").set("Accept", "application/json").expect(200);
    expect((await agent.get("/b/me").expect(200)).body).toEqual({ providers: [], current: null });
    expect(eventsB.logout).toEqual([{ provider: "beta", reason: "logout" }]);
  });
});

describe("unknown refresh outcome: the provider answers after the caller's deadline", () => {
  it("the late, rotated token serves the next getToken() from the lock: no second provider request, still signed in", async () => {
    // Rotation with reuse detection: presenting the old refresh token again would revoke the grant.
    const s = await signedIn({ fake: { rotateRefreshTokens: true, refreshReuseRevokesGrant: true }, auth: { timeoutMs: 300 } });
    s.clock.setBeforeExpiry(s.initial.expires_at, 30);
    const held = s.gate.holdNext();
    const valve = setTimeout(() => void held.release(), VALVE_MS);
    try {
      const answer = s.agent.get("/token").then((r) => r);
      expect((await held.arrived).refresh_token).toBe(s.initial.refresh_token);
      const failed = await answer;
      // The app answered 503 while the provider still held its (successful) answer back.
      expect(held.answered(), "the app waited for the provider").toBe(false);
      expect(failed.status).toBe(503);
      expect(failed.body.code).toBe("refresh_failed");
      expect(await s.signedIn()).toBe(true);
      expect(await s.stored()).toEqual(s.initial);
    } finally {
      clearTimeout(valve);
    }
    // The provider answers now, rotating: the old refresh token is spent.
    const late = await held.release();
    expect(late.status).toBe(200);
    const rotated = JSON.parse(late.body) as { access_token: string; refresh_token: string };
    expect(rotated.refresh_token).not.toBe(s.initial.refresh_token);
    expect(await held.closedBeforeAnswer, "the HTTP client gave up on the provider").toBe(false);

    // The session still holds the old token; the next getToken() gets the rotated one from the lock.
    const next = await s.agent.get("/token");
    expect(next.status, next.text).toBe(200);
    expect(next.body).toMatchObject({ accessToken: rotated.access_token, refreshToken: rotated.refresh_token });
    expect(s.refreshes()).toBe(1);
    expect((await s.stored())?.refresh_token).toBe(rotated.refresh_token);
    expect(await s.signedIn()).toBe(true);
    expect(s.events.logout).toEqual([]);

    // The chain goes on with the rotated token: the next expiry refreshes once more, normally.
    s.clock.setBeforeExpiry(next.body.expiresAt as number, 30);
    const again = await s.agent.get("/token");
    expect(again.status, again.text).toBe(200);
    expect(again.body.accessToken).not.toBe(rotated.access_token);
    expect(s.refreshes()).toBe(2);
    expect(s.fake.requests.filter((r) => r.form.refresh_token === s.initial.refresh_token)).toHaveLength(1);
    expect(s.events.logout).toEqual([]);
  });
});

describe("bounded wait: the provider hangs on /token", () => {
  it("every getToken() answers 503 within about timeoutMs of its own start while the provider still hangs", async () => {
    const timeoutMs = 300;
    const s = await signedIn({ auth: { timeoutMs } });
    s.clock.setBeforeExpiry(s.initial.expires_at, 30);
    const held = s.gate.holdNext();
    const valve = setTimeout(() => void held.release(), VALVE_MS);
    try {
      const timed = async (): Promise<{ status: number; code: unknown; ms: number }> => {
        const started = performance.now();
        const r = await s.agent.get("/token");
        return { status: r.status, code: (r.body as { code?: unknown }).code, ms: performance.now() - started };
      };
      // The caller that starts the refresh and four that join it.
      const first = timed();
      await held.arrived;
      const joined = await Promise.all([first, ...Array.from({ length: 4 }, timed)]);
      expect(held.answered(), "a request waited for the provider").toBe(false);
      // One that comes after the others gave up, while the refresh still runs: its own deadline.
      const late = await timed();
      expect(held.answered(), "a request waited for the provider").toBe(false);
      for (const r of [...joined, late]) {
        expect(r).toMatchObject({ status: 503, code: "refresh_failed" });
        // About timeoutMs; the bound is loose for a loaded machine, the observable above is the proof.
        expect(r.ms).toBeLessThan(timeoutMs + 2000);
      }
      // One refresh, held at the gate: nobody sent a second one while the first hung.
      expect(s.refreshes()).toBe(0);
      expect(await s.signedIn()).toBe(true);
    } finally {
      clearTimeout(valve);
      await held.release();
    }
  });
});

describe("no retry storm: the token endpoint fails", () => {
  it("20 getToken() calls within 5 s make ONE provider call; after 5 s the next call retries", async () => {
    const s = await signedIn();
    s.clock.setBeforeExpiry(s.initial.expires_at, 30);
    const down = { status: 500, body: '{"error":"server_error","error_description":"down"}', contentType: "application/json" };
    // Down for the first two requests that reach it; up after that.
    s.fake.nextResponse("/token", down);
    s.fake.nextResponse("/token", down);
    const failedAt = s.clock.now();

    for (let i = 0; i < 20; i++) {
      if (i > 0) s.clock.advanceSeconds(0.2);
      const r = await s.agent.get("/token");
      expect(r.status, r.text).toBeGreaterThanOrEqual(500);
      expect(r.body.code).toBe("refresh_failed");
    }
    // And ten at once, 4.9 s after the failure.
    s.clock.set(failedAt + 4900);
    for (const r of await Promise.all(Array.from({ length: 10 }, () => s.agent.get("/token")))) expect(r.body.code).toBe("refresh_failed");
    expect(s.refreshes()).toBe(1);

    // 5 s after the failure: the next call asks the provider again (still down).
    s.clock.set(failedAt + 5000);
    expect((await s.agent.get("/token")).body.code).toBe("refresh_failed");
    expect(s.refreshes()).toBe(2);
    expect((await s.agent.get("/token")).body.code).toBe("refresh_failed");
    expect(s.refreshes()).toBe(2);

    // 5 s later again: the provider is back, the refresh succeeds, the user never left.
    s.clock.advanceSeconds(5);
    const ok = await s.agent.get("/token");
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.accessToken).not.toBe(s.initial.access_token);
    expect(s.refreshes()).toBe(3);
    expect(await s.signedIn()).toBe(true);
    expect(s.events.logout).toEqual([]);
  });
});
