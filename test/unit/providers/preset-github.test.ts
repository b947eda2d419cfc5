/**
 * GitHubOAuthProvider (lib/providers/github.ts) through a whole sign-in against the fake provider:
 * what the user and the teams become for GitHub's odd or failing answers, which `/user/emails`
 * failures are tolerated, the cap on team pages, the API's media type; and the constructor's
 * options.
 */
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitHubOAuthProvider, createOAuthHttp, type GitHubOAuthProviderOptions, type OAuthHttp } from "../../../lib/index.js";
import { nextPage } from "../../../lib/providers/github.js";
import { EXPRESS, buildApp, signIn, type MeBody, type TestAuthOptions } from "../../helpers/apps.js";
import { startFakeProvider, type FakeProvider } from "../../helpers/fake-provider.js";
import { githubPreset } from "../../helpers/providers-presets.js";

const create = EXPRESS[0].create;
const GITHUB_MEDIA_TYPE = "application/vnd.github+json";

let fake: FakeProvider;
beforeEach(async () => {
  fake = await startFakeProvider();
});
afterEach(async () => {
  await fake.close();
});

interface Outcome {
  /** The callback's status. */
  status: number;
  me: MeBody;
  events: Array<{ error: string | undefined; errorDescription: string | undefined }>;
}

/** A whole GitHub sign-in on a fresh app; what the callback answered, `/me` and the login events. */
async function signInGitHub(options: Omit<TestAuthOptions, "providers"> = {}): Promise<Outcome> {
  const { app, auth } = buildApp(create, { providers: { github: githubPreset(fake) }, ...options });
  const events: Outcome["events"] = [];
  auth.on("login", (e) => void events.push({ error: e.error, errorDescription: e.errorDescription }));
  const agent = request.agent(app);
  const done = await signIn(agent, fake, "/login/github");
  const me = (await agent.get("/me")).body as MeBody;
  return { status: done.status, me, events };
}

/** Queues a one-shot JSON body for the next request to the fake's `path`. */
const answer = (path: string, body: unknown, headers?: Record<string, string>): void =>
  fake.nextResponse(path, { body: JSON.stringify(body), ...(headers ? { headers } : {}) });

/** Asserts a failed sign-in: user_fetch_failed, a description matching `description`, signed out. */
function expectUserFetchFailed(outcome: Outcome, description: RegExp): void {
  expect(outcome.status).toBe(502);
  expect(outcome.events).toHaveLength(1);
  expect(outcome.events[0]?.error).toBe("user_fetch_failed");
  expect(outcome.events[0]?.errorDescription).toMatch(description);
  expect(outcome.me.signedIn).toBe(false);
}

describe("GitHub /user", () => {
  it.each([
    ["an object without id", { login: "ghost", name: "Ghost" }],
    ["an object with a null id", { id: null, login: "ghost" }],
    ["JSON null", null],
    ["a list", [{ id: 1001 }]],
  ])("/user answering %s fails the sign-in: user_fetch_failed saying /user has no id", async (_what, body) => {
    answer("/api/user", body);
    expectUserFetchFailed(await signInGitHub(), /\/user answer has no id/);
  });

  it("a string id (not only GitHub's numeric one) is the user's id", async () => {
    answer("/api/user", { id: "MDQ6VXNlcjEwMDE=", login: "octocat", email: null });
    const outcome = await signInGitHub();
    expect(outcome.status).toBe(303);
    expect(outcome.events).toEqual([{ error: undefined, errorDescription: undefined }]);
    expect(outcome.me.user).toMatchObject({ id: "MDQ6VXNlcjEwMDE=", login: "octocat" });
  });
});

