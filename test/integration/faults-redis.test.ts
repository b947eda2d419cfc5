/**
 * Under faults (issue 9), several app instances on one Redis — connect-redis sessions,
 * createRedisStore and createRedisRefreshLock, node-redis clients with `disableOfflineQueue` —
 * and a provider that rotates refresh tokens and revokes the grant on reuse:
 *
 * - a leader instance killed mid-refresh: the others answer a retryable 503 and keep the user
 *   signed in, and nobody presents the refresh token again while the attempt mark lives; then
 *   one instance tries again (which the provider refuses if it had rotated the token: the
 *   documented dead-leader case, pinned here too);
 * - a waiting instance's request is bounded by timeoutMs, not by the lock's waitMs;
 * - Redis hung (SIGSTOP) or down (restart on the same port): requests answer 503 within about
 *   storeTimeoutMs / commandTimeoutMs instead of hanging, with no raw socket error in the body,
 *   and the app recovers by itself when Redis is back.
 *
 * Time for tokens moves through fletAuth's `clock`; the lock's lapse and the attempt mark's
 * expiry are Redis's own PX timers, waited for by polling what Redis holds (bounded).
 */
import { randomBytes } from "node:crypto";
import { RedisStore } from "connect-redis";
import type { Express } from "express";
import { createClient } from "redis";
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createRedisRefreshLock, createRedisStore, type FletAuthMiddleware, type RedisRefreshLockOptions } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { startControlledRedis, type ControlledRedis } from "../helpers/redis-control.js";
import { findRedisServerOrWarn } from "../helpers/redis-server.js";
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

const REDIS_BINARY = findRedisServerOrWarn("faults-redis", "the Redis fault suite");
const [{ create }] = EXPRESS;

type Client = ReturnType<typeof createClient>;

/** Only if a deadline is broken: unblocks what the test holds, so it fails instead of hanging. */
const VALVE_MS = 10_000;

/** What a raw Redis or socket error would put in a body; flet-auth's answers carry none of it. */
const RAW_ERROR = /ECONN|EPIPE|socket|offline|closed|redis:\/\/|127\.0\.0\.1/i;

/** Drops a client's connection now (idempotent: a "killed" instance's client may be gone already). */
function destroy(client: Client): void {
  if (client.isOpen) client.destroy();
}

interface Instance {
  readonly app: Express;
  readonly url: string;
  readonly auth: FletAuthMiddleware;
  readonly client: Client;
  readonly events: RecordedEvents;
  /** "Kills" the instance: its HTTP server and its Redis connection go away at once. */
  kill(): Promise<void>;
}

