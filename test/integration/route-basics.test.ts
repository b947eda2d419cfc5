/**
 * Small promises of the built-in routes (lib/routes/): their answers are uncacheable and
 * unsniffable (`Pragma: no-cache` for HTTP/1.0 caches, `X-Content-Type-Options: nosniff`); the
 * popup helper is JavaScript that browsers must not sniff; query flags read `1`, `true`, `on`
 * and `yes` as yes and nothing else; the status route shows the signed-in user.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { buildSecurityApp, callbackPath, relative, startLogin, type Client } from "../helpers/security-helpers.js";

describe.each(EXPRESS)("route basics ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  function setup(options: Partial<FletAuthOptions> = {}) {
    const built = buildSecurityApp(create, { providers: { demo: standardProvider(fake) }, ...options });
    return { ...built, agent: request.agent(built.app) };
  }

  async function signIn(agent: Client, loginPath = "/login/demo"): Promise<request.Response> {
    const started = await startLogin(agent, loginPath);
    return agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
  }

  it("the callback's pages, the status route and logout: Pragma no-cache and nosniff", async () => {
    const { agent } = setup({ redirectToPage: false });
    const responses = [
      await agent.get(callbackPath("/oauth_callback", { error: "access_denied", state: "x" })),
      await signIn(agent),
      await agent.get("/flet-auth/status"),
      await agent.post("/logout").set("Accept", "application/json"),
    ];
    for (const res of responses) {
      expect(res.headers["pragma"], `${res.status} ${res.request.url}`).toBe("no-cache");
      expect(res.headers["x-content-type-options"], `${res.status} ${res.request.url}`).toBe("nosniff");
    }
  });

  it("the popup helper is served as JavaScript, never sniffed", async () => {
    const { agent } = setup();
    const res = await agent.get("/flet-auth/client.js");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/javascript/);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });

  describe("query flags (?popup=…)", () => {
    it.each(["1", "true", "on", "yes"])("popup=%s asks for the complete page instead of the redirect", async (flag) => {
      const { agent } = setup();
      const res = await signIn(agent, `/login/demo?popup=${flag}`);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
    });

    it.each(["0", "false", "no", "", "TRUE"])("popup=%j does not: the same-tab redirect", async (flag) => {
      const { agent } = setup();
      const res = await signIn(agent, `/login/demo?popup=${flag}`);
      expect(res.status).toBe(303);
    });
  });

  it("the status route shows the signed-in user (and never a token)", async () => {
    const { agent } = setup();
    expect((await signIn(agent)).status).toBe(303);
    const res = await agent.get("/flet-auth/status");
    expect(res.body).toMatchObject({ signedIn: true, provider: "demo", providers: ["demo"], user: { id: expect.any(String) } });
    expect(JSON.stringify(res.body)).not.toMatch(/access_token|accessToken|refresh/i);
  });
});
