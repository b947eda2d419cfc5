/**
 * What the callback answers (lib/routes/callback.ts), beyond callback-errors.test.ts: the
 * messages docs/errors.md lists, the HTTP status of each provider error (RFC 6749 §4.1.2.1), the
 * `iss` rules (RFC 9207) for providers without a fixed issuer, an empty `code`, a stale copy of
 * the session replayed, and a failed callback's session write finishing before the answer.
 */
import session, { type SessionData } from "express-session";
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import {
  RecordingStore,
  buildSecurityApp,
  callbackPath,
  cookieNamed,
  expectFailurePage,
  recordEvents,
  recordResponses,
  relative,
  sessionIdOf,
  startLogin,
  storeGet,
  storeSet,
} from "../helpers/security-helpers.js";

const CALLBACK = "/oauth_callback";
const MESSAGES = {
  noneInBrowser:
    "No sign-in is pending in this browser for this host name: start the sign-in again on this same address (the session cookie belongs to the host name where the sign-in started).",
  invalidOrUsed: "This sign-in link is invalid or was already used; please start again.",
  used: "This sign-in link was already used; please start again.",
  otherCallback: "This sign-in answer came back on another provider's callback.",
  expired: "The sign-in took too long; please start again.",
  issuer: "This sign-in answer did not come from the expected provider.",
  missingCode: "The provider sent neither a code nor an error.",
};

