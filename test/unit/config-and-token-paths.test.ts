/**
 * Three small contracts, each at the layer that shows it:
 *
 * - `resolveConfig`: an options object that has only some of `method`, `headers` and `url` (the
 *   keys that give away a request passed as options, `app.use(fletAuth)`) is an ordinary object
 *   with an unknown option, refused as such; and the default flet-auth store runs on the injected
 *   `clock`, not on the wall clock.
 * - `req.logout(provider, options)` refuses options that are not an object, even those with no
 *   keys of their own (a number, ""), and signs nothing out.
 * - `getToken()` on an expiring token without a refresh token returns it as it is and writes
 *   nothing: the sealed record kept in a persistent session is not rewritten.
 */
import type { Request, Response } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { resolveConfig, type FletAuthOptions } from "../../lib/config.js";
import { OAuthProvider } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type Agent, type ExpressFactory, type MeBody } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import { JsonSessionStore } from "../helpers/record-stores.js";
import { addStoredTokenRoute, manualClock, recordEvents, useServerLifecycle, type StoredToken } from "../helpers/refresh-harness.js";
import { recordingLogger } from "../helpers/review-harness.js";
import { typeErrorMessage } from "../helpers/type-errors.js";

const BASE = {
  providers: {
    demo: new OAuthProvider({
      clientId: "client-id",
      clientSecret: "client-secret",
      authorizationEndpoint: "https://idp.example/authorize",
      tokenEndpoint: "https://idp.example/token",
      redirectUrl: "http://localhost:8550/oauth_callback",
    }),
  },
  secret: "config-and-token-paths-secret-0123456789abcdef",
};

/** Loosely typed: JavaScript callers can pass what TypeScript refuses. */
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...BASE, ...extra } as unknown as FletAuthOptions);

describe("resolveConfig: options that look partly like a request", () => {
  it.each([
    ["url only", { url: "/x" }, "url"],
    ["method only", { method: "GET" }, "method"],
    ["headers only", { headers: {} }, "headers"],
    ["headers and url", { headers: {}, url: "/" }, "headers"],
    ["method and url", { method: "GET", url: "/" }, "method"],
    ["method and headers", { method: "GET", headers: {} }, "method"],
  ])("%s: refused as an unknown option, not as fletAuth passed uncalled", (_what, extra, first) => {
    const message = typeErrorMessage(() => resolve(extra));
    expect(message.startsWith(`options.${first} is not a fletAuth option`), message).toBe(true);
    expect(message).not.toContain("fletAuth must be called");
  });

  it("method, headers and url together: refused as fletAuth passed uncalled", () => {
    expect(typeErrorMessage(() => resolve({ method: "GET", headers: {}, url: "/" }))).toBe(
      "fletAuth must be called: use app.use(fletAuth({ ... })), not app.use(fletAuth)",
    );
  });
});

describe("resolveConfig: the default store", () => {
  it("keeps time by the injected clock: an entry lives until that clock passes its TTL, whatever the wall clock says", async () => {
    // Far from the wall clock on purpose: a store on Date.now would keep (or drop) the entry
    // regardless of what this clock does.
    let now = 1_000_000;
    const config = resolveConfig({ ...BASE, clock: () => now });
    expect(await config.store.set("k", "v", 60_000)).toBe(true);
    now += 59_999;
    expect(await config.store.getMany(["k"])).toEqual(["v"]);
    now += 1;
    expect(await config.store.getMany(["k"])).toEqual([undefined]);
  });
});

const cleanups = useServerLifecycle();

async function fakeProvider(options: Parameters<typeof startFakeProvider>[0] = {}): Promise<FakeProvider> {
  const fake = await startFakeProvider(options);
  cleanups.push(() => fake.close());
  return fake;
}

async function signedIn(agent: Agent, fake: FakeProvider): Promise<void> {
  const done = await signIn(agent, fake, "/login/demo");
  expect(done.status, done.text).toBe(303);
}

async function me(agent: Agent): Promise<MeBody> {
  const res = await agent.get("/me");
  expect(res.status, res.text).toBe(200);
  return res.body as MeBody;
}

describe.each(EXPRESS)("request paths ($name)", ({ create }: { create: ExpressFactory }) => {
  it.each([
    ["a number", 42],
    ["an empty string", ""],
  ])("req.logout with %s as options rejects with a TypeError and signs nothing out", async (_what, options) => {
    const fake = await fakeProvider();
    const { app } = buildApp(create, { providers: { demo: standardProvider(fake) }, logger: recordingLogger() });
    app.get("/logout-with", (req: Request, res: Response) => {
      req.logout("demo", options as never).then(
        () => res.json({ ok: true }),
        (err: unknown) => res.json({ ok: false, name: (err as Error).name, message: (err as Error).message }),
      );
    });
    const agent = request.agent(app);
    await signedIn(agent, fake);

    const res = await agent.get("/logout-with");
    expect(res.body).toEqual({
      ok: false,
      name: "TypeError",
      message: "req.logout(provider, options): options must be an object such as { everywhere: true }",
    });
    expect(await me(agent)).toMatchObject({ signedIn: true, provider: "demo" });
  });

  it("getToken() on an expiring token without a refresh token returns it as is and leaves the record in the session untouched", async () => {
    const fake = await fakeProvider({ issueRefreshTokens: false });
    const sessions = new JsonSessionStore();
    const clock = manualClock();
    // A session store that is not MemoryStore, with the default flet-auth store: the sealed
    // record lives in the session, where a refresh would rewrite it.
    const { app, auth } = buildApp(create, {
      providers: { demo: standardProvider(fake) },
      clock: clock.fn,
      logger: recordingLogger(),
      session: { store: sessions },
    });
    addStoredTokenRoute(app);
    const events = recordEvents(auth);
    const agent = request.agent(app);
    await signedIn(agent, fake);
    const token = (await agent.get("/stored-token").expect(200)).body as NonNullable<StoredToken>;
    expect(token.refresh_token, "the provider issued no refresh token").toBeUndefined();
    expect(token.expires_at).toBeTypeOf("number");

    // Within the refresh margin; a first request lets any other rewrite (seenAt) happen first.
    clock.setBeforeExpiry(token.expires_at!, 10);
    expect(await me(agent)).toMatchObject({ signedIn: true });
    expect(sessions.sessions.size).toBe(1);
    const [sid] = [...sessions.sessions.keys()];
    const entry = (): unknown => sessions.read(sid!).fletAuth?.auths?.["demo"];
    const before = entry();
    expect(typeof before).toBe("string");

    const res = await agent.get("/token");
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ accessToken: token.access_token, refreshToken: null, expiresAt: token.expires_at });
    expect(entry(), "the sealed record in the session is not rewritten").toBe(before);
    expect(fake.count("/token", "refresh_token")).toBe(0);
    expect(events.refresh).toEqual([]);
  });
});
