/**
 * What a signed-in request shows (`req.auth`, `req.authorizations`) must belong to that request
 * alone, wherever the app reads it, whatever the app does with `res.locals`. These pin the cases
 * a cheaper place for the per-request view got wrong in review (a view kept in `res.locals`, read
 * by accessors on the app's request prototype), so that no later optimisation brings them back:
 *
 * - an app that gives every response the same `res.locals` object: two users' requests in flight
 *   at once each keep seeing their own sign-in;
 * - an app that replaces `res.locals` after flet-auth: the sign-in still shows;
 * - flet-auth mounted in a sub-app: the parent app's routes after the sub-app, and its error
 *   handler, still see the sign-in;
 * - an app's own assignment after flet-auth wins on that request only.
 *
 * A second cheaper place, accessors on the app's request prototype over a per-request view, got
 * these wrong in review as well (they fail with it; lib/signin/request-view.ts says why both are
 * own properties of the request):
 *
 * - an app mounted through a Router, or called as plain middleware (vhost): Express points the
 *   request at that app's prototype and never back, so the sign-in must still show inside it and
 *   in the parent's later routes and error handler;
 * - an app's `delete req.auth` signs the user out on that request;
 * - a copy of the request (`Object.create(req)`, a Proxy, a spread) shows the sign-in;
 * - a sub-app's routes before its own flet-auth still show the sign-in made by the parent's;
 * - an app mounted below another after its first request, listing and copying
 *   `req.authorizations`, and a sign-out later in the same request.
 */
import express5 from "express";
import express4 from "express4";
import type { Express, NextFunction, Request, Response, Router } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fletAuth } from "../../lib/index.js";
import { DEFAULT_USER } from "../helpers/fake-provider-core.js";
import { EXPRESS, SECRET, signIn, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

type Agent = ReturnType<typeof request.agent>;

const auth = (): ReturnType<typeof fletAuth> => fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake) } });
const shown = (req: Request): { user: string | null; providers: string[] } => ({ user: req.auth?.user?.id ?? null, providers: Object.keys(req.authorizations ?? {}) });

/** Signs `agent` in as the fake provider's user `id` through `loginPath`. */
async function signInAs(agent: Agent, id: string, loginPath = "/login/idp"): Promise<void> {
  fake.set({ user: { ...DEFAULT_USER, id } });
  const callback = await signIn(agent, fake, loginPath);
  expect(callback.status, callback.text).toBeLessThan(400);
}

/** A Router of the same Express major as `create`. */
const routerOf = (name: string): Router => (name === "express 4" ? (express4 as unknown as { Router: () => Router }).Router() : express5.Router());

