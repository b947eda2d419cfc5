import session from "express-session";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fletAuth } from "../../lib/index.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { EXPRESS, SECRET, buildApp, signIn, standardProvider } from "../helpers/apps.js";

describe.each(EXPRESS)("login flow ($name)", ({ create }) => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  it("signs in through the provider and exposes req.auth", async () => {
    const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake) } });
    const events: unknown[] = [];
    auth.on("login", (e) => void events.push({ error: e.error, provider: e.provider, id: e.auth?.user?.id }));
    const agent = request.agent(app);
    const done = await signIn(agent, fake, "/login/demo?returnTo=/me");
    expect(done.status).toBe(303);
    expect(done.headers["location"]).toBe("/me");
    const me = await agent.get("/me");
    expect(me.body).toMatchObject({ signedIn: true, provider: "demo", user: { id: "1001" } });
    expect(events).toEqual([{ error: undefined, provider: "demo", id: "1001" }]);
    const token = await agent.get("/token");
    expect(token.status).toBe(200);
    expect(typeof token.body.accessToken).toBe("string");
  });

  it("on the app's own session: options.secret still seals the tokens (no plaintext token in the store, no warning)", async () => {
    const store = new session.MemoryStore();
    const logger = { warn: vi.fn(), error: vi.fn() };
    const app = create();
    app.use(session({ secret: "app-own-session-secret-0123456789", resave: false, saveUninitialized: false, store }));
    const auth = fletAuth({ providers: { demo: standardProvider(fake) }, logger, secret: SECRET });
    app.use(auth);
    app.get("/me", (req, res) => res.json({ user: req.auth?.user?.id ?? null, token: req.auth?.token.accessToken ?? null }));
    expect(logger.warn).not.toHaveBeenCalled();
    // The Host of standardProvider's redirectUrl: a login on another origin would rightly warn.
    const agent = request.agent(app).set("Host", "127.0.0.1");
    await signIn(agent, fake, "/login/demo");
    const me = await agent.get("/me");
    expect(me.body.user).toBe("1001");
    const stored = JSON.stringify((store as unknown as { sessions: Record<string, string> }).sessions);
    expect(stored).not.toContain(me.body.token as string);
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.error).not.toHaveBeenCalled();
  });
});