describe("GitHub /user/emails", () => {
  const PUBLIC = { id: 1001, login: "octocat", email: "public@example.com" };

  it("a primary entry whose email is not a string leaves /user's public email", async () => {
    answer("/api/user", PUBLIC);
    answer("/api/user/emails", [{ email: null, primary: true, verified: true }]);
    const outcome = await signInGitHub();
    expect(outcome.status).toBe(303);
    expect(outcome.me.user).toMatchObject({ id: "1001", email: "public@example.com" });
  });

  it.each([403, 404])("HTTP %i (no user:email scope or permission) is tolerated: signed in with /user's public email", async (status) => {
    answer("/api/user", PUBLIC);
    fake.nextResponse("/api/user/emails", { status, body: JSON.stringify({ message: "Resource not accessible by integration" }) });
    const outcome = await signInGitHub();
    expect(outcome.status).toBe(303);
    expect(outcome.events).toEqual([{ error: undefined, errorDescription: undefined }]);
    expect(outcome.me.user).toMatchObject({ id: "1001", email: "public@example.com" });
  });

  it.each([500, 503])("HTTP %i is not tolerated: the sign-in fails with user_fetch_failed", async (status) => {
    answer("/api/user", PUBLIC);
    fake.nextResponse("/api/user/emails", { status, body: JSON.stringify({ message: "Server Error" }) });
    expectUserFetchFailed(await signInGitHub(), new RegExp(`/api/user/emails answered HTTP ${status}`));
  });

  it("a failure that is not a provider answer (a custom http client's own error) fails the sign-in, even with status 403", async () => {
    const real = createOAuthHttp();
    const http: OAuthHttp = {
      exchangeCode: (client, params) => real.exchangeCode(client, params),
      refresh: (client, token) => real.refresh(client, token),
      getJson: async (url, token, headers) => {
        if (new URL(url).pathname === "/api/user/emails") throw Object.assign(new Error("emails: not reachable"), { status: 403 });
        return real.getJson(url, token, headers);
      },
    };
    expectUserFetchFailed(await signInGitHub({ http }), /^Fetching the user failed\.$/);
  });
});

describe("GitHub /user/teams", () => {
  it("entries that are no team with a string name are skipped; org/name only with a string organization login", async () => {
    answer("/api/user/teams", [
      null,
      7,
      "Developers",
      { id: 1 },
      { id: 2, name: 5 },
      { id: 3, name: "Solo" },
      { id: 4, name: "Core", organization: { login: "acme" } },
      { id: 5, name: "Ops", organization: { login: 42 } },
      { id: 6, name: "Web", organization: null },
    ]);
    const outcome = await signInGitHub({ fetchGroups: true });
    expect(outcome.status).toBe(303);
    const groups = outcome.me.user?.groups ?? [];
    expect(groups.map((g) => [g["id"], g.name])).toEqual([
      [3, "Solo"],
      [4, "acme/Core"],
      [5, "Ops"],
      [6, "Web"],
    ]);
  });

  it("a teams answer that is not a list fails the sign-in: user_fetch_failed saying /user/teams is not a list", async () => {
    answer("/api/user/teams", { message: "Not Found" });
    expectUserFetchFailed(await signInGitHub({ fetchGroups: true }), /\/user\/teams answer is not a list/);
  });

  it("at most 50 pages of teams are read, however many next links follow", async () => {
    for (let page = 1; page <= 51; page += 1) {
      answer("/api/user/teams", [{ id: page, name: `team-${page}` }], {
        link: `<${fake.url}/api/user/teams?per_page=100&page=${page + 1}>; rel="next"`,
      });
    }
    const outcome = await signInGitHub({ fetchGroups: true });
    expect(outcome.status).toBe(303);
    const names = (outcome.me.user?.groups ?? []).map((g) => g.name);
    expect(names).toEqual(Array.from({ length: 50 }, (_, i) => `team-${i + 1}`));
    expect(fake.count("/api/user/teams")).toBe(50);
  });
});

