/**
 * Every way a callback can go wrong (checklist 1, 6, 9, 10, 11; SPEC §2 step 3, §5 "bad input"):
 * each becomes a `login` event with an error and a clear 4xx/5xx page — never a token request it
 * should not make, never a 500 with a stack, never "signed in".
 */
import request from "supertest";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type Mock } from "vitest";
import type { FletAuthOptions } from "../../lib/index.js";
import { EXPRESS, standardProvider } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import {
  SIGNED_IN_TEXT,
  buildSecurityApp,
  callbackPath,
  expectFailurePage,
  expectNoStack,
  recordEvents,
  relative,
  settle,
  startLogin,
} from "../helpers/security-helpers.js";

const CALLBACK = "/oauth_callback";
const TEN_MINUTES = 10 * 60 * 1000;

describe.each(EXPRESS)("callback errors ($name)", ({ create }) => {
  let fake: FakeProvider;
  let now: number;
  type LogFn = (message: string, ...details: unknown[]) => void;
  let logger: { error: Mock<LogFn>; warn: Mock<LogFn> };

  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    now = Date.UTC(2030, 0, 1, 12, 0, 0);
    logger = { error: vi.fn<LogFn>(), warn: vi.fn<LogFn>() };
  });

  /** An app on the fake provider, with an injected clock and a recording logger. */
  function setup(options: Partial<FletAuthOptions> = {}) {
    const built = buildSecurityApp(create, {
      providers: { demo: standardProvider(fake) },
      clock: () => now,
      logger,
      redirectToPage: false,
      ...options,
    });
    return { ...built, events: recordEvents(built.auth), agent: request.agent(built.app) };
  }

  const codeExchanges = () => fake.count("/token", "authorization_code");

  describe("provider error (?error=…)", () => {
    const SCRIPT = `<script>alert("pwned")</script>`;

    it("answers 403 with the description HTML-escaped, emits access_denied, and makes no token request", async () => {
      const { agent, events } = setup();
      const { state } = await startLogin(agent, "/login/demo");
      const before = codeExchanges();
      const res = await agent.get(
        callbackPath(CALLBACK, { error: "access_denied", error_description: `Denied ${SCRIPT} & "quoted" 'single'`, state }),
      );
      expectFailurePage(res, 403);
      expect(res.text).not.toContain(SCRIPT);
      expect(res.text).not.toContain("<script>alert");
      expect(res.text).toContain("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;");
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toEqual([
        { error: "access_denied", errorDescription: `Denied ${SCRIPT} & "quoted" 'single'`, provider: "demo", signedIn: false },
      ]);
      expect((await agent.get("/me")).body.signedIn).toBe(false);
    });

    it("a hostile error value cannot break out of the page's script or markup", async () => {
      const { agent, events } = setup();
      const { state } = await startLogin(agent, "/login/demo");
      const evil = `x</script><script>alert(1)</script><img src=x onerror=alert(2)>`;
      const res = await agent.get(callbackPath(CALLBACK, { error: evil, state }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(600);
      expectFailurePage(res, res.status);
      expect(res.text).not.toContain("</script><script>alert(1)");
      expect(res.text).not.toContain("<img src=x");
      // Exactly the page's own script element, nothing injected.
      expect(res.text.match(/<script\b/g)?.length ?? 0).toBeLessThanOrEqual(1);
      expect(events.logins[0]?.error).toBe(evil);
    });

    it("a real denial at the provider ends the transaction: the same state cannot be used again", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const denied = await fake.authorize(started.authorizeUrl.toString(), { deny: true });
      const res = await agent.get(relative(denied));
      expectFailurePage(res, 403);
      const before = codeExchanges();
      const retry = await agent.get(callbackPath(CALLBACK, { code: "anything", state: started.state }));
      expectFailurePage(retry, 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins.map((e) => e.error)).toEqual(["access_denied", "invalid_state"]);
    });
    it("an empty ?error= is still a failure: the event has an error and the page never says signed in", async () => {
      const { agent, events } = setup();
      const { state } = await startLogin(agent, "/login/demo");
      const before = codeExchanges();
      const res = await agent.get(callbackPath(CALLBACK, { error: "", state }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expectFailurePage(res, res.status);
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toHaveLength(1);
      // Success is `!e.error`: an empty error would report this failure as a sign-in.
      expect(events.logins[0]?.error).toBeTruthy();
      expect((await agent.get("/me")).body.signedIn).toBe(false);
    });
  });

  describe("state", () => {
    it("missing state → 400 invalid_state, no token request", async () => {
      const { agent, events } = setup();
      await startLogin(agent, "/login/demo");
      const before = codeExchanges();
      const res = await agent.get(callbackPath(CALLBACK, { code: "some-code" }));
      expectFailurePage(res, 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toEqual([expect.objectContaining({ error: "invalid_state", signedIn: false })]);
    });

    it("empty state → 400 invalid_state", async () => {
      const { agent, events } = setup();
      await startLogin(agent, "/login/demo");
      const res = await agent.get(callbackPath(CALLBACK, { code: "some-code", state: "" }));
      expectFailurePage(res, 400);
      expect(events.logins[0]?.error).toBe("invalid_state");
    });

    it("unknown state → 400 invalid_state, no token request (and the real login still works)", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
      const before = codeExchanges();
      const forged = await agent.get(callbackPath(CALLBACK, { code: callback.searchParams.get("code")!, state: `${started.state}x` }));
      expectFailurePage(forged, 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins[0]?.error).toBe("invalid_state");
      const real = await agent.get(relative(callback.toString()));
      expect(real.status).toBe(200);
      expect(real.text).toMatch(SIGNED_IN_TEXT);
    });

    it("state sent as an array (?state=a&state=b) → 400, never a 500", async () => {
      const { agent } = setup();
      const { state } = await startLogin(agent, "/login/demo");
      const res = await agent.get(`${CALLBACK}?code=c&state=${encodeURIComponent(state)}&state=${encodeURIComponent(state)}`);
      expectFailurePage(res, 400);
    });

    it("replayed callback (the same valid URL twice) → second is 400, exactly one token request", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      const before = codeExchanges();
      const first = await agent.get(callback);
      expect(first.status).toBe(200);
      const second = await agent.get(callback);
      expectFailurePage(second, 400);
      expect(codeExchanges() - before).toBe(1);
      expect(events.logins.map((e) => e.error)).toEqual([undefined, "invalid_state"]);
      // The replay did not undo the first sign-in.
      expect((await agent.get("/me")).body.signedIn).toBe(true);
    });

    it("state of another session (agent B uses agent A's callback URL) → 400, no token request", async () => {
      const { app, events } = setup();
      const alice = request.agent(app);
      const bob = request.agent(app);
      await startLogin(bob, "/login/demo"); // Bob has a session with a pending login of his own.
      const started = await startLogin(alice, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      const before = codeExchanges();
      const stolen = await bob.get(callback);
      expectFailurePage(stolen, 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins[0]?.error).toBe("invalid_state");
      expect((await bob.get("/me")).body.signedIn).toBe(false);
      // A session-less browser gets the same answer.
      const anonymous = await request(app).get(callback);
      expectFailurePage(anonymous, 400);
      expect(codeExchanges()).toBe(before);
      // Alice's own login was not burnt by Bob's attempt.
      const own = await alice.get(callback);
      expect(own.status).toBe(200);
      expect((await alice.get("/me")).body.signedIn).toBe(true);
    });

    it("expired state (clock moved 10 min + 1 s) → 400 state_expired, no token request", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      now += TEN_MINUTES + 1000;
      const before = codeExchanges();
      const res = await agent.get(callback);
      expectFailurePage(res, 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins).toEqual([expect.objectContaining({ error: "state_expired", provider: "demo", signedIn: false })]);
      expect((await agent.get("/me")).body.signedIn).toBe(false);
    });

    it("a state just inside its lifetime (10 min − 1 s) still signs in (control)", async () => {
      const { agent, events } = setup();
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      now += TEN_MINUTES - 1000;
      const res = await agent.get(callback);
      expect(res.status).toBe(200);
      expect(events.logins[0]?.error).toBeUndefined();
    });

    it("loginTimeoutMs shortens the lifetime", async () => {
      const { agent, events } = setup({ loginTimeoutMs: 60_000 });
      const started = await startLogin(agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      now += 61_000;
      expectFailurePage(await agent.get(callback), 400);
      expect(events.logins[0]?.error).toBe("state_expired");
    });

    it("mix-up: provider A's state on provider B's callback path → 400, no token request", async () => {
      const { agent, events } = setup({
        providers: {
          demo: standardProvider(fake),
          other: standardProvider(fake, { redirectUrl: "http://127.0.0.1/callback/other" }),
        },
      });
      const started = await startLogin(agent, "/login/demo");
      const callback = new URL(await fake.authorize(started.authorizeUrl.toString()));
      expect(callback.pathname).toBe(CALLBACK);
      const before = codeExchanges();
      const res = await agent.get(`/callback/other${callback.search}`);
      expectFailurePage(res, 400);
      expect(codeExchanges()).toBe(before);
      expect(events.logins[0]?.error).toBe("invalid_state");
      expect((await agent.get("/me")).body.signedIn).toBe(false);
    });
  });

  it("missing code (state but neither code nor error) → 400 missing_code, no token request", async () => {
    const { agent, events } = setup();
    const { state } = await startLogin(agent, "/login/demo");
    const before = codeExchanges();
    const res = await agent.get(callbackPath(CALLBACK, { state }));
    expectFailurePage(res, 400);
    expect(codeExchanges()).toBe(before);
    expect(events.logins).toEqual([expect.objectContaining({ error: "missing_code", provider: "demo", signedIn: false })]);
  });

  describe("failed code exchange", () => {
    async function exchangeFails(options: Partial<FletAuthOptions>, prepare: () => void) {
      const ctx = setup(options);
      const started = await startLogin(ctx.agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      prepare();
      const res = await ctx.agent.get(callback);
      const me = await ctx.agent.get("/me");
      return { res, events: ctx.events, signedIn: me.body.signedIn as boolean };
    }

    it("HTTP 200 with an `error` body (GitHub style) → 5xx page, event carries the OAuth error", async () => {
      const { res, events, signedIn } = await exchangeFails({}, () =>
        fake.nextResponse("/token", {
          status: 200,
          body: JSON.stringify({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired." }),
        }),
      );
      expectFailurePage(res, 502);
      expect(events.logins).toEqual([expect.objectContaining({ error: "bad_verification_code", signedIn: false })]);
      expect(signedIn).toBe(false);
    });

    it("HTTP 200 form-encoded `error` body → 5xx page, event carries the OAuth error", async () => {
      const { res, events } = await exchangeFails({}, () =>
        fake.nextResponse("/token", {
          status: 200,
          contentType: "application/x-www-form-urlencoded",
          body: "error=bad_verification_code&error_description=expired",
        }),
      );
      expectFailurePage(res, 502);
      expect(events.logins[0]?.error).toBe("bad_verification_code");
    });

    it("HTTP 400 invalid_grant → an error page and event, not signed in", async () => {
      const { res, events, signedIn } = await exchangeFails({}, () =>
        fake.nextResponse("/token", { status: 400, body: JSON.stringify({ error: "invalid_grant", error_description: "code expired" }) }),
      );
      expect(res.status).toBeGreaterThanOrEqual(400);
      expectFailurePage(res, res.status);
      expect(events.logins[0]?.error).toBe("invalid_grant");
      expect(signedIn).toBe(false);
    });

    it("HTTP 500 → 5xx page and an error event", async () => {
      const { res, events, signedIn } = await exchangeFails({}, () =>
        fake.nextResponse("/token", { status: 500, contentType: "text/plain", body: "Internal Server Error" }),
      );
      expectFailurePage(res, 502);
      expect(events.logins[0]?.error).toBeTruthy();
      expect(events.logins[0]?.signedIn).toBe(false);
      expect(signedIn).toBe(false);
    });

    it("HTML body instead of JSON (HTTP 200) → 5xx page and an error event", async () => {
      const { res, events, signedIn } = await exchangeFails({}, () =>
        fake.nextResponse("/token", { status: 200, contentType: "text/html", body: "<html><body><h1>Maintenance</h1></body></html>" }),
      );
      expectFailurePage(res, 502);
      expect(res.text).not.toContain("<h1>Maintenance</h1>");
      expect(events.logins[0]?.error).toBeTruthy();
      expect(signedIn).toBe(false);
    });

    it("HTML body labelled application/json → 5xx page and an error event", async () => {
      const { res, events } = await exchangeFails({}, () =>
        fake.nextResponse("/token", { status: 200, contentType: "application/json", body: "<html>oops</html>" }),
      );
      expect(res.status).toBeGreaterThanOrEqual(500);
      expectFailurePage(res, res.status);
      expect(events.logins[0]?.error).toBeTruthy();
    });

    it("HTTP 200 JSON without access_token → 5xx page and an error event", async () => {
      const { res, events } = await exchangeFails({}, () =>
        fake.nextResponse("/token", { status: 200, body: JSON.stringify({ token_type: "Bearer" }) }),
      );
      expectFailurePage(res, 502);
      expect(events.logins[0]?.error).toBeTruthy();
    });

    it("timeout (timeoutMs 200, token endpoint answering late) → 504 provider_timeout", async () => {
      const { res, events, signedIn } = await exchangeFails({ timeoutMs: 200 }, () => fake.nextResponse("/token", { delayMs: 3000 }));
      expectFailurePage(res, 504);
      expect(events.logins).toEqual([expect.objectContaining({ error: "provider_timeout", signedIn: false })]);
      expect(signedIn).toBe(false);
    });
  });

  describe("failed user fetch", () => {
    async function userFetchFails(override: Parameters<FakeProvider["nextResponse"]>[1]) {
      const ctx = setup();
      const started = await startLogin(ctx.agent, "/login/demo");
      const callback = relative(await fake.authorize(started.authorizeUrl.toString()));
      fake.nextResponse("/userinfo", override);
      const res = await ctx.agent.get(callback);
      const me = await ctx.agent.get("/me");
      return { res, events: ctx.events, signedIn: me.body.signedIn as boolean };
    }

    it("userinfo HTTP 500 → 502, user_fetch_failed, not signed in", async () => {
      const { res, events, signedIn } = await userFetchFails({ status: 500, body: JSON.stringify({ error: "server_error" }) });
      expectFailurePage(res, 502);
      expect(events.logins).toEqual([expect.objectContaining({ error: "user_fetch_failed", signedIn: false })]);
      expect(signedIn).toBe(false);
    });

    it("userinfo answering HTML → 502, user_fetch_failed, not signed in", async () => {
      const { res, events, signedIn } = await userFetchFails({ status: 200, contentType: "text/html", body: "<html>login wall</html>" });
      expectFailurePage(res, 502);
      expect(events.logins[0]?.error).toBe("user_fetch_failed");
      expect(signedIn).toBe(false);
    });

    it("userinfo answering a JSON array → 502, not signed in", async () => {
      const { res, signedIn } = await userFetchFails({ status: 200, body: "[1,2,3]" });
      expectFailurePage(res, 502);
      expect(signedIn).toBe(false);
    });
  });

  describe("listeners cannot break the response", () => {
    let unhandled: Mock<(reason: unknown) => void>;
    beforeEach(() => {
      unhandled = vi.fn<(reason: unknown) => void>();
      process.on("unhandledRejection", unhandled);
    });
    afterEach(() => {
      process.off("unhandledRejection", unhandled);
    });

    it.each([
      ["throws", () => {
        throw new Error("listener exploded");
      }],
      ["rejects", async () => {
        throw new Error("listener rejected");
      }],
    ] as const)("a login listener that %s: success still redirects/answers, no unhandled rejection", async (_kind, listener) => {
      const { agent, auth } = setup();
      auth.on("login", listener);
      const started = await startLogin(agent, "/login/demo");
      const res = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
      expect(res.status).toBe(200);
      expect(res.text).toMatch(SIGNED_IN_TEXT);
      expect((await agent.get("/me")).body.signedIn).toBe(true);
      await settle();
      expect(unhandled).not.toHaveBeenCalled();
      expect(logger.error).toHaveBeenCalled();
    });

    it.each([
      ["throws", () => {
        throw new Error("listener exploded");
      }],
      ["rejects", async () => {
        throw new Error("listener rejected");
      }],
    ] as const)("a login listener that %s: a failed callback still gets its error page", async (_kind, listener) => {
      const { agent, auth } = setup();
      auth.on("login", listener);
      const started = await startLogin(agent, "/login/demo");
      const res = await agent.get(relative(await fake.authorize(started.authorizeUrl.toString(), { deny: true })));
      expectFailurePage(res, 403);
      await settle();
      expect(unhandled).not.toHaveBeenCalled();
      expect(logger.error).toHaveBeenCalled();
    });

    it("a logout listener that rejects does not break sign-out", async () => {
      const { agent, auth } = setup();
      auth.on("logout", async () => {
        throw new Error("logout listener rejected");
      });
      const started = await startLogin(agent, "/login/demo");
      await agent.get(relative(await fake.authorize(started.authorizeUrl.toString())));
      const out = await agent.post("/logout").set("Accept", "application/json");
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ signedIn: false });
      await settle();
      expect(unhandled).not.toHaveBeenCalled();
      expect(logger.error).toHaveBeenCalled();
    });
  });

  it("none of the malformed callbacks 500s with a stack", async () => {
    const { agent } = setup();
    const { state } = await startLogin(agent, "/login/demo");
    const cases = [
      CALLBACK,
      `${CALLBACK}?state`,
      `${CALLBACK}?state=${"x".repeat(5000)}`,
      `${CALLBACK}?state[a]=1&code[b]=2`,
      `${CALLBACK}?code=%E0%A4%A&state=%ZZ`,
      `${CALLBACK}?error[x]=1&state=${encodeURIComponent(state)}`,
      `${CALLBACK}?code=a&code=b&state=${encodeURIComponent(state)}`,
    ];
    for (const path of cases) {
      const res = await agent.get(path);
      expectNoStack(res);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.text).not.toMatch(SIGNED_IN_TEXT);
    }
  });
});
