/**
 * Who may sign a browser out (lib/routes/logout.ts, checklist 25), header by header: Fetch
 * Metadata first (`same-origin` and `none` are this site, `same-site` and `cross-site` are not,
 * whatever Origin says), then, for browsers without it, a POST's Origin must be this host and a
 * GET signs out only with an Origin or Referer on this host — otherwise it gets the confirmation
 * page, whose form may post only to this site and the providers' end-session endpoints.
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OAuthProvider } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { buildSecurityApp, relative, startLogin, type Client, type ErrorBody } from "../helpers/security-helpers.js";

describe.each(EXPRESS)("logout origin checks ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  async function signedIn(providers: Record<string, OAuthProvider> = { demo: standardProvider(fake) }) {
    const built = buildSecurityApp(create, { providers, redirectToPage: false });
    const agent = request.agent(built.app);
    const started = await startLogin(agent, "/login/demo");
    expect((await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())))).status).toBe(200);
    return { ...built, agent };
  }

  const stillSignedIn = async (agent: Client): Promise<boolean> => (await agent.get("/me")).body.signedIn as boolean;

  /** The app's host name for these requests (sent as Host), and its origin. */
  const HOST = "shop.example";
  const OWN = `http://${HOST}`;

  describe("POST", () => {
    it.each([
      ["Sec-Fetch-Site: same-origin with Origin: null (Chromium, no-referrer page)", { "Sec-Fetch-Site": "same-origin", Origin: "null" }],
      ["Sec-Fetch-Site: none (typed in, bookmark)", { "Sec-Fetch-Site": "none", Origin: "https://evil.example" }],
    ])("%s signs out", async (_what, headers) => {
      const { agent } = await signedIn();
      const res = await agent.post("/logout").set(headers).set("Accept", "application/json");
      expect(res.status).toBe(200);
      expect(await stillSignedIn(agent)).toBe(false);
    });

    it("no Fetch Metadata, Origin of this host: signs out", async () => {
      const { agent } = await signedIn();
      const res = await agent.post("/logout").set("Host", HOST).set("Origin", OWN).set("Accept", "application/json");
      expect(res.status).toBe(200);
      expect(await stillSignedIn(agent)).toBe(false);
    });

    it.each([
      ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "Sec-Fetch-Site": "same-site" }],
      ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site" }],
      ["no Fetch Metadata, another Origin", { Origin: "https://evil.example" }],
      ["no Fetch Metadata, Origin: null", { Origin: "null" }],
      ["no Fetch Metadata, an Origin that is not a URL", { Origin: "http://[bad" }],
    ])("%s is refused: 403 cross_site_request, still signed in", async (_what, headers) => {
      const { agent, errors } = await signedIn();
      const res = await agent.post("/logout").set(headers).set("Accept", "application/json");
      expect(res.status).toBe(403);
      expect((res.body as ErrorBody).code).toBe("cross_site_request");
      expect((errors[0] as Error).message).toBe("Sign-out must come from this site.");
      expect(await stillSignedIn(agent)).toBe(true);
    });
  });

  describe("GET", () => {
    it.each([
      ["Sec-Fetch-Site: none", { "Sec-Fetch-Site": "none" }],
      ["a Referer on this host", { Referer: `${OWN}/account` }],
      ["Origin: null, then a Referer on this host", { Origin: "null", Referer: `${OWN}/account` }],
    ])("%s signs out", async (_what, headers) => {
      const { agent } = await signedIn();
      const res = await agent.get("/logout").set("Host", HOST).set(headers);
      expect(res.status).toBe(303);
      expect(await stillSignedIn(agent)).toBe(false);
    });

    it.each([
      ["nothing that proves the site", {}],
      ["an Origin of another site (no Fetch Metadata)", { Origin: "https://evil.example" }],
      ["an Origin that is not a URL, whatever the Referer", { Origin: "http://[bad", Referer: `${OWN}/account` }],
    ])("%s: the confirmation page, still signed in", async (_what, headers) => {
      const { agent } = await signedIn();
      const res = await agent.get("/logout").set("Host", HOST).set(headers);
      expect(res.status).toBe(200);
      expect(res.text).toContain('<form method="post" action="/logout">');
      expect(await stillSignedIn(agent)).toBe(true);
    });

    it("the confirmation page's form may post to this site and to the providers' end-session endpoints only", async () => {
      const { agent } = await signedIn({
        demo: standardProvider(fake),
        other: standardProvider(fake, { redirectUrl: "http://127.0.0.1/callback/other", endSessionEndpoint: "https://idp.example/logout" }),
      });
      const res = await agent.get("/logout");
      expect(res.headers["content-security-policy"]).toContain("form-action 'self' https://idp.example;");
    });
  });
});
