/**
 * The whole sign-in for every built-in preset (and the generic provider) against the fake
 * provider over loopback, on Express 4 and 5: the authorize URL, the user, the groups, the
 * fetchUser/fetchGroups switches, several providers on one callback path, scope merging through
 * the routes, and a GitHub OAuth App token that is never refreshed.
 */
import type { Request, Response } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OAuthProvider } from "../../lib/index.js";
import { EXPRESS, buildApp, pathOf, shouldRedirectToProvider, signIn, standardProvider, type MeBody } from "../helpers/apps.js";
import { GITHUB_OAUTH_APP, startFakeProvider, type FakeProvider, type RecordedRequest } from "../helpers/fake-provider.js";
import {
  REDIRECT_URL,
  auth0Preset,
  azurePreset,
  genericPreset,
  githubPreset,
  googlePreset,
  startGateway,
  type Gateway,
} from "../helpers/providers-presets.js";

const AUDIENCE = "https://api.example.com";
const TENANT = "contoso.onmicrosoft.com";
const GOOGLE_USER_SCOPES = ["https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/userinfo.profile"];

interface World {
  fake: FakeProvider;
  gateway: Gateway;
}

interface Preset {
  name: "generic" | "github" | "azure" | "auth0" | "google";
  create(w: World): OAuthProvider;
  /** Where the browser is sent (the authorize URL starts with this). */
  authorizeEndpoint(w: World): string;
  /** The fake's path of the token endpoint. */
  tokenPath: string;
  /** The fake's paths hit to fetch the user. */
  userPaths: readonly string[];
  /** The expected scope list for (fetchUser, fetchGroups). */
  scope(fetchUser: boolean, fetchGroups: boolean): string[];
  /** Extra authorize parameters the preset must send. */
  extraParams?: Readonly<Record<string, string>>;
  /** Profile fields the signed-in user must have (besides id "1001"). */
  userFields: Readonly<Record<string, unknown>>;
}

const PRESETS: readonly Preset[] = [
  {
    name: "generic",
    create: ({ fake }) => genericPreset(fake),
    authorizeEndpoint: ({ fake }) => `${fake.url}/authorize`,
    tokenPath: "/token",
    userPaths: ["/userinfo"],
    scope: (user) => ["offline_access", ...(user ? ["openid", "profile"] : [])],
    userFields: { sub: "1001", login: "octocat" },
  },
  {
    name: "github",
    create: ({ fake }) => githubPreset(fake),
    authorizeEndpoint: ({ fake }) => `${fake.url}/login/oauth/authorize`,
    tokenPath: "/login/oauth/access_token",
    userPaths: ["/api/user", "/api/user/emails"],
    scope: (user, groups) => [...(user ? ["read:user", "user:email"] : []), ...(groups ? ["read:org"] : [])],
    // The primary address of /user/emails replaces /user's null email.
    userFields: { login: "octocat", name: "The Octocat", email: "octocat@example.com" },
  },
  {
    name: "azure",
    create: ({ fake, gateway }) => azurePreset(fake, gateway, TENANT),
    authorizeEndpoint: ({ gateway }) => `${gateway.url}/${TENANT}/oauth2/v2.0/authorize`,
    tokenPath: "/token",
    userPaths: ["/userinfo"],
    scope: (user) => (user ? ["user.read"] : []),
    userFields: { login: "octocat" },
  },
  {
    name: "auth0",
    create: ({ fake, gateway }) => auth0Preset(gateway, fake, AUDIENCE),
    authorizeEndpoint: ({ gateway }) => `${gateway.url}/authorize`,
    tokenPath: "/token",
    userPaths: ["/userinfo"],
    scope: (user) => ["offline_access", ...(user ? ["openid", "profile", "email"] : [])],
    extraParams: { audience: AUDIENCE },
    userFields: { sub: "1001", login: "octocat" },
  },
  {
    name: "google",
    create: ({ fake }) => googlePreset(fake),
    authorizeEndpoint: ({ fake }) => `${fake.url}/authorize`,
    tokenPath: "/token",
    userPaths: ["/userinfo"],
    scope: (user) => (user ? GOOGLE_USER_SCOPES : []),
    userFields: { sub: "1001", login: "octocat" },
  },
];

/** The fake's requests after `mark` (an index into `fake.requests`). */
const since = (fake: FakeProvider, mark: number): RecordedRequest[] => fake.requests.slice(mark);