describe.skipIf(REDIS_BINARY === undefined)("faults with several instances on Redis", () => {
  let redis: ControlledRedis;
  /** The test's own connection for reading what Redis holds (not an instance's). */
  let inspector: Client;
  const cleanups = useServerLifecycle();
  let fake: FakeProvider;
  let gate: TokenGate;
  let clock: ManualClock;
  let prefix: string;
  let clientErrors: number;

  beforeAll(async () => {
    redis = await startControlledRedis(REDIS_BINARY!);
    inspector = createClient({ url: redis.url });
    inspector.on("error", () => undefined);
    await inspector.connect();
  });
  afterAll(async () => {
    if (inspector !== undefined) destroy(inspector);
    await redis?.close();
  });

  beforeEach(async () => {
    fake = await startFakeProvider({ rotateRefreshTokens: true, refreshReuseRevokesGrant: true });
    cleanups.push(() => fake.close());
    gate = await startTokenGate(fake);
    cleanups.push(() => gate.close());
    clock = manualClock();
    prefix = `flet-auth-test:${randomBytes(6).toString("hex")}:`;
    clientErrors = 0;
  });

  /** A client as the docs recommend: commands fail at once while disconnected. */
  async function redisClient(): Promise<Client> {
    const client = createClient({ url: redis.url, disableOfflineQueue: true });
    client.on("error", () => (clientErrors += 1));
    await client.connect();
    cleanups.push(async () => destroy(client));
    return client;
  }

  /** One "process": its own Redis client, sessions, store, lock, fletAuth() (same secret) and HTTP server. */
  async function instance(
    options: { lock?: RedisRefreshLockOptions; timeoutMs?: number; storeTimeoutMs?: number; commandTimeoutMs?: number; lockClient?: Client } = {},
  ): Promise<Instance> {
    const client = await redisClient();
    const commandTimeoutMs = options.commandTimeoutMs ?? 300;
    const { app, auth } = buildApp(create, {
      providers: { demo: standardProvider(fake, { tokenEndpoint: gate.tokenEndpoint }) },
      session: { store: new RedisStore({ client, prefix: `${prefix}sess:` }) },
      store: createRedisStore(client, { prefix: `${prefix}store:`, commandTimeoutMs }),
      refreshLock: createRedisRefreshLock(options.lockClient ?? client, { prefix: `${prefix}refresh:`, commandTimeoutMs, ...options.lock }),
      storeTimeoutMs: options.storeTimeoutMs ?? 300,
      timeoutMs: options.timeoutMs ?? 400,
      clock: clock.fn,
      logger: { warn: () => undefined, error: () => undefined },
    });
    addStoredTokenRoute(app);
    const server = await listen(app);
    cleanups.push(() => server.close());
    return {
      app,
      url: server.url,
      auth,
      client,
      events: recordEvents(auth),
      async kill() {
        destroy(client);
        await server.close();
      },
    };
  }

  /** Signs in on `on`; returns the session cookie and the stored token. */
  async function signInOn(on: Instance): Promise<{ cookie: string; initial: NonNullable<StoredToken> & { expires_at: number; refresh_token: string } }> {
    const agent = request.agent(on.url);
    const done = await signIn(agent, fake, "/login/demo");
    expect(done.status, done.text).toBe(303);
    const sid = ([] as string[]).concat(done.headers["set-cookie"] ?? []).find((c) => c.startsWith("flet-auth.sid="));
    expect(sid, "session cookie after the callback").toBeDefined();
    const cookie = sid!.split(";")[0]!;
    const initial = (await request(on.url).get("/stored-token").set("Cookie", cookie).expect(200)).body as StoredToken;
    expect(initial?.expires_at).toBeTypeOf("number");
    expect(initial?.refresh_token).toBeTypeOf("string");
    return { cookie, initial: initial as NonNullable<StoredToken> & { expires_at: number; refresh_token: string } };
  }

  interface Answer {
    readonly status: number;
    readonly code: string | undefined;
    readonly message: string | undefined;
    readonly text: string;
    readonly ms: number;
  }

  async function get(on: Instance, path: string, cookie?: string): Promise<Answer> {
    const started = performance.now();
    const req = request(on.url).get(path);
    const res = await (cookie === undefined ? req : req.set("Cookie", cookie));
    const body = res.body as { code?: string; message?: string };
    return { status: res.status, code: body.code, message: body.message, text: res.text, ms: performance.now() - started };
  }

  const signedInOn = async (on: Instance, cookie: string): Promise<boolean> => {
    const me = await get(on, "/me", cookie);
    expect(me.status, me.text).toBe(200);
    return (JSON.parse(me.text) as { signedIn: boolean }).signedIn;
  };

  /** Times the fake provider was presented `refreshToken` (requests the gate let through). */
  const presented = (refreshToken: string): number => fake.requests.filter((r) => r.form.refresh_token === refreshToken).length;

  /** The single key of this test under `kind` (`lock`, `attempt`, `result`), or undefined. */
  async function lockKey(kind: "lock" | "attempt" | "result"): Promise<string | undefined> {
    const keys = await inspector.keys(`${prefix}refresh:${kind}:*`);
    expect(keys.length).toBeLessThanOrEqual(1);
    return keys[0];
  }

  /** Leader A starts a refresh that the provider holds; A's caller gets 503 at timeoutMs. */
  async function leaderHangs(a: Instance, cookie: string, initial: { refresh_token: string }) {
    const held = gate.holdNext();
    const first = await get(a, "/token", cookie);
    expect((await held.arrived).refresh_token).toBe(initial.refresh_token);
    expect(held.answered()).toBe(false);
    expect(first).toMatchObject({ status: 503, code: "refresh_failed" });
    const attempt = await lockKey("attempt");
    expect(attempt, "the leader marked its attempt").toBeDefined();
    expect(await lockKey("lock")).toBeDefined();
    return { held, attempt: attempt! };
  }

  /**
   * Sends `GET /token` on `on` until Redis has expired the leader's attempt mark (bounded),
   * checking that every answer while the mark lives is a retryable 503, the user stays signed in
   * and the provider sees nothing more. The mark's value (the leader's owner token) tells the
   * leader's mark from the one the next refresh sets under the same key: an answer that raced the
   * expiry may succeed, and then the leader's mark must already be gone.
   */
  async function whileMarkLives(
    on: Instance,
    cookie: string,
    attempt: string,
    providerSaw: () => number,
    expectedSeen: number,
  ): Promise<{ answers: Answer[]; success: Answer | undefined }> {
    const mark = await inspector.get(attempt);
    expect(mark).not.toBeNull();
    // When Redis expires the leader's mark (its PX), on this process's clock.
    const expiresAt = performance.now() + (await inspector.pTTL(attempt));
    const answers: Answer[] = [];
    const until = performance.now() + 20_000;
    while ((await inspector.get(attempt)) === mark) {
      expect(performance.now(), "the attempt mark never expired").toBeLessThan(until);
      const r = await get(on, "/token", cookie);
      if (r.status !== 503 && (await inspector.get(attempt)) !== mark) {
        // It raced the expiry: fine only if the leader's mark was due by then (not overwritten early).
        expect(performance.now(), `an answer other than 503 while the leader's attempt mark lived: ${r.text}`).toBeGreaterThanOrEqual(expiresAt - 100);
        return { answers, success: r };
      }
      answers.push(r);
      expect(r, r.text).toMatchObject({ status: 503, code: "refresh_failed" });
      expect(r.text).not.toMatch(RAW_ERROR);
      expect(providerSaw(), "the refresh token was presented again while the attempt mark lived").toBe(expectedSeen);
      expect(await signedInOn(on, cookie)).toBe(true);
    }
    return { answers, success: undefined };
  }

  describe("a leader instance killed mid-refresh", () => {
    const lock: RedisRefreshLockOptions = { lockMs: 800, graceMs: 800, failureMs: 100, pollMs: 20 };

    it("before the provider answered: the other instance answers 503 and keeps the user while the attempt mark lives; then one refresh, still signed in", async () => {
      const a = await instance({ lock });
      const b = await instance({ lock });
      const { cookie, initial } = await signInOn(a);
      clock.setBeforeExpiry(initial.expires_at, 30);
      const { attempt } = await leaderHangs(a, cookie, initial);
      // A dies: its refresh never completes (the held request is never let through).
      await a.kill();

      const { answers, success } = await whileMarkLives(b, cookie, attempt, () => presented(initial.refresh_token), 0);
      expect(answers.length).toBeGreaterThan(0);
      // After A's lock lapsed, B found the mark without an outcome and did not refresh.
      expect(answers.some((r) => /outcome is unknown/.test(r.message ?? ""))).toBe(true);

      // The mark expired: one instance tries the refresh token again (the provider never got it).
      const ok = success ?? await vi.waitFor(
        async () => {
          const r = await get(b, "/token", cookie);
          if (r.status !== 200) {
            expect(r).toMatchObject({ status: 503, code: "refresh_failed" });
            throw new Error(`still ${r.status}: ${r.text}`);
          }
          return r;
        },
        { timeout: 10_000, interval: 50 },
      );
      const refreshed = JSON.parse(ok.text) as { accessToken: string; refreshToken: string };
      expect(refreshed.accessToken).not.toBe(initial.access_token);
      expect(presented(initial.refresh_token)).toBe(1);
      expect(await signedInOn(b, cookie)).toBe(true);
      expect(b.events.logout).toEqual([]);
    });

    it("after the provider rotated the token (its result never stored): 503s while the mark lives, then one retry the provider refuses — the documented dead-leader case", async () => {
      const a = await instance({ lock });
      const b = await instance({ lock });
      const { cookie, initial } = await signInOn(a);
      clock.setBeforeExpiry(initial.expires_at, 30);
      const { held, attempt } = await leaderHangs(a, cookie, initial);
      // A loses Redis, then the provider answers A: it rotated the token, but A cannot store the result.
      destroy(a.client);
      const late = await held.release();
      expect(late.status).toBe(200);
      expect(presented(initial.refresh_token)).toBe(1);
      await a.kill();
      // A kept the lock (and the mark): B cannot take over until the lock lapses.
      expect(await inspector.exists(attempt)).toBe(1);

      const { success } = await whileMarkLives(b, cookie, attempt, () => presented(initial.refresh_token), 1);

      // The mark expired: B tries the rotated-out token once; the provider refuses it and, with
      // reuse detection, revokes the grant. That one sign-in ends (a logout event says so).
      const end = success ?? await vi.waitFor(
        async () => {
          const r = await get(b, "/token", cookie);
          if (r.status === 503) throw new Error(`still 503: ${r.text}`);
          return r;
        },
        { timeout: 10_000, interval: 50 },
      );
      expect(end.code).toBe("refresh_failed");
      expect(end.message).toMatch(/invalid_grant/);
      expect(presented(initial.refresh_token)).toBe(2);
      expect(await signedInOn(b, cookie)).toBe(false);
      expect(b.events.logout).toEqual([{ provider: "demo", reason: "refresh_failed" }]);
    });
  });

  describe("bounded wait", () => {
    it("while the leader's refresh hangs, a request on another instance answers within about timeoutMs, not waitMs", async () => {
      const timeoutMs = 400;
      const a = await instance({ timeoutMs });
      const b = await instance({ timeoutMs, lock: { waitMs: 20_000 } });
      const { cookie, initial } = await signInOn(a);
      clock.setBeforeExpiry(initial.expires_at, 30);
      const held = gate.holdNext();
      const valve = setTimeout(() => void held.release(), VALVE_MS);
      try {
        const onA = get(a, "/token", cookie);
        await held.arrived;
        const owner = await lockKey("lock");
        expect(owner, "A holds the lock").toBeDefined();
        const onB = await get(b, "/token", cookie);
        // B answered while A's refresh was still hanging and A still held the lock.
        expect(held.answered(), "B waited for the provider").toBe(false);
        expect(await inspector.exists(owner!)).toBe(1);
        expect(onB).toMatchObject({ status: 503, code: "refresh_failed" });
        expect(onB.message).toMatch(new RegExp(`longer than ${timeoutMs} ms`));
        expect(onB.ms).toBeLessThan(timeoutMs + 2000);
        expect((await onA).status).toBe(503);
        expect(presented(initial.refresh_token)).toBe(0);
        expect(await signedInOn(b, cookie)).toBe(true);
      } finally {
        clearTimeout(valve);
      }
      // The late answer still serves the next caller on either instance: no second refresh.
      const late = await held.release();
      const rotated = JSON.parse(late.body) as { access_token: string };
      const next = await vi.waitFor(
        async () => {
          const r = await get(b, "/token", cookie);
          if (r.status !== 200) throw new Error(`${r.status}: ${r.text}`);
          return r;
        },
        { timeout: 5000, interval: 50 },
      );
      expect((JSON.parse(next.text) as { accessToken: string }).accessToken).toBe(rotated.access_token);
      expect(presented(initial.refresh_token)).toBe(1);
    });
  });

  describe("Redis outage", () => {
    it("hung (SIGSTOP) then restarted on the same port: 503 within about storeTimeoutMs, no raw error, and recovery without restarting the app", async () => {
      const storeTimeoutMs = 300;
      const a = await instance({ storeTimeoutMs, commandTimeoutMs: 300 });
      const b = await instance({ storeTimeoutMs, commandTimeoutMs: 300 });
      const { cookie, initial } = await signInOn(a);
      for (const on of [a, b]) expect((await get(on, "/token", cookie)).status).toBe(200);

      // 1. Hung: connections stay open, commands go unanswered.
      redis.pause();
      const valve = setTimeout(() => redis.resume(), VALVE_MS);
      try {
        const hung = await Promise.all([get(a, "/me", cookie), get(b, "/me", cookie), get(a, "/token", cookie), get(b, "/token", cookie)]);
        expect(redis.paused(), "a request waited for Redis").toBe(true);
        for (const r of hung) {
          expect(r, r.text).toMatchObject({ status: 503, code: "session_unavailable" });
          expect(r.text).not.toMatch(RAW_ERROR);
          expect(r.ms).toBeLessThan(storeTimeoutMs + 2000);
        }
        // A visitor without a session never waits for Redis.
        const anonymous = await get(a, "/me");
        expect(anonymous.status).toBe(200);
        expect(redis.paused()).toBe(true);
      } finally {
        clearTimeout(valve);
        redis.resume();
      }
      // Back: the same connections answer again.
      await vi.waitFor(async () => expect(await signedInOn(a, cookie)).toBe(true), { timeout: 10_000, interval: 50 });
      expect(await signedInOn(b, cookie)).toBe(true);

      // 2. Down: a restart on the same port (the data survives: persistence on).
      await redis.stop();
      const down = await Promise.all([get(a, "/me", cookie), get(b, "/token", cookie)]);
      expect(redis.running()).toBe(false);
      for (const r of down) {
        expect(r, r.text).toMatchObject({ status: 503, code: "session_unavailable" });
        expect(r.text).not.toMatch(RAW_ERROR);
        expect(r.ms).toBeLessThan(storeTimeoutMs + 2000);
      }
      await redis.start();
      // The clients reconnect by themselves (node-redis backs off up to ~2 s between tries).
      for (const on of [a, b]) await vi.waitFor(async () => expect(await signedInOn(on, cookie)).toBe(true), { timeout: 15_000, interval: 100 });

      // Everything works again, a refresh through the lock included, and nobody was signed out.
      clock.setBeforeExpiry(initial.expires_at, 30);
      const refreshed = await get(b, "/token", cookie);
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(presented(initial.refresh_token)).toBe(1);
      expect((await get(a, "/token", cookie)).status).toBe(200);
      expect([...a.events.logout, ...b.events.logout]).toEqual([]);
    });

    it("only the lock's Redis hung: getToken() fails with the lock's own command deadline (refresh_failed 503), and refreshes once Redis answers", async () => {
      const lockRedis = await startControlledRedis(REDIS_BINARY!);
      cleanups.push(() => lockRedis.close());
      const lockClient = createClient({ url: lockRedis.url, disableOfflineQueue: true });
      lockClient.on("error", () => (clientErrors += 1));
      await lockClient.connect();
      cleanups.push(async () => destroy(lockClient));
      const a = await instance({ timeoutMs: 2000, commandTimeoutMs: 300, lockClient, lock: { failureMs: 100 } });
      const { cookie, initial } = await signInOn(a);
      clock.setBeforeExpiry(initial.expires_at, 30);

      lockRedis.pause();
      const valve = setTimeout(() => lockRedis.resume(), VALVE_MS);
      try {
        const r = await get(a, "/token", cookie);
        expect(lockRedis.paused(), "the request waited for the lock's Redis").toBe(true);
        // The lock's deadline (300 ms) answered, not the caller's (2000 ms).
        expect(r, r.text).toMatchObject({ status: 503, code: "refresh_failed", message: expect.stringMatching(/refresh lock's Redis/) });
        expect(r.text).not.toMatch(RAW_ERROR);
        expect(r.ms).toBeLessThan(2000);
        expect(presented(initial.refresh_token)).toBe(0);
        expect(await signedInOn(a, cookie)).toBe(true);
      } finally {
        clearTimeout(valve);
        lockRedis.resume();
      }
      const ok = await vi.waitFor(
        async () => {
          const r = await get(a, "/token", cookie);
          if (r.status !== 200) throw new Error(`${r.status}: ${r.text}`);
          return r;
        },
        { timeout: 10_000, interval: 50 },
      );
      expect((JSON.parse(ok.text) as { accessToken: string }).accessToken).not.toBe(initial.access_token);
      expect(presented(initial.refresh_token)).toBe(1);
    });
  });
});
