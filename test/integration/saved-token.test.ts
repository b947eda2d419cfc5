/**
 * req.login(provider, { savedToken }): Flet's "remember me" by hand (SPEC §1, §3; behaviour §3.6).
 * A token JSON restores the sign-in without any redirect, refreshing first when it is expiring
 * and fetching the user; bad input loses nothing.
 */
import { readFileSync } from "node:fs";
import type { Express, Request, Response } from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { Authorization, FletAuthError, type FletAuthMiddleware } from "../../lib/index.js";
import { EXPRESS, buildApp, signIn, standardProvider, type ExpressFactory, type Agent } from "../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../helpers/fake-provider.js";
import {
  addStoredTokenRoute,
  manualClock,
  recordEvents,
  useServerLifecycle,
  type ManualClock,
  type RecordedEvents,
  type StoredToken,
} from "../helpers/refresh-harness.js";
import { vectorPath } from "../helpers/vectors.js";


interface RestoreResult {
  ok: boolean;
  // success
  isAuthorization?: boolean;
  provider?: string;
  userId?: string;
  accessToken?: string;
  refreshToken?: string | null;
  expiresAt?: number | null;
  reqAuthUserId?: string | null;
  // failure
  isFletAuthError?: boolean;
  code?: string;
  message?: string;
}

interface AuthoFletVector {
  name: string;
  json: string;
  fields: { access_token: string; expires_at: number; refresh_token: string; scope: string[]; token_type: string; expires_in: number };
  token_endpoint_response: { now: number };
}

function readAuth0Vector(): AuthoFletVector {
  const file = vectorPath("oauth-token.json");
  const vectors = JSON.parse(readFileSync(file, "utf8")) as { cases: AuthoFletVector[] };
  const found = vectors.cases.find((c) => c.name === "auth0_with_refresh_int_expires_at");
  if (!found) throw new Error(`auth0_with_refresh_int_expires_at not found in ${file}`);
  return found;
}

async function readText(req: Request): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `GET /saved`: `req.auth.token.toJson()` as text. `POST /restore` (body: the token JSON,
 * header x-provider): `await req.login(provider, { savedToken })` and a normal JSON answer.
 * `POST /signout`: `await req.logout()`.
 */
function addSavedTokenRoutes(app: Express): void {
  app.get("/saved", (req: Request, res: Response) => {
    if (!req.auth) return void res.status(401).type("text/plain").send("signed out");
    res.type("text/plain").send(req.auth.token.toJson());
  });
  app.post("/restore", async (req: Request, res: Response) => {
    const savedToken = await readText(req);
    const provider = req.get("x-provider") ?? "demo";
    let result: RestoreResult;
    try {
      const auth = await req.login(provider, { savedToken });
      result = {
        ok: true,
        isAuthorization: auth instanceof Authorization,
        provider: auth.provider,
        userId: auth.user?.id,
        accessToken: auth.token.accessToken,
        refreshToken: auth.token.refreshToken ?? null,
        expiresAt: auth.token.expiresAt ?? null,
        reqAuthUserId: req.auth?.user?.id ?? null,
      };
    } catch (err) {
      result = {
        ok: false,
        isFletAuthError: err instanceof FletAuthError,
        code: err instanceof FletAuthError ? err.code : undefined,
        message: err instanceof Error ? err.message : String(err),
      };
    }
    res.status(200).json(result);
  });
  app.post("/signout", async (req: Request, res: Response) => {
    await req.logout();
    res.json({ signedIn: req.auth !== undefined });
  });
}

interface World {
  fake: FakeProvider;
  app: Express;
  auth: FletAuthMiddleware;
  clock: ManualClock;
  events: RecordedEvents;
  /** Signs a new agent in through the provider and returns it with its token JSON. */
  signedInAgent(): Promise<{ agent: Agent; saved: string }>;
  restore(agent: Agent, savedToken: string, provider?: string): Promise<{ res: request.Response; body: RestoreResult }>;
  me(agent: Agent): Promise<{ signedIn: boolean; provider: string | null; user: { id: string } | null }>;
  stored(agent: Agent): Promise<StoredToken>;
}

const cleanups = useServerLifecycle();

async function world(create: ExpressFactory, startMs?: number): Promise<World> {
  const fake = await startFakeProvider();
  cleanups.push(() => fake.close());
  const clock = manualClock(startMs);
  const { app, auth } = buildApp(create, { providers: { demo: standardProvider(fake) }, clock: clock.fn });
  addStoredTokenRoute(app);
  addSavedTokenRoutes(app);
  const events = recordEvents(auth);
  return {
    fake,
    app,
    auth,
    clock,
    events,
    async signedInAgent() {
      const agent = request.agent(app);
      const done = await signIn(agent, fake, "/login/demo");
      expect(done.status, done.text).toBe(303);
      const saved = await agent.get("/saved").expect(200);
      return { agent, saved: saved.text };
    },
    async restore(agent, savedToken, provider = "demo") {
      const res = await agent.post("/restore").set("content-type", "text/plain").set("x-provider", provider).send(savedToken);
      return { res, body: res.body as RestoreResult };
    },
    async me(agent) {
      return (await agent.get("/me").expect(200)).body as { signedIn: boolean; provider: string | null; user: { id: string } | null };
    },
    async stored(agent) {
      return (await agent.get("/stored-token").expect(200)).body as StoredToken;
    },
  };
}

