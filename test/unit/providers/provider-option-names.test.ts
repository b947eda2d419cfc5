/**
 * Provider options that the other option suites leave out: the error for a malformed `userScopes`,
 * `jwksUri`, `endSessionEndpoint` or `revocationEndpoint` names that option with the caller's
 * option path; `verifiesIdTokens` needs an issuer, a JWKS URI and the `openid` scope together;
 * Azure's tenant must be a string (a number or an array would pass the character check once
 * stringified); GitHub's API calls ask for GitHub's JSON media type.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { JsonResponse } from "../../../lib/oauth/http.js";
import type { OAuthProviderOptions, ProviderContext } from "../../../lib/providers/provider.js";
import { typeErrorMessage } from "../../helpers/type-errors.js";
type ProviderModule = typeof import("../../../lib/providers/provider.js");
type AzureModule = typeof import("../../../lib/providers/azure.js");
type GitHubModule = typeof import("../../../lib/providers/github.js");
let OAuthProvider: ProviderModule["OAuthProvider"];
let verifiesIdTokens: ProviderModule["verifiesIdTokens"];
let AzureOAuthProvider: AzureModule["AzureOAuthProvider"];
let GitHubOAuthProvider: GitHubModule["GitHubOAuthProvider"];
// Imported afresh inside each test: the modules' constants (GitHub's API headers) are then
// evaluated within a test, so that mutation testing credits these tests with them (docs/testing.md, Scores).
beforeEach(async () => {
  vi.resetModules();
  ({ OAuthProvider, verifiesIdTokens } = await import("../../../lib/providers/provider.js"));
  ({ AzureOAuthProvider } = await import("../../../lib/providers/azure.js"));
  ({ GitHubOAuthProvider } = await import("../../../lib/providers/github.js"));
});

const BASE: OAuthProviderOptions = {
  clientId: "client-id",
  clientSecret: "client-secret",
  authorizationEndpoint: "https://idp.example/authorize",
  tokenEndpoint: "https://idp.example/token",
  redirectUrl: "http://127.0.0.1/oauth_callback",
};

/** Loosely typed: JavaScript callers can pass anything. */
const build = (overrides: Record<string, unknown>, path?: string) => new OAuthProvider({ ...BASE, ...overrides } as OAuthProviderOptions, path);

describe("malformed options are named in the error, with the option path", () => {
  it.each([
    ["userScopes", "openid email", /^OAuthProvider options\.userScopes must be an array of non-empty strings/],
    ["jwksUri", "not a url", /^OAuthProvider options\.jwksUri must be an absolute URL/],
    ["endSessionEndpoint", "http://idp.example/logout", /^OAuthProvider options\.endSessionEndpoint must use https:/],
    ["revocationEndpoint", 42, /^OAuthProvider options\.revocationEndpoint must be a non-empty URL string$/],
  ])("%s", (option, value, message) => {
    expect(typeErrorMessage(() => build({ [option]: value }))).toMatch(message);
    // A preset's path is used the same way.
    expect(typeErrorMessage(() => build({ [option]: value }, "MyPreset options"))).toMatch(new RegExp(`^MyPreset options\\.${option} `));
  });
});

describe("verifiesIdTokens", () => {
  const oidc = { issuer: "https://idp.example", jwksUri: "https://idp.example/jwks" };

  it("is true with an issuer, a JWKS URI and the openid scope", () => {
    expect(verifiesIdTokens(build(oidc), ["openid", "email"])).toBe(true);
  });

  it.each([
    ["without the openid scope", oidc, ["email", "profile"]],
    ["without a JWKS URI", { issuer: oidc.issuer }, ["openid"]],
    ["without an issuer", { jwksUri: oidc.jwksUri }, ["openid"]],
    ["for a plain OAuth provider", {}, ["openid"]],
  ])("is false %s", (_what, options, scope) => {
    expect(verifiesIdTokens(build(options), scope)).toBe(false);
  });
});

describe("AzureOAuthProvider tenant", () => {
  it.each([
    ["a number", 12345],
    ["an array of one tenant", ["common"]],
  ])("%s is refused, though its text would pass the character check", (_what, tenant) => {
    const attempt = () =>
      new AzureOAuthProvider({ clientId: "id", clientSecret: "secret", redirectUrl: "http://127.0.0.1/oauth_callback", tenant: tenant as unknown as string });
    expect(typeErrorMessage(attempt)).toMatch(/^AzureOAuthProvider options\.tenant must be "common", "organizations", "consumers", a tenant id or a domain$/);
  });
});

describe("GitHubOAuthProvider API requests", () => {
  it("/user and /user/emails, and /user/teams, are asked for with Accept: application/vnd.github+json", async () => {
    const github = new GitHubOAuthProvider({ clientId: "id", clientSecret: "secret", redirectUrl: "http://127.0.0.1/oauth_callback", apiUrl: "https://api.github.test" });
    const calls: Array<{ url: string; headers: Readonly<Record<string, string>> | undefined }> = [];
    const answers: Record<string, unknown> = {
      "https://api.github.test/user": { id: 1, login: "octocat" },
      "https://api.github.test/user/emails": [{ email: "octo@example.com", primary: true }],
      "https://api.github.test/user/teams?per_page=100": [{ name: "devs", organization: { login: "acme" } }],
    };
    const ctx = {
      accessToken: "at",
      token: undefined,
      getJson: async (url: string, options?: { readonly headers?: Readonly<Record<string, string>> }): Promise<JsonResponse> => {
        calls.push({ url, headers: options?.headers });
        return { status: 200, data: answers[url], headers: {} };
      },
    } as unknown as ProviderContext;
    const user = await github.fetchUser(ctx);
    expect(user).toMatchObject({ id: "1", email: "octo@example.com" });
    expect(await github.fetchGroups(ctx)).toMatchObject([{ name: "acme/devs" }]);
    expect(calls.map((c) => c.url)).toEqual(Object.keys(answers));
    for (const call of calls) expect(call.headers).toEqual({ Accept: "application/vnd.github+json" });
  });
});