/** The scope parameter as a list (absent → []). */
const scopeOf = (url: URL): string[] => (url.searchParams.get("scope") ?? "").split(" ").filter((s) => s !== "");

/** Asserts the parts of the authorize URL every preset must get right; returns it. */
function checkAuthorizeUrl(res: request.Response, w: World, preset: Preset, fetchUser: boolean, fetchGroups: boolean): URL {
  const url = shouldRedirectToProvider(res, preset.authorizeEndpoint(w));
  const q = url.searchParams;
  expect(`${url.origin}${url.pathname}`).toBe(preset.authorizeEndpoint(w));
  expect(q.get("response_type")).toBe("code");
  expect(q.get("client_id")).toBe(w.fake.clientId);
  expect(q.get("redirect_uri")).toBe(REDIRECT_URL);
  expect(scopeOf(url)).toEqual(preset.scope(fetchUser, fetchGroups));
  if (preset.scope(fetchUser, fetchGroups).length === 0) expect(q.has("scope")).toBe(false);
  // ≥ 128 bits of state: at least 22 base64url characters.
  expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(q.get("code_challenge_method")).toBe("S256");
  for (const [k, v] of Object.entries(preset.extraParams ?? {})) expect(q.get(k)).toBe(v);
  // Every parameter appears once.
  expect(new Set([...q.keys()]).size).toBe([...q.keys()].length);
  return url;
}

/** Completes a login whose authorize redirect is `start`: consent at the fake, then the callback. */
async function finish(agent: ReturnType<typeof request.agent>, fake: FakeProvider, start: request.Response): Promise<request.Response> {
  const callback = await fake.authorize(start.headers["location"] as string);
  return agent.get(pathOf(callback));
}


