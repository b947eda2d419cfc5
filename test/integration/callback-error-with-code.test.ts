/**
 * RFC 6749 §4.1.2.1: a callback that carries `error` is a failed authorization, even when it also
 * carries a valid `code` and even when the error is empty. The user is not signed in and the code
 * is never exchanged (a forged or garbled answer must not turn into a sign-in).
 */
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { buildSecurityApp, expectFailurePage, recordEvents, startLogin } from "../helpers/security-helpers.js";

describe.each(EXPRESS)("callback with an error and a valid code ($name)", ({ create }) => {
  let fake: FakeProvider;

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  function setup() {
    const built = buildSecurityApp(create, { providers: { demo: standardProvider(fake) }, redirectToPage: false });
    return { events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  /** The provider's real answer (a code it would exchange, the login's state) with `error` added. */
  async function answerWithError(agent: ReturnType<typeof request.agent>, error: string): Promise<string> {
    const started = await startLogin(agent, "/login/demo");
    const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
    expect(callback.searchParams.get("code"), "the provider issued a code").toBeTruthy();
    callback.searchParams.set("error", error);
    return `${callback.pathname}${callback.search}`;
  }

  const codeExchanges = () => fake.count("/token", "authorization_code");

  it.each([
    ["an empty error (?error=&code=…)", "", "invalid_request", 400],
    ["access_denied", "access_denied", "access_denied", 403],
  ])("%s is a failure: 4xx page, provider error in the event, no code exchange, signed out", async (_what, error, reported, status) => {
    const { agent, events } = setup();
    const callback = await answerWithError(agent, error);
    const before = codeExchanges();
    const res = await agent.get(callback);
    expectFailurePage(res, status);
    expect(codeExchanges()).toBe(before);
    expect(events.logins).toEqual([{ error: reported, errorDescription: reported, provider: "demo", signedIn: false }]);
    expect((await agent.get("/me")).body.signedIn).toBe(false);
  });

  it("the same answer without the error signs in (control: the code was valid)", async () => {
    const { agent, events } = setup();
    const started = await startLogin(agent, "/login/demo");
    const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
    expect((await agent.get(`${callback.pathname}${callback.search}`)).status).toBe(200);
    expect(events.logins).toEqual([expect.objectContaining({ error: undefined, signedIn: true })]);
  });
});
