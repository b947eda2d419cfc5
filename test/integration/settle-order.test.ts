/**
 * With flet-auth's default in-memory store a signed-in request that only reads settles without a
 * promise and goes on to the app's route in the session load's own callback (lib/middleware.ts,
 * lib/signin/stored.ts `loadSignInsNow`). These pin that the app sees nothing different from a
 * store that reads asynchronously (every other store):
 *
 * - a `logout` listener's code after an `await` runs before the route (it may use `res`);
 * - a store that wraps the memory store through its prototype still sees every read.
 */
import type { Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, type FletAuthStore } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { manualClock } from "../helpers/refresh-harness.js";

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

const HOUR_MS = 3_600_000;

/** The default store; or the memory store behind an asynchronous wrapper, as any other store reads. */
const STORES = [
  { name: "the default in-memory store", store: (): FletAuthStore | undefined => undefined },
  {
    name: "a store that reads asynchronously",
    store: (): FletAuthStore => {
      const inner = createMemoryStore();
      return { getMany: (k) => inner.getMany(k), set: (...a) => inner.set(...a), swap: (...a) => inner.swap(...a), delete: (k) => inner.delete(k) };
    },
  },
];

describe.each(EXPRESS)("a signed-in request before the app's route ($name)", ({ create }) => {
  it.each(STORES)("an idle sign-out's async listener runs before the route ($name)", async ({ store }) => {
    const clock = manualClock();
    const given = store();
    const { app, auth } = buildApp(create, { providers: { idp: standardProvider(fake) }, clock: clock.fn, idleTimeoutMs: 2 * HOUR_MS, ...(given ? { store: given } : {}) });
    const order: string[] = [];
    auth.on("logout", async (e) => {
      await null;
      order.push(`listener:${e.reason}`);
      e.res?.setHeader("x-signed-out", e.reason);
    });
    app.get("/page", (req: Request, res: Response) => {
      order.push(`route:${req.auth === undefined ? "signed out" : "signed in"}`);
      res.json({ ok: true });
    });
    const agent = request.agent(app);
    expect((await signIn(agent, fake, "/login/idp")).status).toBeLessThan(400);
    // Warm: the sign-in's keys and record are cached, as on every later request.
    for (let i = 0; i < 2; i++) expect((await agent.get("/page")).status).toBe(200);
    clock.advanceSeconds(3 * 3600);
    const res = await agent.get("/page");
    expect(order.slice(-2)).toEqual(["listener:idle_timeout", "route:signed out"]);
    expect(res.headers["x-signed-out"], "the listener could still set a header").toBe("idle_timeout");
  });

  it("a store made with Object.create(memoryStore) and its own getMany sees every read", async () => {
    const base = createMemoryStore();
    let reads = 0;
    const store = Object.create(base, {
      getMany: { value: (keys: readonly string[]) => ((reads += 1), base.getMany(keys)) },
    }) as FletAuthStore;
    const { app } = buildApp(create, { providers: { idp: standardProvider(fake) }, store });
    const agent = request.agent(app);
    expect((await signIn(agent, fake, "/login/idp")).status).toBeLessThan(400);
    for (let i = 0; i < 2; i++) expect((await agent.get("/me")).body).toMatchObject({ signedIn: true });
    const before = reads;
    expect((await agent.get("/me")).body).toMatchObject({ signedIn: true });
    expect(reads - before, "a warm signed-in request reads its sign-in once, through the wrapper").toBe(1);
  });
});