describe.each(EXPRESS)("what a request shows of its sign-in ($name)", ({ name, create }) => {
  it("one res.locals object shared by every response: two users' requests in flight at once each see their own sign-in", async () => {
    const shared: Record<string, unknown> = { site: "example" };
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const app = create();
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.locals = shared;
      next();
    });
    app.use(auth());
    app.get("/me", (req: Request, res: Response) => res.json(shown(req)));
    // Reads its sign-in, waits until the other user's request has been answered, reads again.
    app.get("/slow", (req: Request, res: Response, next: NextFunction) => {
      const before = shown(req);
      entered();
      gate.then(() => res.json({ before, after: shown(req) }), next);
    });
    const alice = request.agent(app);
    const bob = request.agent(app);
    await signInAs(alice, "alice");
    await signInAs(bob, "bob");
    const slow = alice.get("/slow").then((r) => r);
    // Alice's request waits in its handler while Bob and a signed-out visitor are answered.
    await inHandler;
    expect((await bob.get("/me")).body).toEqual({ user: "bob", providers: ["idp"] });
    expect((await request(app).get("/me")).body, "a signed-out visitor in between").toEqual({ user: null, providers: [] });
    release();
    expect((await slow).body).toEqual({ before: { user: "alice", providers: ["idp"] }, after: { user: "alice", providers: ["idp"] } });
    expect(Object.keys(shared), "flet-auth adds nothing to the app's res.locals").toEqual(["site"]);
  });

  it("res.locals replaced after flet-auth: the sign-in still shows", async () => {
    const app = create();
    app.use(auth());
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.locals = { title: "replaced" };
      next();
    });
    app.get("/me", (req: Request, res: Response) => res.json({ ...shown(req), locals: res.locals }));
    const agent = request.agent(app);
    await signInAs(agent, "carol");
    expect((await agent.get("/me")).body).toEqual({ user: "carol", providers: ["idp"], locals: { title: "replaced" } });
  });

  it("flet-auth in a sub-app: the parent's routes after the sub-app, and its error handler, see the sign-in", async () => {
    const app: Express = create();
    const web: Express = create();
    web.use(auth());
    web.get("/inside", (req: Request, res: Response) => res.json(shown(req)));
    web.get("/fails", (_req: Request, _res: Response, next: NextFunction) => next(new Error("boom")));
    app.use(web);
    app.get("/after", (req: Request, res: Response) => res.json(shown(req)));
    app.use((_err: unknown, req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json(shown(req));
    });
    const agent = request.agent(app);
    await signInAs(agent, "dave");
    const want = { user: "dave", providers: ["idp"] };
    expect((await agent.get("/inside")).body).toEqual(want);
    expect((await agent.get("/after")).body).toEqual(want);
    const failed = await agent.get("/fails");
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(want);
  });

  it("an app's assignment after flet-auth wins on that request only", async () => {
    const app = create();
    app.use(auth());
    app.get("/me", (req: Request, res: Response) => res.json(shown(req)));
    app.get("/assign", (req: Request, res: Response) => {
      req.auth = undefined;
      (req as { authorizations: unknown }).authorizations = { mine: true };
      res.json({ auth: req.auth ?? null, authorizations: req.authorizations });
    });
    const agent = request.agent(app);
    await signInAs(agent, "erin");
    expect((await agent.get("/assign")).body).toEqual({ auth: null, authorizations: { mine: true } });
    expect((await agent.get("/me")).body).toEqual({ user: "erin", providers: ["idp"] });
  });

  it("an app mounted through a Router: its routes, the parent's later routes and its error handler see the sign-in", async () => {
    const app: Express = create();
    app.use(auth());
    const web: Express = create();
    web.get("/inside", (req: Request, res: Response) => res.json(shown(req)));
    web.get("/fails", (_req: Request, _res: Response, next: NextFunction) => next(new Error("boom")));
    const router = routerOf(name);
    router.use("/web", web);
    app.use(router);
    app.get("/web/after", (req: Request, res: Response) => res.json(shown(req)));
    app.use((_err: unknown, req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json(shown(req));
    });
    const agent = request.agent(app);
    await signInAs(agent, "judy");
    const want = { user: "judy", providers: ["idp"] };
    expect((await agent.get("/web/inside")).body).toEqual(want);
    expect((await agent.get("/web/after")).body).toEqual(want);
    const failed = await agent.get("/web/fails");
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(want);
  });

  it("an app called as plain middleware (vhost style): its routes and the parent's later routes see the sign-in", async () => {
    const app: Express = create();
    app.use(auth());
    const web: Express = create();
    web.get("/inside", (req: Request, res: Response) => res.json(shown(req)));
    app.use((req: Request, res: Response, next: NextFunction) => web(req, res, next));
    app.get("/after", (req: Request, res: Response) => res.json(shown(req)));
    const agent = request.agent(app);
    await signInAs(agent, "karl");
    const want = { user: "karl", providers: ["idp"] };
    expect((await agent.get("/inside")).body).toEqual(want);
    expect((await agent.get("/after")).body).toEqual(want);
  });

  it("an app's delete req.auth / req.authorizations signs the user out on that request only", async () => {
    const app = create();
    app.use(auth());
    app.use((req: Request, _res: Response, next: NextFunction) => {
      if (req.path === "/dropped") {
        delete req.auth;
        delete (req as { authorizations?: unknown }).authorizations;
      }
      next();
    });
    app.get(["/dropped", "/me"], (req: Request, res: Response) => res.json(shown(req)));
    const agent = request.agent(app);
    await signInAs(agent, "lena");
    expect((await agent.get("/dropped")).body).toEqual({ user: null, providers: [] });
    expect((await agent.get("/me")).body).toEqual({ user: "lena", providers: ["idp"] });
  });

  it("copies of the request (Object.create, a Proxy, a spread) show its sign-in", async () => {
    const app = create();
    app.use(auth());
    app.get("/copies", (req: Request, res: Response) => {
      res.json({ derived: shown(Object.create(req) as Request), proxy: shown(new Proxy(req, {})), spread: shown({ ...req } as Request) });
    });
    const agent = request.agent(app);
    await signInAs(agent, "mia");
    const want = { user: "mia", providers: ["idp"] };
    expect((await agent.get("/copies")).body).toEqual({ derived: want, proxy: want, spread: want });
  });

  it("flet-auth in the app and in a sub-app: the sub-app's routes before its own flet-auth see the app's sign-in", async () => {
    const app: Express = create();
    const instance = auth();
    app.use(instance);
    const web: Express = create();
    web.get("/early", (req: Request, res: Response) => res.json(shown(req)));
    web.use("/auth", instance);
    web.get("/auth/x", (req: Request, res: Response) => res.json(shown(req)));
    app.use("/web", web);
    const agent = request.agent(app);
    await signInAs(agent, "nora");
    const want = { user: "nora", providers: ["idp"] };
    expect((await agent.get("/web/auth/x")).body).toEqual(want);
    expect((await agent.get("/web/early")).body).toEqual(want);
    expect((await agent.get("/web/auth/x")).body).toEqual(want);
  });

  it("req.authorizations lists, copies and serialises its providers only", async () => {
    const app = create();
    app.use(auth());
    app.get("/list", (req: Request, res: Response) => {
      const copy = { ...req.authorizations };
      const listed: string[] = [];
      for (const k in req.authorizations) listed.push(k);
      res.json({
        keys: Object.keys(req.authorizations),
        listed,
        names: Object.getOwnPropertyNames(req.authorizations),
        copied: Reflect.ownKeys(copy).map(String),
        json: Object.keys(JSON.parse(JSON.stringify(req.authorizations)) as object),
        frozen: Object.isFrozen(req.authorizations),
      });
    });
    const agent = request.agent(app);
    await signInAs(agent, "grace");
    expect((await agent.get("/list")).body).toEqual({ keys: ["idp"], listed: ["idp"], names: ["idp"], copied: ["idp"], json: ["idp"], frozen: true });
  });

  it("an app mounted below another after its first request: the parent's later routes still see the sign-in", async () => {
    const web: Express = create();
    web.use(auth());
    web.get("/inside", (req: Request, res: Response) => res.json(shown(req)));
    // Its first request, while it is a root app of its own: flet-auth sets up its request prototype then.
    expect((await request(web).get("/inside")).body).toEqual({ user: null, providers: [] });
    const app: Express = create();
    app.use(web);
    app.get("/after", (req: Request, res: Response) => res.json(shown(req)));
    const agent = request.agent(app);
    await signInAs(agent, "heidi");
    const want = { user: "heidi", providers: ["idp"] };
    expect((await agent.get("/inside")).body).toEqual(want);
    expect((await agent.get("/after")).body).toEqual(want);
  });

  it("the app's assignment of the same sign-in, then a sign-out in the same request: req.auth follows the sign-out", async () => {
    const app = create();
    app.use(auth());
    app.get("/me", (req: Request, res: Response) => res.json(shown(req)));
    app.post("/out", (req: Request, res: Response, next: NextFunction) => {
      const before = shown(req);
      req.auth = req.authorizations["idp"];
      req.logout("idp").then(() => res.json({ before, after: shown(req) }), next);
    });
    const agent = request.agent(app);
    await signInAs(agent, "ivan");
    expect((await agent.post("/out")).body).toEqual({ before: { user: "ivan", providers: ["idp"] }, after: { user: null, providers: [] } });
    expect((await agent.get("/me")).body).toEqual({ user: null, providers: [] });
  });
});