describe.each(EXPRESS)("provider presets ($name)", ({ create }) => {
  const w = {} as World;

  beforeAll(async () => {
    w.fake = await startFakeProvider();
    w.gateway = await startGateway(w.fake);
  });
  afterAll(async () => {
    await w.gateway?.close();
    await w.fake?.close();
  });

  describe.each(PRESETS)("$name", (preset) => {
    it("signs in: authorize URL, code exchange, user with a string id", async () => {
      const { app, auth } = buildApp(create, { providers: { [preset.name]: preset.create(w) } });
      const events: Array<{ error: unknown; provider: string; id: unknown }> = [];
      auth.on("login", (e) => void events.push({ error: e.error, provider: e.provider, id: e.auth?.user?.id }));
      const agent = request.agent(app);
      const mark = w.fake.requests.length;

      const start = await agent.get(`/login/${preset.name}`);
      checkAuthorizeUrl(start, w, preset, true, false);
      const done = await finish(agent, w.fake, start);
      expect(done.status, done.text).toBe(303);
      expect(done.headers["location"]).toBe("/");

      const me = (await agent.get("/me")).body as MeBody;
      expect(me.signedIn).toBe(true);
      expect(me.provider).toBe(preset.name);
      expect(me.user).not.toBeNull();
      expect(me.user!.id).toBe("1001");
      expect(typeof me.user!.id).toBe("string");
      expect(me.user).toMatchObject(preset.userFields);
      expect(me.user!.groups).toEqual([]);
      expect(events).toEqual([{ error: undefined, provider: preset.name, id: "1001" }]);

      const requests = since(w.fake, mark);
      expect(requests.filter((r) => r.path === preset.tokenPath && r.form.grant_type === "authorization_code")).toHaveLength(1);
      for (const p of preset.userPaths) expect(requests.some((r) => r.path === p), `requested ${p}`).toBe(true);
      const token = await agent.get("/token");
      expect(token.status).toBe(200);
      expect(typeof token.body.accessToken).toBe("string");
    });

    it("fetchUser: false → signed in with no user, and the user endpoint is never called", async () => {
      const { app } = buildApp(create, { providers: { [preset.name]: preset.create(w) }, fetchUser: false });
      const agent = request.agent(app);
      const mark = w.fake.requests.length;
      const start = await agent.get(`/login/${preset.name}`);
      checkAuthorizeUrl(start, w, preset, false, false);
      const done = await finish(agent, w.fake, start);
      expect(done.status, done.text).toBe(303);
      const me = (await agent.get("/me")).body as MeBody;
      expect(me).toMatchObject({ signedIn: true, provider: preset.name, user: null });
      const requests = since(w.fake, mark);
      expect(requests.filter((r) => preset.userPaths.includes(r.path) || r.path.startsWith("/api/"))).toEqual([]);
    });

    it("fetchGroups: true with fetchUser: false → no user, no groups, no group request", async () => {
      const { app } = buildApp(create, { providers: { [preset.name]: preset.create(w) }, fetchUser: false, fetchGroups: true });
      const agent = request.agent(app);
      const mark = w.fake.requests.length;
      const start = await agent.get(`/login/${preset.name}`);
      // Flet still merges the group scopes.
      checkAuthorizeUrl(start, w, preset, false, true);
      const done = await finish(agent, w.fake, start);
      expect(done.status, done.text).toBe(303);
      const me = (await agent.get("/me")).body as MeBody;
      expect(me).toMatchObject({ signedIn: true, provider: preset.name, user: null });
      expect(since(w.fake, mark).filter((r) => r.path === "/api/user/teams" || preset.userPaths.includes(r.path))).toEqual([]);
    });

    if (preset.name !== "github") {
      it("fetchGroups: true → the user has no groups (the preset has no group source)", async () => {
        const { app } = buildApp(create, { providers: { [preset.name]: preset.create(w) }, fetchGroups: true });
        const agent = request.agent(app);
        const done = await signIn(agent, w.fake, `/login/${preset.name}`);
        expect(done.status, done.text).toBe(303);
        const me = (await agent.get("/me")).body as MeBody;
        expect(me.user?.id).toBe("1001");
        expect(me.user?.groups).toEqual([]);
      });
    }
  });

  describe("Azure and Auth0 endpoints", () => {
    it("Azure sends the code exchange to <authority>/<tenant>/oauth2/v2.0/token", async () => {
      const { app } = buildApp(create, { providers: { azure: azurePreset(w.fake, w.gateway, TENANT) } });
      const mark = w.gateway.requests.length;
      const done = await signIn(request.agent(app), w.fake, "/login/azure");
      expect(done.status, done.text).toBe(303);
      const paths = w.gateway.requests.slice(mark).map((r) => `${r.method} ${r.path}`);
      expect(paths).toContain(`GET /${TENANT}/oauth2/v2.0/authorize`);
      expect(paths).toContain(`POST /${TENANT}/oauth2/v2.0/token`);
    });

    it("Auth0 sends the code exchange to <domain>/oauth/token and fetches <domain>/userinfo", async () => {
      const { app } = buildApp(create, { providers: { auth0: auth0Preset(w.gateway, w.fake, AUDIENCE) } });
      const mark = w.gateway.requests.length;
      const done = await signIn(request.agent(app), w.fake, "/login/auth0");
      expect(done.status, done.text).toBe(303);
      const paths = w.gateway.requests.slice(mark).map((r) => `${r.method} ${r.path}`);
      expect(paths).toEqual(expect.arrayContaining(["GET /authorize", "POST /oauth/token", "GET /userinfo"]));
    });

    it("Auth0 without an audience sends no audience parameter", async () => {
      const { app } = buildApp(create, { providers: { auth0: auth0Preset(w.gateway, w.fake) } });
      const start = await request.agent(app).get("/login/auth0");
      expect(shouldRedirectToProvider(start, `${w.gateway.url}/authorize`).searchParams.has("audience")).toBe(false);
    });
  });

  describe("GitHub user and teams", () => {
    it("groups: every page of teams (130 teams), each named org/Team name", async () => {
      w.fake.set({ teams: 130 });
      try {
        const { app } = buildApp(create, { providers: { github: githubPreset(w.fake) }, fetchGroups: true });
        const agent = request.agent(app);
        const mark = w.fake.requests.length;
        const start = await agent.get("/login/github");
        checkAuthorizeUrl(start, w, PRESETS.find((p) => p.name === "github")!, true, true);
        const done = await finish(agent, w.fake, start);
        expect(done.status, done.text).toBe(303);
        const me = (await agent.get("/me")).body as MeBody;
        const groups = me.user!.groups;
        expect(groups).toHaveLength(130);
        expect(groups.map((g) => g["id"]).sort()).toEqual(Array.from({ length: 130 }, (_, i) => 4001 + i));
        const names = groups.map((g) => g.name);
        expect(new Set(names).size).toBe(130);
        // The two "Developers" teams live in different organizations and stay apart.
        expect(names).toEqual(expect.arrayContaining(["acme/Developers", "globex/Developers", "acme/Admins", "globex/Team 130"]));
        for (const g of groups) {
          const org = (g["organization"] as { login: string }).login;
          // The team's own name survives in the fake's description, "<name> of <org>".
          const teamName = String(g["description"]).replace(new RegExp(` of ${org}$`), "");
          expect(g.name).toBe(`${org}/${teamName}`);
          expect(typeof g["slug"]).toBe("string");
        }
        expect(since(w.fake, mark).filter((r) => r.path === "/api/user/teams").length).toBeGreaterThanOrEqual(2);
      } finally {
        w.fake.set({ teams: undefined });
      }
    });

    it("keeps /user's email when /user/emails has no primary address", async () => {
      w.fake.set({ emails: [{ email: "other@example.com", primary: false, verified: true }] });
      try {
        const { app } = buildApp(create, { providers: { github: githubPreset(w.fake) } });
        const agent = request.agent(app);
        expect((await signIn(agent, w.fake, "/login/github")).status).toBe(303);
        const me = (await agent.get("/me")).body as MeBody;
        expect(me.user).toMatchObject({ id: "1001", login: "octocat", email: null });
      } finally {
        w.fake.set({ emails: undefined });
      }
    });

    it("the numeric GitHub id becomes a string id", async () => {
      w.fake.set({ user: { id: 583231, login: "hubot", name: "Hubot", email: "hubot@example.com" } });
      try {
        const { app } = buildApp(create, { providers: { github: githubPreset(w.fake) } });
        const agent = request.agent(app);
        expect((await signIn(agent, w.fake, "/login/github")).status).toBe(303);
        const me = (await agent.get("/me")).body as MeBody;
        expect(me.user).toMatchObject({ id: "583231", login: "hubot" });
      } finally {
        w.fake.set({ user: undefined });
      }
    });
  });

  describe("several providers on one callback path", () => {
    let other: FakeProvider;
    beforeAll(async () => {
      other = await startFakeProvider({ user: { id: 2002, login: "hubot", name: "Hubot", email: "hubot@example.com" } });
    });
    afterAll(() => other?.close());

    const buildShared = () => {
      const providers = {
        alpha: standardProvider(w.fake, { redirectUrl: REDIRECT_URL }),
        beta: standardProvider(other, { redirectUrl: REDIRECT_URL }),
        github: githubPreset(w.fake),
      };
      expect(new Set(Object.values(providers).map((p) => p.callbackPath))).toEqual(new Set(["/oauth_callback"]));
      const built = buildApp(create, { providers });
      built.app.get("/users", (req: Request, res: Response) => {
        res.json(Object.fromEntries(Object.entries(req.authorizations).map(([name, a]) => [name, a.user?.id ?? null])));
      });
      return built;
    };

    it("each login ends on the provider its state names", async () => {
      const { app } = buildShared();
      const agent = request.agent(app);
      const tokenCalls = () => ({ a: w.fake.count("/token", "authorization_code"), b: other.count("/token", "authorization_code"), g: w.fake.count("/login/oauth/access_token", "authorization_code") });

      let before = tokenCalls();
      expect((await signIn(agent, other, "/login/beta")).status).toBe(303);
      expect((await agent.get("/me")).body).toMatchObject({ signedIn: true, provider: "beta", user: { id: "2002", login: "hubot" } });
      expect(tokenCalls()).toEqual({ ...before, b: before.b + 1 });

      before = tokenCalls();
      expect((await signIn(agent, w.fake, "/login/github")).status).toBe(303);
      expect((await agent.get("/me")).body).toMatchObject({ signedIn: true, provider: "github", user: { id: "1001", login: "octocat" } });
      expect(tokenCalls()).toEqual({ ...before, g: before.g + 1 });

      before = tokenCalls();
      expect((await signIn(agent, w.fake, "/login/alpha")).status).toBe(303);
      expect((await agent.get("/me")).body).toMatchObject({ signedIn: true, provider: "alpha", user: { id: "1001", sub: "1001" } });
      expect(tokenCalls()).toEqual({ ...before, a: before.a + 1 });

      expect((await agent.get("/users")).body).toEqual({ beta: "2002", github: "1001", alpha: "1001" });
    });

    it("with two logins pending, the callback completes the one its state names, not the latest", async () => {
      const { app } = buildShared();
      const agent = request.agent(app);
      const first = await agent.get("/login/beta");
      shouldRedirectToProvider(first, `${other.url}/authorize`);
      const second = await agent.get("/login/alpha");
      shouldRedirectToProvider(second, `${w.fake.url}/authorize`);
      const done = await finish(agent, other, first);
      expect(done.status, done.text).toBe(303);
      expect((await agent.get("/me")).body).toMatchObject({ signedIn: true, provider: "beta", user: { id: "2002" }, providers: ["beta"] });
    });
  });

  describe("scope merging through the routes", () => {
    it("the factory scope option comes before the provider's scopes on GET /login/:provider", async () => {
      const { app } = buildApp(create, { providers: { demo: genericPreset(w.fake) }, scope: ["factory:read", "openid"] });
      const start = await request.agent(app).get("/login/demo");
      expect(scopeOf(shouldRedirectToProvider(start, `${w.fake.url}/authorize`))).toEqual(["factory:read", "openid", "offline_access", "profile"]);
    });

    it("req.login scope (login, then factory, then provider scopes), de-duplicated, the caller's array untouched", async () => {
      const { app } = buildApp(create, { providers: { demo: genericPreset(w.fake) }, scope: ["factory:read"] });
      const loginScope = Object.freeze(["repo", "openid", "repo"]) as readonly string[];
      app.get("/custom-login", (req: Request, _res: Response, next: (err?: unknown) => void) => {
        req.login("demo", { scope: loginScope, returnTo: "/scope" }).catch(next);
      });
      app.get("/scope", (req: Request, res: Response) => res.json({ scope: req.auth?.scope ?? null }));
      const agent = request.agent(app);
      const start = await agent.get("/custom-login");
      const expected = ["repo", "openid", "factory:read", "offline_access", "profile"];
      expect(scopeOf(shouldRedirectToProvider(start, `${w.fake.url}/authorize`))).toEqual(expected);
      expect(loginScope).toEqual(["repo", "openid", "repo"]);
      const done = await finish(agent, w.fake, start);
      expect(done.status, done.text).toBe(303);
      expect(done.headers["location"]).toBe("/scope");
      expect((await agent.get("/scope")).body).toEqual({ scope: expected });
    });

    it("GitHub with a login scope and groups asks Flet's merged list", async () => {
      const { app } = buildApp(create, { providers: { github: githubPreset(w.fake) }, fetchGroups: true });
      app.get("/repo-login", (req: Request, _res: Response, next: (err?: unknown) => void) => {
        req.login("github", { scope: ["public_repo"] }).catch(next);
      });
      const start = await request.agent(app).get("/repo-login");
      expect(scopeOf(shouldRedirectToProvider(start, `${w.fake.url}/login/oauth/authorize`))).toEqual(["public_repo", "read:user", "user:email", "read:org"]);
    });
  });

  describe("GitHub OAuth App token (no expiry, no refresh token)", () => {
    let app: ReturnType<typeof buildApp>["app"];
    let oauthApp: FakeProvider;
    let now = Date.now();

    beforeAll(async () => {
      oauthApp = await startFakeProvider({ ...GITHUB_OAUTH_APP });
      now = Date.now();
      // No sign-in lifetime: the property is about refreshing, not about lifetimes.
      ({ app } = buildApp(create, { providers: { github: githubPreset(oauthApp) }, clock: () => now, absoluteTimeoutMs: Infinity, idleTimeoutMs: Infinity }));
    });
    afterAll(() => oauthApp?.close());

    it("is never refreshed by getToken, however much time passes", async () => {
      const agent = request.agent(app);
      expect((await signIn(agent, oauthApp, "/login/github")).status).toBe(303);
      const first = await agent.get("/token");
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ refreshToken: null, expiresAt: null });
      now += 10 * 365 * 86_400_000;
      const later = await agent.get("/token");
      expect(later.status).toBe(200);
      expect(later.body.accessToken).toBe(first.body.accessToken);
      expect(oauthApp.count("/login/oauth/access_token", "refresh_token")).toBe(0);
      expect(oauthApp.count("/login/oauth/access_token")).toBe(1);
    });
  });
});
