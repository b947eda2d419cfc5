/**
 * The app's own session keys across the sign-in regeneration (docs/configuration.md,
 * "Regeneration"): the session gets a new id on sign-in, and the app's keys — a cart, a flash
 * message — move to it, as do logins still pending in other tabs. Signing out of every provider
 * keeps nothing, not even the app's keys.
 */
import type { Express, Request, Response } from "express";
import session from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { SECURITY_SECRET, buildSecurityApp, cookieNamed, relative, sessionIdOf, startLogin, type Client } from "../helpers/security-helpers.js";

declare module "express-session" {
  interface SessionData {
    cart?: string[];
    flash?: string;
  }
}

/** The app's view of its own session keys. */
interface AppKeys {
  cart: string[] | null;
  flash: string | null;
}

/** Routes of a shop: put things in the cart, leave a flash message, show both. */
function shopRoutes(app: Express): void {
  app.post("/cart/:item", (req: Request, res: Response) => {
    req.session.cart = [...(req.session.cart ?? []), String(req.params["item"])];
    res.status(204).end();
  });
  app.post("/flash", (req: Request, res: Response) => {
    req.session.flash = "Added to cart";
    res.status(204).end();
  });
  app.get("/app-keys", (req: Request, res: Response) => {
    res.json({ cart: req.session.cart ?? null, flash: req.session.flash ?? null } satisfies AppKeys);
  });
}

const SESSIONS = [
  { name: "flet-auth's own session", cookie: "flet-auth.sid", before: undefined },
  {
    name: "the app's express-session",
    cookie: "shop.sid",
    before: (app: Express) => {
      app.use(session({ name: "shop.sid", secret: SECURITY_SECRET, resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
    },
  },
] as const;

describe.each(EXPRESS)("the app's session keys across sign-in ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  describe.each(SESSIONS)("with $name", ({ cookie, before }) => {
    function setup(options: Partial<FletAuthOptions> = {}) {
      const built = buildSecurityApp(
        create,
        { providers: { demo: standardProvider(fake) }, redirectToPage: false, ...options },
        { ...(before ? { before } : {}), after: shopRoutes },
      );
      return { ...built, agent: request.agent(built.app) };
    }

    const appKeys = async (agent: Client): Promise<AppKeys> => (await agent.get("/app-keys")).body as AppKeys;

    /** Fills the cart and leaves a flash message; returns the id of the session holding them. */
    async function fillCart(agent: Client): Promise<string> {
      const first = await agent.post("/cart/book");
      expect(first.status).toBe(204);
      const created = cookieNamed(first, cookie);
      expect(created, "the app's first write creates the session").toBeDefined();
      expect((await agent.post("/cart/pen")).status).toBe(204);
      expect((await agent.post("/flash")).status).toBe(204);
      return sessionIdOf(created?.value ?? "");
    }

    it("a cart and a flash message survive signing in, on a new session id", async () => {
      const { agent } = setup();
      const idBefore = await fillCart(agent);
      const started = await startLogin(agent, "/login/demo");
      const callback = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
      expect(callback.status).toBe(200);
      const renewed = cookieNamed(callback, cookie);
      expect(renewed, "the callback moves the browser to a new session").toBeDefined();
      expect(sessionIdOf(renewed?.value ?? "")).not.toBe(idBefore);

      expect((await agent.get("/me")).body.signedIn).toBe(true);
      expect(await appKeys(agent)).toEqual({ cart: ["book", "pen"], flash: "Added to cart" });
    });

    it("a login still pending in another tab survives another tab's sign-in", async () => {
      const { agent } = setup();
      await fillCart(agent);
      const firstTab = await startLogin(agent, "/login/demo");
      const secondTab = await startLogin(agent, "/login/demo");
      const firstCallback = relative(await fake.authorize(firstTab.authorizeUrl.toString()));
      const secondCallback = relative(await fake.authorize(secondTab.authorizeUrl.toString()));
      expect((await agent.get(secondCallback)).status).toBe(200);
      expect((await agent.get(firstCallback)).status).toBe(200);
      expect(await appKeys(agent)).toEqual({ cart: ["book", "pen"], flash: "Added to cart" });
    });

    it("signing out of every provider keeps nothing: the cart and the flash message are gone", async () => {
      const { agent } = setup();
      await fillCart(agent);
      const started = await startLogin(agent, "/login/demo");
      expect((await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())))).status).toBe(200);
      const out = await agent.post("/logout").set("Accept", "application/json");
      expect(out.status).toBe(200);
      expect((await agent.get("/me")).body.signedIn).toBe(false);
      expect(await appKeys(agent)).toEqual({ cart: null, flash: null });
    });
  });
});
