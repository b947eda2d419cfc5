/**
 * Issue 8, item 6: the Redis refresh lock when the leader refreshed but could not store the
 * result. Two app instances share sessions in a real Redis (connect-redis), the flet-auth store
 * (createRedisStore) and the refresh lock (createRedisRefreshLock); the leader's lock client
 * refuses every write of a `result:` key. The other instance, waiting for that refresh, must not
 * present the refresh token the leader rotated out. Plus createRedisRefreshLock's option checks,
 * which need no server.
 */
import { randomBytes } from "node:crypto";
import { RedisStore } from "connect-redis";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createRedisRefreshLock, createRedisStore, type RedisRefreshLockClient, type RedisRefreshLockOptions } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { memoryRedis, recordingClient, type RecordingClient } from "../helpers/redis-lock-clients.js";
import { findRedisServerOrWarn, useRedisServer, type RedisClient } from "../helpers/redis-server.js";
import { addStoredTokenRoute, listen, manualClock, recordEvents, useServerLifecycle, type ManualClock, type RecordedEvents, type StoredToken } from "../helpers/refresh-harness.js";
import { recordingLogger } from "../helpers/review-harness.js";
import { startTokenGate, type TokenGate } from "../helpers/token-gate.js";

const REDIS_BINARY = findRedisServerOrWarn("signout-rotation-redis", "the Redis refresh-lock regression of issue 8");