describe.each(EXPRESS)("callback answers ($name)", ({ create }) => {
  let fake: FakeProvider;
  let now: number;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    now = Date.UTC(2030, 0, 1, 12, 0, 0);
  });

  function setup(options: Partial<FletAuthOptions> = {}, hooks: Parameters<typeof buildSecurityApp>[2] = {}) {
    const built = buildSecurityApp(
      create,
      { providers: { demo: standardProvider(fake) }, redirectToPage: false, clock: () => now, ...options },
      hooks,
    );
    return { ...built, events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  const codeExchanges = () => fake.count("/token", "authorization_code");

  describe("the messages of docs/errors.md, as errorDescription", () => {
    it("no pending login at all in this browser: the host-name hint, and the event names no provider", async () => {
      const { agent, events } = setup();
      expectFailurePage(await agent.get(callbackPath(CALLBACK, { code: "c", state: "s" })), 400);
      expect(events.logins).toEqual([{ error: "invalid_state", errorDescription: MESSAGES.noneInBrowser, provider: "", signedIn: false }]);
    });

    it("once the browser's only pending login is used up, the host-name hint again (nothing is pending)", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      now += 600_000;
      expectFailurePage(await agent.get(callback), 400);
      expectFailurePage(await agent.get(callback), 400);
      expect(events.logins.map((e) => e.errorDescription)).toEqual([MESSAGES.expired, MESSAGES.noneInBrowser]);
    });

    it("a state this browser does not have, while another login is pending: invalid or already used", async () => {
      const { agent, events } = setup();
      await startLogin(agent, "/login/demo");
      expectFailurePage(await agent.get(callbackPath(CALLBACK, { code: "c", state: "not-mine" })), 400);
      expect(events.logins).toEqual([{ error: "invalid_state", errorDescription: MESSAGES.invalidOrUsed, provider: "", signedIn: false }]);
    });

    it("too late: took too long", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      now += 600_000;
      expectFailurePage(await agent.get(callback), 400);
      expect(events.logins).toEqual([{ error: "state_expired", errorDescription: MESSAGES.expired, provider: "demo", signedIn: false }]);
    });

    it("on another provider's callback path: came back on another provider's callback", async () => {
      const { agent, events } = setup({
        providers: { demo: standardProvider(fake), other: standardProvider(fake, { redirectUrl: "http://127.0.0.1/callback/other" }) },
      });
      const started = await startLogin(agent, "/login/demo");
      const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
      expectFailurePage(await agent.get(`/callback/other${callback.search}`), 400);
      expect(events.logins).toEqual([{ error: "invalid_state", errorDescription: MESSAGES.otherCallback, provider: "demo", signedIn: false }]);
    });

    it("an empty code is no code: missing_code, and nothing is exchanged", async () => {
      const { agent, events } = setup();
      const { state } = await startLogin(agent, "/login/demo");
      const before = codeExchanges();
      expectFailurePage(await agent.get(callbackPath(CALLBACK, { code: "", state })), 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toEqual([{ error: "missing_code", errorDescription: MESSAGES.missingCode, provider: "demo", signedIn: false }]);
    });

    it("an iss that is not the provider's: did not come from the expected provider", async () => {
      const { agent, events } = setup({ providers: { demo: standardProvider(fake, { issuer: "https://idp.example" }) } });
      const started = await startLogin(agent, "/login/demo");
      const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
      callback.searchParams.set("iss", "https://evil.example");
      expectFailurePage(await agent.get(`${callback.pathname}${callback.search}`), 400);
      expect(events.logins).toEqual([{ error: "issuer_mismatch", errorDescription: MESSAGES.issuer, provider: "demo", signedIn: false }]);
    });
  });

  it("a stale copy of the session (restored backup, lagging replica) replayed after sign-in: already used, no second exchange", async () => {
    const store = new session.MemoryStore();
    const { agent, events, app } = setup({ session: { store } });
    const started = await startLogin(agent, "/login/demo");
    const sid = sessionIdOf(cookieNamed(started.res, "flet-auth.sid")?.value ?? "");
    const stale = (await storeGet(store, sid)) as SessionData;
    const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
    expect((await agent.get(callback)).status).toBe(200);
    await storeSet(store, sid, stale);
    const before = codeExchanges();
    const replay = await request(app).get(callback).set("Cookie", `flet-auth.sid=${cookieNamed(started.res, "flet-auth.sid")?.value ?? ""}`);
    expectFailurePage(replay, 400);
    expect(codeExchanges()).toBe(before);
    expect(events.logins[1]).toEqual({ error: "invalid_state", errorDescription: MESSAGES.used, provider: "demo", signedIn: false });
  });

  describe("provider errors: the status of each (RFC 6749 §4.1.2.1)", () => {
    it.each([
      ["access_denied", 403],
      ["temporarily_unavailable", 503],
      ["server_error", 502],
      ["invalid_scope", 400],
      ["unauthorized_client", 400],
    ])("%s → %d", async (error, status) => {
      const { agent, events } = setup();
      const { state } = await startLogin(agent, "/login/demo");
      expectFailurePage(await agent.get(callbackPath(CALLBACK, { error, state })), status);
      expect(events.logins).toEqual([{ error, errorDescription: error, provider: "demo", signedIn: false }]);
    });
  });

  describe("iss (RFC 9207)", () => {
    it("a provider without a configured issuer ignores an iss it cannot check", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
      callback.searchParams.set("iss", "https://whoever.example");
      expect((await agent.get(`${callback.pathname}${callback.search}`)).status).toBe(200);
      expect(events.logins).toEqual([expect.objectContaining({ error: undefined, signedIn: true })]);
    });

    it("a templated multi-tenant issuer ({tenantid}) is not compared: the tenant's iss signs in", async () => {
      const { agent, events } = setup({
        providers: { demo: standardProvider(fake, { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0" }) },
      });
      const started = await startLogin(agent, "/login/demo");
      const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
      callback.searchParams.set("iss", "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0");
      expect((await agent.get(`${callback.pathname}${callback.search}`)).status).toBe(200);
      expect(events.logins).toEqual([expect.objectContaining({ error: undefined, signedIn: true })]);
    });
  });

  it("a failure in the code exchange that is not flet-auth's own: 500 token_exchange_failed, 'Signing in failed.'", async () => {
    const broken = {
      exchangeCode: () => Promise.reject(new Error("socket hang up")),
      refresh: () => Promise.reject(new Error("unused")),
      getJson: () => Promise.reject(new Error("unused")),
    };
    const { agent, events } = setup({ http: broken as unknown as FletAuthOptions["http"] });
    const started = await startLogin(agent, "/login/demo");
    expectFailurePage(await agent.get(relative(await fake.authorize(started.authorizeUrl.toString()))), 500);
    expect(events.logins).toEqual([{ error: "token_exchange_failed", errorDescription: "Signing in failed.", provider: "demo", signedIn: false }]);
  });

  it("a failed callback consumes its pending login in the store before it answers (async stores)", async () => {
    const store = new RecordingStore(5);
    const { agent } = setup({ session: { store } }, { before: (app) => app.use(recordResponses(store.timeline)) });
    const started = await startLogin(agent, "/login/demo");
    const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
    now += 600_000; // expired: the pending login is consumed, nothing else changes
    const mark = store.timeline.length;
    expectFailurePage(await agent.get(callback), 400);
    const after = store.timeline.slice(mark);
    const answered = after.findIndex((e) => e.kind === "response");
    const consumed = after.findIndex((e) => e.kind === "set-done" && Object.keys(e.data.fletAuth?.tx ?? {}).length === 0);
    expect(consumed, `timeline ${JSON.stringify(after.map((e) => e.kind))}`).toBeGreaterThanOrEqual(0);
    expect(consumed).toBeLessThan(answered);
  });
});
