/**
 * Pending logins through the routes (docs/configuration.md "Transactions", "loginTimeoutMs"):
 * a callback is accepted until one millisecond before `loginTimeoutMs` has passed since its login
 * started and expired from then on; a session keeps 8 pending logins, and a 9th drops the oldest.
 * The clock is injected: every boundary is exact.
 */
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { buildSecurityApp, expectFailurePage, recordEvents, relative, startLogin, type Client } from "../helpers/security-helpers.js";

describe.each(EXPRESS)("pending logins ($name)", ({ create }) => {
  let fake: FakeProvider;
  let now: number;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    now = Date.UTC(2030, 0, 1, 12, 0, 0);
  });

  function setup(options: Partial<FletAuthOptions> = {}) {
    const built = buildSecurityApp(create, {
      providers: { demo: standardProvider(fake) },
      clock: () => now,
      redirectToPage: false,
      ...options,
    });
    return { ...built, events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  /** Starts a login and lets the user consent: the callback path, not yet visited. */
  async function consented(agent: Client): Promise<string> {
    const started = await startLogin(agent, "/login/demo");
    return relative(await fake.authorize(started.authorizeUrl.toString()));
  }

  const codeExchanges = () => fake.count("/token", "authorization_code");

  describe("loginTimeoutMs: the callback's deadline", () => {
    it.each([
      ["the default (10 minutes)", {}, 600_000],
      ["loginTimeoutMs: 60_000", { loginTimeoutMs: 60_000 }, 60_000],
    ])("%s: a callback one millisecond before the limit signs in", async (_what, options, limit) => {
      const { agent, events } = setup(options);
      const callback = await consented(agent);
      now += limit - 1;
      const res = await agent.get(callback);
      expect(res.status).toBe(200);
      expect(events.logins).toEqual([expect.objectContaining({ error: undefined, signedIn: true })]);
      expect((await agent.get("/me")).body.signedIn).toBe(true);
    });

    it.each([
      ["the default (10 minutes)", {}, 600_000],
      ["loginTimeoutMs: 60_000", { loginTimeoutMs: 60_000 }, 60_000],
    ])("%s: a callback exactly at the limit is state_expired, and no code is exchanged", async (_what, options, limit) => {
      const { agent, events } = setup(options);
      const callback = await consented(agent);
      now += limit;
      const before = codeExchanges();
      expectFailurePage(await agent.get(callback), 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toEqual([expect.objectContaining({ error: "state_expired", provider: "demo", signedIn: false })]);
      expect((await agent.get("/me")).body.signedIn).toBe(false);
    });
  });

  describe("at most 8 pending logins a session", () => {
    /** Starts `count` logins one millisecond apart in one session; their callbacks, oldest first. */
    async function startMany(agent: Client, count: number): Promise<string[]> {
      const callbacks: string[] = [];
      for (let i = 0; i < count; i += 1) {
        callbacks.push(await consented(agent));
        now += 1;
      }
      return callbacks;
    }

    it("with 8 logins started, the oldest still signs in", async () => {
      const { agent, events } = setup();
      const [oldest] = await startMany(agent, 8);
      expect((await agent.get(oldest ?? "")).status).toBe(200);
      expect(events.logins).toEqual([expect.objectContaining({ error: undefined, signedIn: true })]);
    });

    it("a 9th login drops the oldest: its callback is invalid_state, the second oldest still signs in", async () => {
      const { agent, events } = setup();
      const [oldest, second] = await startMany(agent, 9);
      const before = codeExchanges();
      expectFailurePage(await agent.get(oldest ?? ""), 400);
      expect(codeExchanges()).toBe(before);
      expect((await agent.get(second ?? "")).status).toBe(200);
      expect(events.logins).toEqual([
        expect.objectContaining({ error: "invalid_state", signedIn: false }),
        expect.objectContaining({ error: undefined, signedIn: true }),
      ]);
    });
  });
});
