/**
 * What the sign-in regeneration (lib/session/session.ts, regenerateSession) carries to the new
 * session id: the app's own keys, but not express-session's cookie — the new session's cookie is
 * a fresh one from the session's cookie options, whatever the app did to the old session's
 * cookie (here: a per-session maxAge, express-session's "remember me" idiom).
 */
import type { Express, Request, Response } from "express";
import session from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { SECURITY_SECRET, buildSecurityApp, cookieNamed, relative, sessionIdOf, startLogin } from "../helpers/security-helpers.js";

declare module "express-session" {
  interface SessionData {
    basket?: string[];
    persistent?: boolean;
  }
}

const HOUR = 3_600_000;

/** An app that keeps a basket and lets the visitor ask for a persistent session cookie. */
function basketRoutes(app: Express): void {
  app.post("/basket/:item", (req: Request, res: Response) => {
    req.session.basket = [...(req.session.basket ?? []), String(req.params["item"])];
    res.status(204).end();
  });
  app.post("/keep-me", (req: Request, res: Response) => {
    req.session.cookie.maxAge = HOUR;
    req.session.persistent = true;
    res.status(204).end();
  });
  app.get("/session-state", (req: Request, res: Response) => {
    res.json({ basket: req.session.basket ?? null, persistent: req.session.persistent ?? null, originalMaxAge: req.session.cookie.originalMaxAge ?? null });
  });
}

const SESSIONS = [
  { name: "flet-auth's own session", cookie: "flet-auth.sid", before: undefined },
  {
    name: "the app's express-session",
    cookie: "basket.sid",
    before: (app: Express) => {
      app.use(session({ name: "basket.sid", secret: SECURITY_SECRET, resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
    },
  },
] as const;

describe.each(EXPRESS)("the session cookie across sign-in ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  it.each(SESSIONS)("with $name: the new session gets a fresh cookie, the app's keys move to it", async ({ cookie, before }) => {
    const { app } = buildSecurityApp(
      create,
      { providers: { demo: standardProvider(fake) }, redirectToPage: false },
      { ...(before ? { before } : {}), after: basketRoutes },
    );
    const agent = request.agent(app);

    const filled = await agent.post("/basket/book");
    expect(filled.status).toBe(204);
    const idBefore = sessionIdOf(cookieNamed(filled, cookie)?.value ?? "");
    const kept = await agent.post("/keep-me");
    expect(kept.status).toBe(204);
    expect(cookieNamed(kept, cookie)?.attributes.has("expires"), "the old session's cookie persists for an hour").toBe(true);
    // express-session derives originalMaxAge from `expires - Date.now()`: a millisecond tick in
    // between reads HOUR - 1, hence "close to".
    expect((await agent.get("/session-state")).body).toEqual({ basket: ["book"], persistent: true, originalMaxAge: expect.closeTo(HOUR, -2) });

    const started = await startLogin(agent, "/login/demo");
    const callback = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
    expect(callback.status).toBe(200);
    const renewed = cookieNamed(callback, cookie);
    expect(renewed, "the callback moves the browser to a new session").toBeDefined();
    expect(sessionIdOf(renewed?.value ?? "")).not.toBe(idBefore);
    // The session's cookie options have no maxAge: the new session's cookie is a browser-session cookie.
    expect(renewed?.attributes.has("expires")).toBe(false);
    expect(renewed?.attributes.has("max-age")).toBe(false);
    expect(renewed?.attributes.get("path")).toBe("/");
    expect(renewed?.attributes.has("httponly")).toBe(true);

    expect((await agent.get("/me")).body.signedIn).toBe(true);
    expect((await agent.get("/session-state")).body).toEqual({ basket: ["book"], persistent: true, originalMaxAge: null });
  });
});
