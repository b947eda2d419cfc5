/**
 * lib/middleware.ts: when a request for the app's own routes costs no promise. With a session
 * store that answers synchronously, the whole middleware runs inside its own call; this suite
 * records whether `next` was called before the middleware returned:
 *
 * - a signed-in request that only reads, its records in flet-auth's in-memory store: at once;
 * - a session with flet-auth data but no sign-in (a login started, not finished): at once;
 * - a store whose `getMany` throws instead of rejecting: the error reaches Express's error
 *   handling, the app's route does not run, and the next request, once the store works, is
 *   signed in.
 */
import type { NextFunction, Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, fletAuth, type FletAuthStore } from "../../lib/index.js";
import { EXPRESS, SECRET, signIn, standardProvider, type ExpressFactory, type TestAuthOptions } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { JsonSessionStore } from "../helpers/record-stores.js";
import { findSetCookie } from "../helpers/remember-cookies.js";

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

/** An app whose flet-auth records, for each request to `/page`, whether it called `next` before returning. */
function appWithProbe(create: ExpressFactory, options: Omit<TestAuthOptions, "session" | "secret">) {
  const app = create();
  const auth = fletAuth({ secret: SECRET, session: { store: new JsonSessionStore({ sync: true }) }, ...options });
  const atOnce: boolean[] = [];
  let routeRuns = 0;
  app.use((req: Request, res: Response, next: NextFunction) => {
    let returned = false;
    auth(req, res, (err?: unknown) => {
      if (req.path === "/page") atOnce.push(!returned);
      next(err);
    });
    returned = true;
  });
  app.get("/page", (req: Request, res: Response) => {
    routeRuns += 1;
    res.json({ signedIn: req.auth !== undefined });
  });
  app.use((err: { status?: number; message: string }, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    res.status(err.status ?? 500).json({ message: err.message });
  });
  return { app, atOnce, routes: () => routeRuns };
}

describe.each(EXPRESS)("a request for the app's route ($name)", ({ create }) => {
  it("signed in, only reading, with the in-memory store: the route is called at once, no promise on the way", async () => {
    // Given as `store`: with a session store other than express-session's MemoryStore, records
    // would otherwise live in the session itself.
    const { app, atOnce } = appWithProbe(create, { providers: { idp: standardProvider(fake) }, store: createMemoryStore() });
    const agent = request.agent(app);
    expect((await signIn(agent, fake, "/login/idp")).status).toBeLessThan(400);
    for (let i = 0; i < 3; i++) expect((await agent.get("/page")).body).toEqual({ signedIn: true });
    // The first read learns the sign-in's keys; from then on it is read synchronously.
    expect(atOnce.slice(1)).toEqual([true, true]);
  });

  it("signed in with a remember-me cookie too: the route is called at once (nothing to restore while signed in)", async () => {
    const { app, atOnce } = appWithProbe(create, { providers: { idp: standardProvider(fake) }, store: createMemoryStore(), rememberMe: { secretKey: "sync-dispatch-remember-key-0123456789ab" } });
    const agent = request.agent(app);
    const done = await signIn(agent, fake, "/login/idp?remember=1");
    expect(done.status).toBeLessThan(400);
    expect(findSetCookie(done, "flet-auth.remember"), "the callback set the remember-me cookie the agent sends from now on").toBeDefined();
    for (let i = 0; i < 3; i++) expect((await agent.get("/page")).body).toEqual({ signedIn: true });
    expect(atOnce.slice(1)).toEqual([true, true]);
  });

  it("a login started, not finished (flet-auth data, no sign-in): the route is called at once", async () => {
    const { app, atOnce } = appWithProbe(create, { providers: { idp: standardProvider(fake) } });
    const agent = request.agent(app);
    expect((await agent.get("/login/idp")).status).toBe(302);
    expect((await agent.get("/page")).body).toEqual({ signedIn: false });
    expect(atOnce).toEqual([true]);
  });

  it("a store whose getMany throws (rather than rejecting): Express's error handling, no route, and the next request signed in", async () => {
    const inner = createMemoryStore();
    let broken = false;
    const store: FletAuthStore = {
      getMany: (keys) => {
        if (broken) throw new Error("store exploded synchronously");
        return inner.getMany(keys);
      },
      set: (...a) => inner.set(...a),
      swap: (...a) => inner.swap(...a),
      delete: (k) => inner.delete(k),
    };
    const { app, routes } = appWithProbe(create, { providers: { idp: standardProvider(fake) }, store });
    const agent = request.agent(app);
    expect((await signIn(agent, fake, "/login/idp")).status).toBeLessThan(400);
    for (let i = 0; i < 2; i++) expect((await agent.get("/page")).body).toEqual({ signedIn: true });
    const before = routes();
    broken = true;
    const failed = await agent.get("/page");
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ message: "store exploded synchronously" });
    expect(routes(), "the app's route did not run").toBe(before);
    broken = false;
    expect((await agent.get("/page")).body, "nothing was lost").toEqual({ signedIn: true });
  });
});