describe.each(EXPRESS)("req.login(provider, { savedToken }) ($name)", ({ create }) => {
  it("restores the sign-in on a fresh browser without any redirect and resolves to the Authorization", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    const loginsBefore = w.events.login.length;
    const codeExchanges = w.fake.count("/token", "authorization_code");
    const authorizeCalls = w.fake.requests.filter((r) => r.path === "/authorize").length;

    const fresh = request.agent(w.app);
    expect((await w.me(fresh)).signedIn).toBe(false);
    const { res, body } = await w.restore(fresh, saved);
    // The route's own response, not a redirect to the provider.
    expect(res.status).toBe(200);
    expect(res.headers["location"]).toBeUndefined();
    expect(body).toMatchObject({
      ok: true,
      isAuthorization: true,
      provider: "demo",
      userId: "1001",
      accessToken: JSON.parse(saved).access_token,
      reqAuthUserId: "1001",
    });
    expect(w.fake.count("/token", "authorization_code")).toBe(codeExchanges);
    expect(w.fake.requests.filter((r) => r.path === "/authorize").length).toBe(authorizeCalls);
    expect(w.fake.count("/token", "refresh_token")).toBe(0);

    const me = await w.me(fresh);
    expect(me).toMatchObject({ signedIn: true, provider: "demo", user: { id: "1001" } });
    expect((await fresh.get("/saved").expect(200)).text).toBe(saved);
    expect(w.events.login.slice(loginsBefore)).toEqual([
      { provider: "demo", error: undefined, source: "savedToken", userId: "1001", accessToken: JSON.parse(saved).access_token },
    ]);
  });

  it("refreshes an expiring saved token first (one refresh call) and stores the refreshed token", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    const savedFields = JSON.parse(saved) as { access_token: string; expires_at: number; refresh_token: string };
    w.clock.setBeforeExpiry(savedFields.expires_at, 30);

    const fresh = request.agent(w.app);
    const { res, body } = await w.restore(fresh, saved);
    expect(res.status).toBe(200);
    expect(body.ok, body.message).toBe(true);
    expect(w.fake.count("/token", "refresh_token")).toBe(1);
    expect(body.accessToken).not.toBe(savedFields.access_token);
    expect(body.expiresAt).toBe(Math.round(w.clock.now() / 1000) + 3600);
    expect(body.userId).toBe("1001");

    const stored = await w.stored(fresh);
    expect(stored?.access_token).toBe(body.accessToken);
    expect(stored?.refresh_token).toBe(body.refreshToken);
    // Already fresh: the next getToken() does not refresh again.
    const token = await fresh.get("/token").expect(200);
    expect(token.body.accessToken).toBe(body.accessToken);
    expect(w.fake.count("/token", "refresh_token")).toBe(1);
    expect(w.events.login.at(-1)).toMatchObject({ source: "savedToken", error: undefined });
  });

  it("a copy of an expiring saved token restored after the first restore goes to the provider, which refuses the rotated-out refresh token (RFC 9700 §4.14.2)", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    w.clock.setBeforeExpiry((JSON.parse(saved) as { expires_at: number }).expires_at, 30);

    const first = await w.restore(request.agent(w.app), saved);
    expect(first.body.ok, first.body.message).toBe(true);
    expect(w.fake.count("/token", "refresh_token")).toBe(1);

    // Moments later, the same saved token again (a copy): flet-auth does not hand it the first
    // restore's successor — the provider sees the old refresh token and its reuse detection acts.
    w.clock.advanceSeconds(1);
    const second = await w.restore(request.agent(w.app), saved);
    expect(second.body).toMatchObject({ ok: false, code: "refresh_failed" });
    expect(w.fake.count("/token", "refresh_token")).toBe(2);
    expect(second.body.accessToken).toBeUndefined();
  });

  it("an expiring saved token whose refresh is refused (invalid_grant) rejects with refresh_failed and signs nothing in", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    w.fake.revokeAll("refresh");
    w.clock.setBeforeExpiry((JSON.parse(saved) as { expires_at: number }).expires_at, 30);
    const loginsBefore = w.events.login.length;
    const fresh = request.agent(w.app);
    const { body } = await w.restore(fresh, saved);
    expect(body).toMatchObject({ ok: false, isFletAuthError: true, code: "refresh_failed" });
    expect((await w.me(fresh)).signedIn).toBe(false);
    expect(w.events.login.slice(loginsBefore).filter((e) => e.error === undefined)).toEqual([]);
  });

  it("accepts a token JSON written by Flet (Auth0 vector, int expires_at, unknown-to-us refresh token) byte for byte", async () => {
    const vector = readAuth0Vector();
    // The vector's "now", so its expires_at is 24 h ahead and no refresh is due.
    const w = await world(create, Math.round(vector.token_endpoint_response.now * 1000));
    const { saved } = await w.signedInAgent();
    const liveAccessToken = (JSON.parse(saved) as { access_token: string }).access_token;
    const fletJson = vector.json.replace(JSON.stringify(vector.fields.access_token), JSON.stringify(liveAccessToken));
    expect(fletJson).not.toBe(vector.json);

    const fresh = request.agent(w.app);
    const { body } = await w.restore(fresh, fletJson);
    expect(body, body.message).toMatchObject({
      ok: true,
      provider: "demo",
      userId: "1001",
      accessToken: liveAccessToken,
      refreshToken: vector.fields.refresh_token,
      expiresAt: vector.fields.expires_at,
    });
    expect(w.fake.count("/token", "refresh_token")).toBe(0);
    expect(await w.stored(fresh)).toEqual({ ...vector.fields, access_token: liveAccessToken });
    // Saved again, it is the very JSON Flet wrote.
    expect((await fresh.get("/saved").expect(200)).text).toBe(fletJson);
    expect(w.events.login.at(-1)).toMatchObject({ source: "savedToken", error: undefined, userId: "1001" });
  });

  describe("a bad savedToken rejects with invalid_saved_token and changes nothing", () => {
    it.each([
      { what: "garbage", savedToken: "not a token" },
      { what: "empty", savedToken: "" },
      { what: "{}", savedToken: "{}" },
      { what: "null", savedToken: "null" },
      { what: "an array", savedToken: '["access_token"]' },
      { what: "a non-string access_token", savedToken: '{"access_token":42}' },
      { what: "truncated JSON", savedToken: '{"access_token":"abc","expires_at":17' },
    ])("$what", async ({ savedToken }) => {
      const w = await world(create);
      const { agent, saved } = await w.signedInAgent();
      const before = await w.stored(agent);
      const loginsBefore = w.events.login.length;
      const providerCalls = w.fake.requests.length;

      const { res, body } = await w.restore(agent, savedToken);
      expect(body).toMatchObject({ ok: false, isFletAuthError: true, code: "invalid_saved_token" });
      // Same session, same sign-in: no new cookie, same token, same user.
      expect(res.headers["set-cookie"]).toBeUndefined();
      expect(await w.stored(agent)).toEqual(before);
      expect(await w.me(agent)).toMatchObject({ signedIn: true, provider: "demo", user: { id: "1001" } });
      expect((await agent.get("/saved").expect(200)).text).toBe(saved);
      expect(w.fake.requests.length).toBe(providerCalls);
      expect(w.events.login.slice(loginsBefore).filter((e) => e.error === undefined)).toEqual([]);

      // And a fresh browser stays signed out.
      const fresh = request.agent(w.app);
      const second = await w.restore(fresh, savedToken);
      expect(second.body.code).toBe("invalid_saved_token");
      expect((await w.me(fresh)).signedIn).toBe(false);
    });
  });

  it("a saved token the provider rejects (userinfo 401) rejects with user_fetch_failed and leaves the session signed out", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    w.fake.revokeAll("access");
    const loginsBefore = w.events.login.length;
    const fresh = request.agent(w.app);
    const { res, body } = await w.restore(fresh, saved);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ ok: false, isFletAuthError: true, code: "user_fetch_failed" });
    expect(w.fake.requests.filter((r) => r.path === "/userinfo").at(-1)).toBeDefined();
    expect((await w.me(fresh)).signedIn).toBe(false);
    expect((await fresh.get("/stored-token").expect(200)).body).toBeNull();
    expect(w.events.login.slice(loginsBefore).filter((e) => e.error === undefined)).toEqual([]);
  });

  it("an unknown provider rejects with unknown_provider", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    const fresh = request.agent(w.app);
    const { body } = await w.restore(fresh, saved, "nope");
    expect(body).toMatchObject({ ok: false, isFletAuthError: true, code: "unknown_provider" });
    expect((await w.me(fresh)).signedIn).toBe(false);
  });

  it("req.logout() then clears the restored sign-in and emits logout", async () => {
    const w = await world(create);
    const { saved } = await w.signedInAgent();
    const fresh = request.agent(w.app);
    expect((await w.restore(fresh, saved)).body.ok).toBe(true);
    expect((await w.me(fresh)).signedIn).toBe(true);
    const logoutsBefore = w.events.logout.length;

    const out = await fresh.post("/signout").expect(200);
    expect(out.body).toEqual({ signedIn: false });
    expect((await w.me(fresh)).signedIn).toBe(false);
    expect((await fresh.get("/stored-token").expect(200)).body).toBeNull();
    expect(w.events.logout.slice(logoutsBefore)).toEqual([{ provider: "demo", reason: "logout" }]);
  });
});