describe("GitHub REST API requests", () => {
  it(`every API request (user, emails, teams) asks for GitHub's media type ${GITHUB_MEDIA_TYPE}`, async () => {
    const outcome = await signInGitHub({ fetchGroups: true });
    expect(outcome.status).toBe(303);
    const api = fake.requests.filter((r) => r.path.startsWith("/api/"));
    expect(api.map((r) => r.path)).toEqual(["/api/user", "/api/user/emails", "/api/user/teams"]);
    for (const r of api) expect(r.headers["accept"], r.path).toBe(GITHUB_MEDIA_TYPE);
  });
});

describe("GitHubOAuthProvider options", () => {
  const BASE = { clientId: "client", clientSecret: "secret", redirectUrl: "http://127.0.0.1/oauth_callback" } as const;
  const github = (options: Partial<GitHubOAuthProviderOptions> = {}): GitHubOAuthProvider =>
    new GitHubOAuthProvider({ ...BASE, ...options });

  it("defaults: github.com's OAuth endpoints and api.github.com", () => {
    const p = github();
    expect(p.authorizationEndpoint).toBe("https://github.com/login/oauth/authorize");
    expect(p.tokenEndpoint).toBe("https://github.com/login/oauth/access_token");
    expect(p.apiUrl).toBe("https://api.github.com");
    expect(p.userEndpoint).toBe("https://api.github.com/user");
  });

  it.each([
    ["one trailing slash", "http://127.0.0.1:4000/api/"],
    ["several trailing slashes", "http://127.0.0.1:4000/api///"],
  ])("an apiUrl with %s loses them", (_what, apiUrl) => {
    const p = github({ apiUrl });
    expect(p.apiUrl).toBe("http://127.0.0.1:4000/api");
    expect(p.userEndpoint).toBe("http://127.0.0.1:4000/api/user");
  });

  it("scopes and authorizationParams are passed on to the provider", () => {
    const p = github({ scopes: ["repo"], authorizationParams: { allow_signup: "false" } });
    expect(p.scopes).toEqual(["repo"]);
    expect(p.authorizationParams).toEqual({ allow_signup: "false" });
  });

  it("without options at all: the missing clientId is reported, not a TypeError from reading undefined", () => {
    expect(() => new GitHubOAuthProvider(undefined as unknown as GitHubOAuthProviderOptions)).toThrow(
      /^GitHubOAuthProvider options\.clientId must be a non-empty string/,
    );
  });
});

describe("nextPage: the rel=\"next\" target of a Link header (RFC 8288 syntax variants)", () => {
  const ORIGIN = "https://api.github.com";
  const PAGE_2 = "https://api.github.com/user/teams?per_page=100&page=2";

  it.each([
    ["GitHub's own form", `<${PAGE_2}>; rel="next"`],
    ["whitespace before the semicolon", `<${PAGE_2}> ; rel="next"`],
    ["no whitespace after the semicolon", `<${PAGE_2}>;rel="next"`],
    ["several spaces after the semicolon", `<${PAGE_2}>;   rel="next"`],
    ["an unquoted rel", `<${PAGE_2}>; rel=next`],
    ["a rel listing several relation types", `<${PAGE_2}>; rel="prev next"`],
    ["next after another link", `<https://api.github.com/user/teams?page=1>; rel="prev", <${PAGE_2}>; rel="next"`],
  ])("finds the next page with %s", (_what, link) => {
    expect(nextPage(link, ORIGIN)).toBe(PAGE_2);
  });

  it("a next link that is no URL ends the paging, even if a later part names another next", () => {
    expect(nextPage(`<http://[bad>; rel="next", <${PAGE_2}>; rel="next"`, ORIGIN)).toBeUndefined();
  });

  it.each([
    ["no header", undefined],
    ["no next link", `<${PAGE_2}>; rel="last"`],
    ["a next link on another origin", `<https://evil.example/user/teams?page=2>; rel="next"`],
  ])("no next page for %s", (_what, link) => {
    expect(nextPage(link, ORIGIN)).toBeUndefined();
  });
});
