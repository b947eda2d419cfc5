/**
 * Single-flight refresh across processes (SPEC §3): two app instances share sessions in a real
 * Redis (connect-redis) and a provider that rotates refresh tokens and revokes the grant on reuse.
 * With createRedisRefreshLock, 20 concurrent getToken() calls split across both instances make
 * exactly one refresh; with the default in-process lock (the control) each instance refreshes and
 * the second one signs the user out. The shared result is sealed: Redis never holds a plaintext token.
 */
import { randomBytes } from "node:crypto";
import { RedisStore } from "connect-redis";
import type { Express } from "express";
import request from "supertest";
import { beforeEach, describe, expect, it } from "vitest";
import { createRedisRefreshLock } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory, type TestAuthOptions } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { findRedisServerOrWarn, useRedisServer } from "../helpers/redis-server.js";
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

const REDIS_BINARY = findRedisServerOrWarn("redis-refresh", "the distributed refresh suite");

interface Instance {
  app: Express;
  url: string;
  events: RecordedEvents;
}

/** Long enough that both instances' refreshes overlap at the provider when nothing coordinates them. */
const TOKEN_DELAY_MS = 300;
const CONTROL_TOKEN_DELAY_MS = 1000;
const CONCURRENT = 20;

describe.skipIf(REDIS_BINARY === undefined)("refresh across two app instances sharing Redis", () => {
  const redis = useRedisServer(REDIS_BINARY, "redis-refresh");
  const cleanups = useServerLifecycle();

  describe.each(EXPRESS)("$name", ({ create }) => {
    let fake: FakeProvider;
    let clock: ManualClock;
    let sessionPrefix: string;
    let lockPrefix: string;

    beforeEach(async () => {
      fake = await startFakeProvider({ rotateRefreshTokens: true, refreshReuseRevokesGrant: true, tokenDelayMs: TOKEN_DELAY_MS });
      cleanups.push(() => fake.close());
      clock = manualClock();
      const run = randomBytes(6).toString("hex");
      sessionPrefix = `flet-auth-test:${run}:sess:`;
      lockPrefix = `flet-auth-test:${run}:refresh:`;
    });

    /** One "process": its own Redis client, store, fletAuth() (same secret) and refresh lock. */
    async function instance(factory: ExpressFactory, lock: "redis" | "in-process"): Promise<Instance> {
      const client = await redis.client();
      const options: TestAuthOptions = {
        providers: { demo: standardProvider(fake) },
        session: { store: new RedisStore({ client, prefix: sessionPrefix }) },
        clock: clock.fn,
        ...(lock === "redis" ? { refreshLock: createRedisRefreshLock(client, { prefix: lockPrefix }) } : {}),
      };
      const { app, auth } = buildApp(factory, options);
      addStoredTokenRoute(app);
      const server = await listen(app);
      cleanups.push(() => server.close());
      return { app, url: server.url, events: recordEvents(auth) };
    }

    /** Signs in on `on`; returns the session cookie (`name=value`) and the stored token. */
    async function signInOn(on: Instance): Promise<{ cookie: string; initial: NonNullable<StoredToken> }> {
      const agent = request.agent(on.app);
      const done = await signIn(agent, fake, "/login/demo");
      expect(done.status, done.text).toBe(303);
      const sid = ([] as string[]).concat(done.headers["set-cookie"] ?? []).find((c) => c.startsWith("flet-auth.sid="));
      expect(sid, "session cookie after the callback").toBeDefined();
      const cookie = sid!.split(";")[0]!;
      const initial = (await request(on.app).get("/stored-token").set("Cookie", cookie).expect(200)).body as StoredToken;
      expect(initial?.expires_at).toBeTypeOf("number");
      expect(initial?.refresh_token).toBeTypeOf("string");
      return { cookie, initial: initial! };
    }

    /** `CONCURRENT` GET /token at once, alternating between the instances. */
    async function tokensAcross(instances: readonly Instance[], cookie: string) {
      const responses = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) => request(instances[i % instances.length]!.url).get("/token").set("Cookie", cookie)),
      );
      return responses.map((r) => ({ status: r.status, body: r.body as { accessToken?: string; refreshToken?: string | null; code?: string } }));
    }

    const signedIn = async (on: Instance, cookie: string): Promise<boolean> =>
      ((await request(on.url).get("/me").set("Cookie", cookie).expect(200)).body as { signedIn: boolean }).signedIn;

    /** Every string value Redis holds under this test's prefixes (sessions and refresh lock). */
    async function redisValues(pattern: string): Promise<string[]> {
      const values: string[] = [];
      for (const key of await redis.inspector.keys(pattern)) {
        const value = await redis.inspector.get(key);
        if (value !== null) values.push(value);
      }
      return values;
    }

    it("with createRedisRefreshLock: 20 concurrent getToken() across A and B make exactly one refresh", async () => {
      const a = await instance(create, "redis");
      const b = await instance(create, "redis");
      const { cookie, initial } = await signInOn(a);
      clock.setBeforeExpiry(initial.expires_at!, 30);

      const outcomes = await tokensAcross([a, b], cookie);
      expect(fake.count("/token", "refresh_token")).toBe(1);
      for (const o of outcomes) expect(o.status, JSON.stringify(o.body)).toBe(200);
      const accessTokens = new Set(outcomes.map((o) => o.body.accessToken));
      expect(accessTokens.size).toBe(1);
      const [refreshed] = accessTokens;
      expect(refreshed).not.toBe(initial.access_token);
      // One refresh, one event: only the instance that reached the token endpoint announces it.
      expect(a.events.refresh.length + b.events.refresh.length).toBe(1);
      expect([...a.events.logout, ...b.events.logout]).toEqual([]);

      // Still signed in on both, with the new token, and nothing refreshes again.
      expect(await signedIn(a, cookie)).toBe(true);
      expect(await signedIn(b, cookie)).toBe(true);
      for (const on of [a, b]) {
        const again = await request(on.url).get("/token").set("Cookie", cookie).expect(200);
        expect(again.body.accessToken).toBe(refreshed);
      }
      expect(fake.count("/token", "refresh_token")).toBe(1);

      // The shared result exists, sealed: no access or refresh token, old or new, in plaintext.
      // (Besides it, only the attempt mark, which holds the leader's random owner token.)
      const lockValues = await redisValues(`${lockPrefix}*`);
      expect(lockValues.filter((v) => v.startsWith("ok:")).length).toBe(1);
      expect((await redis.inspector.keys(`${lockPrefix}*`)).sort().map((k) => k.slice(lockPrefix.length).split(":")[0])).toEqual(["attempt", "result"]);
      const secrets = [initial.access_token, initial.refresh_token!, refreshed!, outcomes[0]!.body.refreshToken!];
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThan(10);
        for (const v of [...lockValues, ...(await redisValues(`${sessionPrefix}*`))]) expect(v).not.toContain(secret);
      }
      for (const key of await redis.inspector.keys(`${lockPrefix}*`)) for (const secret of secrets) expect(key).not.toContain(secret);
    });

    it("control, default in-process lock: each instance refreshes and the reuse signs the user out", async () => {
      const a = await instance(create, "in-process");
      const b = await instance(create, "in-process");
      const { cookie, initial } = await signInOn(a);
      clock.setBeforeExpiry(initial.expires_at!, 30);
      // Deterministic overlap even on a loaded machine: every request has read the session (old
      // tokens) long before the first refresh answers.
      fake.set({ tokenDelayMs: CONTROL_TOKEN_DELAY_MS });

      const outcomes = await tokensAcross([a, b], cookie);
      // One refresh per instance: the second presents the rotated-out refresh token.
      expect(fake.count("/token", "refresh_token")).toBe(2);
      const failed = outcomes.filter((o) => o.status !== 200);
      expect(failed.length).toBeGreaterThanOrEqual(1);
      for (const o of failed) expect(o.body.code).toBe("refresh_failed");
      expect([...a.events.logout, ...b.events.logout]).toEqual([{ provider: "demo", reason: "refresh_failed" }]);
      expect(await redis.inspector.keys(`${lockPrefix}*`)).toEqual([]);
    });
  });
});
