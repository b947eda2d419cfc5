/**
 * flet-auth's data in the session (lib/session/session.ts): what a store hands back is checked
 * entry by entry — a malformed pending login is ignored, never used for a code exchange —;
 * `req.auth` is the provider signed in last; and the sign-in regeneration gives the session a
 * fresh cookie as configured (express-session's `cookie` is not one of the app's keys).
 */
import type { Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPRESS } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import {
  twoProviderApp,
  cookieNamed,
  expectFailurePage,
  recordEvents,
  relative,
  sessionIdOf,
  startLogin,
  storeGet,
  storeSet,
  type Client,
} from "../helpers/security-helpers.js";

const SID = "flet-auth.sid";

describe.each(EXPRESS)("flet-auth's session data ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  function setup() {
    const { store, ...built } = twoProviderApp(create, fake);
    built.app.post("/remember-for-an-hour", (req: Request, res: Response) => {
      (req.session as unknown as Record<string, unknown>)["theme"] = "dark";
      req.session.cookie.maxAge = 3_600_000;
      res.status(204).end();
    });
    return { ...built, store, events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  const codeExchanges = () => fake.count("/token", "authorization_code");

  async function signInWith(agent: Client, name: string): Promise<request.Response> {
    const started = await startLogin(agent, `/login/${name}`);
    return agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
  }

  describe("a malformed pending login in the store is ignored: its callback is invalid_state, no code is exchanged", () => {
    it.each([
      ["a provider that is not a string", { provider: 1 }],
      ["a verifier that is not a string", { verifier: 5 }],
      ["a start time that is not a number", { createdAt: "2030-01-01" }],
      ["no scope list", { scope: "openid" }],
    ])("%s", async (_what, damage) => {
      const { agent, store, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      const sid = sessionIdOf(cookieNamed(started.res, SID)?.value ?? "");
      const stored = await storeGet(store, sid);
      const tx = stored?.fletAuth?.tx ?? {};
      const [key] = Object.keys(tx);
      expect(key, "one pending login").toBeDefined();
      await storeSet(store, sid, { ...stored!, fletAuth: { ...stored!.fletAuth, tx: { [key!]: { ...tx[key!], ...damage } as never } } });

      const before = codeExchanges();
      expectFailurePage(await agent.get(callback), 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toEqual([expect.objectContaining({ error: "invalid_state", signedIn: false })]);
    });
  });

  it("req.auth is the provider signed in last, also when it had been signed in before", async () => {
    const { agent } = setup();
    expect((await signInWith(agent, "other")).status).toBe(200);
    expect((await signInWith(agent, "demo")).status).toBe(200);
    expect((await signInWith(agent, "other")).status).toBe(200);
    const me = (await agent.get("/me")).body as { provider: string; providers: string[] };
    expect(me.providers.sort()).toEqual(["demo", "other"]);
    expect(me.provider).toBe("other");
  });

  it("the new session after sign-in has the configured cookie, not the old session's", async () => {
    const { agent } = setup();
    const extended = await agent.post("/remember-for-an-hour");
    expect(cookieNamed(extended, SID)?.attributes.has("expires"), "the app's cookie lives an hour").toBe(true);
    const callback = await signInWith(agent, "demo");
    expect(callback.status).toBe(200);
    const renewed = cookieNamed(callback, SID);
    expect(renewed, "a new session cookie").toBeDefined();
    expect(renewed?.attributes.has("expires")).toBe(false);
    expect(renewed?.attributes.has("max-age")).toBe(false);
  });
});
