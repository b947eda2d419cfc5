/**
 * Where a signed-in request keeps `req.auth` and `req.authorizations` (lib/signin/request-view.ts):
 * in a view under a symbol in Express's `res.locals`, read by accessors on the app's request
 * prototype, so a sign-in adds no property to the request object. What an app can see must not
 * change with it:
 *
 * - a signed-in request shows its sign-in, and neither the request nor `res.locals` lists
 *   anything new (`Object.keys`, `for...in`, JSON);
 * - an app that replaced `res.locals` before flet-auth, or set it to a non-object, still sees the
 *   sign-in;
 * - an app's own assignment to `req.auth` / `req.authorizations` after flet-auth wins on that
 *   request, and the next request shows flet-auth's view again.
 */
import type { Express, NextFunction, Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fletAuth } from "../../lib/index.js";
import { EXPRESS, SECRET, signIn, standardProvider, type ExpressFactory } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());

/** What a handler sees: the sign-in, and what the request and `res.locals` list. */
function seen(req: Request, res: Response): Record<string, unknown> {
  const listed: string[] = [];
  for (const key in req) if (key === "auth" || key === "authorizations") listed.push(key);
  return {
    auth: req.auth?.provider ?? null,
    user: req.auth?.user?.id ?? null,
    providers: Object.keys(req.authorizations),
    ownOnRequest: ["auth", "authorizations"].filter((k) => Object.hasOwn(req, k)),
    listedOnRequest: listed,
    locals: typeof res.locals === "object" && res.locals !== null ? Object.keys(res.locals) : String(res.locals),
    localsJson: JSON.stringify(res.locals ?? null),
  };
}

/** An app with `before` (a middleware ahead of flet-auth, if any) and `GET /seen`, signed in once. */
async function signedIn(create: ExpressFactory, before?: (req: Request, res: Response, next: NextFunction) => void): Promise<{ app: Express; agent: ReturnType<typeof request.agent> }> {
  const app = create();
  if (before) app.use(before);
  app.use(fletAuth({ secret: SECRET, providers: { idp: standardProvider(fake, { redirectUrl: "http://127.0.0.1/oauth_callback" }) } }));
  app.get("/seen", (req: Request, res: Response) => res.json(seen(req, res)));
  app.get("/assign", (req: Request, res: Response) => {
    req.auth = undefined;
    (req as { authorizations: unknown }).authorizations = { mine: true };
    res.json({ auth: req.auth ?? null, authorizations: req.authorizations, own: ["auth", "authorizations"].filter((k) => Object.hasOwn(req, k)) });
  });
  const agent = request.agent(app);
  const callback = await signIn(agent, fake, "/login/idp");
  expect(callback.status, callback.text).toBeLessThan(400);
  return { app, agent };
}

describe.each(EXPRESS)("request view ($name)", ({ create }) => {
  it("a signed-in request shows its sign-in, and adds nothing the request or res.locals lists", async () => {
    const { agent } = await signedIn(create);
    for (let i = 1; i <= 2; i++) {
      const res = await agent.get("/seen");
      expect(res.status, `request ${i}`).toBe(200);
      expect(res.body, `request ${i}`).toEqual({ auth: "idp", user: expect.any(String), providers: ["idp"], ownOnRequest: [], listedOnRequest: [], locals: [], localsJson: "{}" });
    }
  });

  it("res.locals replaced before flet-auth (an object of the app's, or a non-object): the sign-in still shows", async () => {
    for (const replacement of [() => ({ title: "app" }), () => null, () => "text"]) {
      const { agent } = await signedIn(create, (_req, res, next) => {
        (res as { locals: unknown }).locals = replacement();
        next();
      });
      const res = await agent.get("/seen");
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ auth: "idp", providers: ["idp"], ownOnRequest: [] });
      if (typeof replacement() === "object" && replacement() !== null) expect(res.body).toMatchObject({ locals: ["title"], localsJson: '{"title":"app"}' });
    }
  });

  it("an app's assignment after flet-auth wins on that request only", async () => {
    const { agent } = await signedIn(create);
    const assigned = await agent.get("/assign");
    expect(assigned.body).toEqual({ auth: null, authorizations: { mine: true }, own: ["auth", "authorizations"] });
    expect((await agent.get("/seen")).body).toMatchObject({ auth: "idp", providers: ["idp"], ownOnRequest: [] });
  });
});