describe("createRedisRefreshLock rejects inconsistent options with a TypeError naming them", () => {
  it.each<[string, RedisRefreshLockOptions, readonly string[]]>([
    ["pollMs = waitMs", { pollMs: 500, waitMs: 500 }, ["options.pollMs", "options.waitMs"]],
    ["pollMs > waitMs", { pollMs: 1000, waitMs: 200 }, ["options.pollMs", "options.waitMs"]],
    ["pollMs = lockMs", { pollMs: 3000, lockMs: 3000 }, ["options.pollMs", "options.lockMs"]],
    ["pollMs > lockMs", { pollMs: 5000, lockMs: 3000, waitMs: 20_000 }, ["options.pollMs", "options.lockMs"]],
    ["commandTimeoutMs = lockMs", { commandTimeoutMs: 5000, lockMs: 5000 }, ["options.commandTimeoutMs", "options.lockMs"]],
    ["commandTimeoutMs (default 2000) > lockMs", { lockMs: 1500 }, ["options.commandTimeoutMs", "options.lockMs"]],
  ])("%s", (_what, options, named) => {
    let thrown: unknown;
    try {
      createRedisRefreshLock(memoryRedis(), options);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    for (const name of named) expect((thrown as TypeError).message).toContain(name);
  });

  it("control: consistent short settings are accepted", () => {
    expect(() => createRedisRefreshLock(memoryRedis(), { lockMs: 500, waitMs: 5000, pollMs: 20, commandTimeoutMs: 200 })).not.toThrow();
  });
});

/** Short lock settings: the leader's kept lock lapses long before the request deadline (10 s). */
const LOCK = { lockMs: 1000, waitMs: 8000, pollMs: 20, commandTimeoutMs: 500 } as const;

/** The client with every write of a `result:` key refused, as when Redis rejects that one SET. */
function resultWritesFail(client: RedisClient, refused: string[]): RedisRefreshLockClient {
  return {
    set: (key, value, options) => {
      if (!key.includes("result:")) return client.set(key, value, options);
      refused.push(key);
      return Promise.reject(new Error("OOM command not allowed"));
    },
    get: (key) => client.get(key),
    del: (key) => client.del(key),
    eval: (script, options) => client.eval(script, options),
  };
}

interface Instance {
  readonly url: string;
  readonly lock: RecordingClient;
  /** `result:` keys whose SET was refused. */
  readonly refused: readonly string[];
  readonly events: RecordedEvents;
}

describe.skipIf(REDIS_BINARY === undefined)("issue 8: a Redis refresh leader that cannot store its result", () => {
  const redis = useRedisServer(REDIS_BINARY, "signout-rotation-redis");
  const cleanups = useServerLifecycle();

  describe.each(EXPRESS)("$name", ({ create }) => {
    async function setup(): Promise<{ fake: FakeProvider; gate: TokenGate; clock: ManualClock; instance: (failResults: boolean) => Promise<Instance> }> {
      const fake = await startFakeProvider({ rotateRefreshTokens: true, refreshReuseRevokesGrant: true });
      cleanups.push(() => fake.close());
      const gate = await startTokenGate(fake);
      cleanups.push(() => gate.close());
      const clock = manualClock();
      const run = randomBytes(6).toString("hex");
      /** One "process": its own Redis client, the shared session store, flet-auth store and lock. */
      const instance = async (failResults: boolean): Promise<Instance> => {
        const client = await redis.client();
        const refused: string[] = [];
        const lock = recordingClient(failResults ? resultWritesFail(client, refused) : client);
        const { app, auth } = buildApp(create as ExpressFactory, {
          providers: { demo: standardProvider(fake, { tokenEndpoint: gate.tokenEndpoint }) },
          session: { store: new RedisStore({ client, prefix: `flet-auth-test:${run}:sess:` }) },
          store: createRedisStore(client, { prefix: `flet-auth-test:${run}:store:` }),
          refreshLock: createRedisRefreshLock(lock, { ...LOCK, prefix: `flet-auth-test:${run}:refresh:` }),
          clock: clock.fn,
          logger: recordingLogger(),
        });
        addStoredTokenRoute(app);
        const server = await listen(app);
        cleanups.push(() => server.close());
        return { url: server.url, lock, refused, events: recordEvents(auth) };
      };
      return { fake, gate, clock, instance };
    }

    it("the waiter on the other instance does not present the rotated-out refresh token: one refresh at the provider, 503 refresh_failed, still signed in", async () => {
      const { fake, gate, clock, instance } = await setup();
      const leader = await instance(true);
      const waiter = await instance(false);
      const agent = request.agent(leader.url);
      const done = await signIn(agent, fake, "/login/demo");
      expect(done.status, done.text).toBe(303);
      const sid = ([] as string[]).concat(done.headers["set-cookie"] ?? []).find((c) => c.startsWith("flet-auth.sid="));
      const cookie = sid!.split(";")[0]!;
      const initial = (await request(leader.url).get("/stored-token").set("Cookie", cookie).expect(200)).body as NonNullable<StoredToken>;
      clock.setBeforeExpiry(initial.expires_at!, 30);

      const held = gate.holdNext();
      const fromLeader = request(leader.url).get("/token").set("Cookie", cookie).then((r) => r);
      expect((await held.arrived).refresh_token, "the leader is refreshing").toBe(initial.refresh_token);
      const fromWaiter = request(waiter.url).get("/token").set("Cookie", cookie).then((r) => r);
      // Refused the lock twice: the waiter has read the old session and is polling for the outcome.
      await waiter.lock.whenRefused(2);
      expect((await held.release()).status, "the provider rotated the refresh token").toBe(200);

      const led = await fromLeader;
      expect(led.status, led.text).toBe(200);
      expect(led.body.accessToken).not.toBe(initial.access_token);
      expect(leader.refused, "the leader tried to store its result, and Redis refused").toHaveLength(1);

      const waited = await fromWaiter;
      expect(waited.status, waited.text).toBe(503);
      expect(waited.body.code).toBe("refresh_failed");
      expect(fake.count("/token", "refresh_token"), "the rotated-out refresh token never reached the provider again").toBe(1);
      expect([...leader.events.logout, ...waiter.events.logout]).toEqual([]);

      // Still signed in on both, with the leader's token (it stored it in the shared session).
      for (const on of [waiter, leader]) {
        const me = await request(on.url).get("/me").set("Cookie", cookie).expect(200);
        expect((me.body as { signedIn: boolean }).signedIn).toBe(true);
        const token = await request(on.url).get("/token").set("Cookie", cookie).expect(200);
        expect(token.body.accessToken).toBe(led.body.accessToken);
      }
      expect(fake.count("/token", "refresh_token")).toBe(1);
    });
  });
});
