/**
 * What every request starts with — `req.login`, `req.logout`, `req.authorizations` (empty) and
 * `req.auth` (undefined) — wherever the app reads them: in its own routes, in a router, in a
 * sub-app mounted below it, with two fletAuth() instances, and not in an app without flet-auth.
 * The defaults live on Express's per-app request prototype (a store on every request object is
 * measurably slow, docs/performance.md), so these tests pin that the move changed nothing an app
 * can see.
 */
import type { Express, Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fletAuth } from "../../lib/index.js";
import { EXPRESS, SECRET, pathOf, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

/** What a handler sees of flet-auth's request surface. */
function surface(req: Request): Record<string, unknown> {
  return {
    login: typeof req.login,
    logout: typeof req.logout,
    authorizations: req.authorizations === undefined ? "undefined" : Object.keys(req.authorizations),
    auth: req.auth === undefined ? "undefined" : req.auth.provider,
  };
}

const SIGNED_OUT = { login: "function", logout: "function", authorizations: [], auth: "undefined" };

describe.each(EXPRESS)("request defaults ($name)", ({ create }) => {
  function world(): { app: Express; sub: Express } {
    const app = create();
    app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } }));
    app.get("/here", (req: Request, res: Response) => res.json(surface(req)));
    const sub = create();
    sub.get("/there", (req: Request, res: Response) => res.json(surface(req)));
    sub.get("/start", (req: Request, _res: Response, next) => {
      req.login("idp").catch(next);
    });
    app.use("/sub", sub);
    // Back in the app after the sub-app passed the request on.
    app.get("/sub/after", (req: Request, res: Response) => res.json(surface(req)));
    return { app, sub };
  }

  it("a signed-out request sees the defaults in the app, in a sub-app mounted below it, and after it", async () => {
    const { app } = world();
    for (const path of ["/here", "/sub/there", "/sub/after"]) {
      const res = await request(app).get(path);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toEqual(SIGNED_OUT);
    }
  });

  it("the defaults are not own properties of the request (one prototype per app, not a store per request)", async () => {
    const app = create();
    app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } }));
    app.get("/own", (req: Request, res: Response) => res.json(["login", "logout", "authorizations", "auth"].filter((k) => Object.hasOwn(req, k))));
    expect((await request(app).get("/own")).body).toEqual([]);
  });

  it("req.login works from a sub-app's route, and the sign-in is seen there and in the app", async () => {
    const { app } = world();
    const agent = request.agent(app);
    const start = await agent.get("/sub/start");
    expect(start.status, start.text).toBe(302);
    expect(start.headers["location"]).toMatch(new RegExp(`^${fake.url}/authorize\\?`));
    const callback = await fake.authorize(start.headers["location"] as string);
    expect((await agent.get(pathOf(callback))).status).toBeLessThan(400);
    expect((await agent.get("/here")).body).toMatchObject({ auth: "idp", authorizations: ["idp"] });
    expect((await agent.get("/sub/there")).body).toMatchObject({ auth: "idp", authorizations: ["idp"] });
  });

  it("an app without flet-auth in the same process sees none of it, also in its sub-apps", async () => {
    world(); // another app of this Express has flet-auth's defaults
    const plain = create();
    plain.get("/plain", (req: Request, res: Response) => res.json(surface(req)));
    const sub = create();
    sub.get("/x", (req: Request, res: Response) => res.json(surface(req)));
    plain.use("/sub", sub);
    const none = { login: "undefined", logout: "undefined", authorizations: "undefined", auth: "undefined" };
    expect((await request(plain).get("/plain")).body).toEqual(none);
    expect((await request(plain).get("/sub/x")).body).toEqual(none);
  });

  it("two fletAuth() instances on one app: the later one's req.login is the one a handler gets, signed out or in", async () => {
    const app = create();
    app.use(fletAuth({ secret: SECRET, providers: { first: standardProvider(fake) } }));
    app.use(fletAuth({ secret: SECRET, providers: { second: standardProvider(fake, { redirectUrl: "http://127.0.0.1/second_callback" }) } }));
    app.get("/start/:name", (req: Request, res: Response) => {
      req.login(req.params["name"] as string).catch((err: Error) => res.status(400).json({ message: err.message }));
    });
    app.get("/here", (req: Request, res: Response) => res.json(surface(req)));
    expect((await request(app).get("/here")).body).toEqual(SIGNED_OUT);
    const second = await request(app).get("/start/second");
    expect(second.status, second.text).toBe(302);
    const first = await request(app).get("/start/first");
    expect(first.status, "the first instance's provider is unknown to the later instance").toBe(400);
  });

  it("an app's own assignment wins over the defaults, on that request only", async () => {
    const app = create();
    app.use((req: Request, _res: Response, next) => {
      if (req.path === "/custom") (req as { authorizations: unknown }).authorizations = { custom: true };
      next();
    });
    app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } }));
    app.get(["/custom", "/plain"], (req: Request, res: Response) => res.json(surface(req)));
    // flet-auth resets what it owns on every request it sees (as it did with own properties),
    // also once its accessors are on the app's request prototype (the third request on).
    for (const path of ["/custom", "/plain", "/custom", "/custom"]) {
      expect((await request(app).get(path)).body, path).toEqual(SIGNED_OUT);
    }
  });
});
