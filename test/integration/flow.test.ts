import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { EXPRESS, buildApp, signIn, standardProvider } from "../helpers/apps.js";

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
});
