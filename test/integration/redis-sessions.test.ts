/**
 * Sessions in a real Redis (connect-redis) shared by two app instances, as two processes behind
 * a load balancer would run them (SPEC §5): one sign-in, seen by both; a refresh on one, seen by
 * the other; tokens encrypted at rest (checklist 26); logout on one, signed out on both.
 */
import { randomBytes } from "node:crypto";
import { RedisStore } from "connect-redis";
import type { Express } from "express";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FletAuthMiddleware } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { findRedisServerOrWarn, useRedisServer } from "../helpers/redis-server.js";
import { addStoredTokenRoute, manualClock, recordEvents, type ManualClock, type RecordedEvents, type StoredToken } from "../helpers/refresh-harness.js";

const REDIS_BINARY = findRedisServerOrWarn("redis-sessions", "the shared-session suite");

interface Instance {
  app: Express;
  auth: FletAuthMiddleware;
  events: RecordedEvents;
}

describe.skipIf(REDIS_BINARY === undefined)("sessions in Redis shared by two app instances", () => {
  const redis = useRedisServer(REDIS_BINARY, "redis-sessions");

  describe.each(EXPRESS)("$name", ({ create }) => {
    let fake: FakeProvider;
    let clock: ManualClock;
    let prefix: string;
    let a: Instance;
    let b: Instance;

    /** One "process": its own Redis client and store, its own fletAuth(), the same secret. */
    async function instance(factory: ExpressFactory): Promise<Instance> {
      const store = new RedisStore({ client: await redis.client(), prefix });
      const { app, auth } = buildApp(factory, { providers: { demo: standardProvider(fake) }, session: { store }, clock: clock.fn });
      addStoredTokenRoute(app);
      return { app, auth, events: recordEvents(auth) };
    }

    beforeEach(async () => {
      fake = await startFakeProvider();
      clock = manualClock();
      prefix = `flet-auth-test:${randomBytes(6).toString("hex")}:`;
      a = await instance(create);
      b = await instance(create);
    });

    afterEach(async () => {
      await fake.close();
    });

    /** Signs in on instance A; returns the session cookie (`name=value`). */
    async function signInOnA(): Promise<string> {
      const agent = request.agent(a.app);
      const done = await signIn(agent, fake, "/login/demo");
      expect(done.status, done.text).toBe(303);
      const setCookie = ([] as string[]).concat(done.headers["set-cookie"] ?? []);
      const sid = setCookie.find((c) => c.startsWith("flet-auth.sid="));
      expect(sid, "session cookie after the callback").toBeDefined();
      return sid!.split(";")[0]!;
    }

    const me = async (on: Instance, cookie: string) =>
      (await request(on.app).get("/me").set("Cookie", cookie).expect(200)).body as { signedIn: boolean; provider: string | null; user: { id: string; login?: string } | null };
    const stored = async (on: Instance, cookie: string) =>
      (await request(on.app).get("/stored-token").set("Cookie", cookie).expect(200)).body as StoredToken;

    /** Every value the store holds under this test's prefix. */
    async function storeValues(): Promise<string[]> {
      const keys = await redis.inspector.keys(`${prefix}*`);
      const values: string[] = [];
      for (const key of keys) {
        const value = await redis.inspector.get(key);
        if (value !== null) values.push(value);
      }
      return values;
    }

    it("a sign-in on instance A is seen by instance B with the same cookie", async () => {
      const cookie = await signInOnA();
      const onA = await me(a, cookie);
      const onB = await me(b, cookie);
      expect(onA).toMatchObject({ signedIn: true, provider: "demo", user: { id: "1001", login: "octocat" } });
      expect(onB).toEqual(onA);
      expect(await stored(b, cookie)).toEqual(await stored(a, cookie));
    });

    it("a refresh on instance B is visible on instance A (no second refresh)", async () => {
      const cookie = await signInOnA();
      const initial = await stored(a, cookie);
      expect(initial?.expires_at).toBeTypeOf("number");
      clock.setBeforeExpiry(initial!.expires_at!, 30);

      const onB = await request(b.app).get("/token").set("Cookie", cookie);
      expect(onB.status, onB.text).toBe(200);
      expect(onB.body.accessToken).not.toBe(initial!.access_token);
      expect(fake.count("/token", "refresh_token")).toBe(1);
      expect(b.events.refresh.length).toBe(1);

      const onA = await request(a.app).get("/token").set("Cookie", cookie);
      expect(onA.status, onA.text).toBe(200);
      expect(onA.body.accessToken).toBe(onB.body.accessToken);
      expect(onA.body.refreshToken).toBe(onB.body.refreshToken);
      expect(fake.count("/token", "refresh_token")).toBe(1);
      expect(a.events.refresh).toEqual([]);
    });

    it("stores tokens encrypted: neither the access nor the refresh token occurs in Redis", async () => {
      const cookie = await signInOnA();
      const initial = await stored(a, cookie);
      let values = await storeValues();
      expect(values.length).toBe(1);
      expect(values[0]).toContain("fletAuth");
      for (const secret of [initial!.access_token, initial!.refresh_token!]) {
        expect(secret.length).toBeGreaterThan(10);
        for (const v of values) expect(v).not.toContain(secret);
      }

      // Still true after a refresh written by the other instance.
      clock.setBeforeExpiry(initial!.expires_at!, 30);
      const refreshed = await request(b.app).get("/token").set("Cookie", cookie).expect(200);
      values = await storeValues();
      expect(values.length).toBe(1);
      for (const secret of [refreshed.body.accessToken as string, refreshed.body.refreshToken as string]) {
        for (const v of values) expect(v).not.toContain(secret);
      }
    });

    it("logout on instance A signs the browser out on instance B", async () => {
      const cookie = await signInOnA();
      expect((await me(b, cookie)).signedIn).toBe(true);
      const out = await request(a.app).post("/logout").set("Cookie", cookie).set("Accept", "application/json");
      expect(out.status, out.text).toBe(200);
      expect(out.body).toEqual({ signedIn: false });
      expect(a.events.logout).toEqual([{ provider: "demo", reason: "logout" }]);

      expect(await me(b, cookie)).toMatchObject({ signedIn: false, user: null });
      expect((await request(b.app).get("/token").set("Cookie", cookie)).status).toBe(401);
      // Nothing signed-in is left in the store.
      for (const v of await storeValues()) expect(v).not.toContain('"auths":{"demo"');
    });
  });
});
