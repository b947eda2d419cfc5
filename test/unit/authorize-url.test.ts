/**
 * The authorize URL, byte for byte as Flet (oauthlib) builds it: shared/vectors/oauth-requests.json,
 * `authorization_url_cases`. Scopes come from `mergeScopes()` with the vector's inputs; the URL from
 * `authorizationUrl()` with the vector's state (and code challenge, when it has one).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { authorizationUrl } from "../../lib/flow/authorize-url.js";
import { mergeScopes } from "../../lib/flow/scopes.js";
import {
  Auth0OAuthProvider,
  AzureOAuthProvider,
  GitHubOAuthProvider,
  GoogleOAuthProvider,
  OAuthProvider,
} from "../../lib/index.js";
import { vectorPath } from "../helpers/vectors.js";

interface AuthorizationUrlCase {
  name: string;
  provider: "github" | "azure" | "auth0" | "google" | "generic";
  client_id: string;
  redirect_url: string;
  authorization_endpoint: string;
  login_scope: string[] | null;
  fetch_user: boolean;
  fetch_groups: boolean;
  state: string;
  effective_scope: string[];
  expected_url: string;
  tenant?: string;
  domain?: string;
  extra?: Record<string, string>;
  provider_scopes?: string[];
  user_scopes?: string[];
  code_challenge?: string;
  code_challenge_method?: string | null;
}

const vectors = JSON.parse(
  readFileSync(vectorPath("oauth-requests.json"), "utf8"),
) as { authorization_url_cases: AuthorizationUrlCase[] };
const cases = vectors.authorization_url_cases;

/** The provider a Flet app would have built for the case (client secret is not part of the URL). */
function providerFor(c: AuthorizationUrlCase): OAuthProvider {
  const common = { clientId: c.client_id, clientSecret: "unused-secret", redirectUrl: c.redirect_url };
  switch (c.provider) {
    case "github":
      return new GitHubOAuthProvider(common);
    case "azure":
      return new AzureOAuthProvider({ ...common, ...(c.tenant !== undefined ? { tenant: c.tenant } : {}) });
    case "auth0":
      return new Auth0OAuthProvider({
        ...common,
        domain: c.domain ?? "",
        ...(c.extra?.["audience"] !== undefined ? { audience: c.extra["audience"] } : {}),
      });
    case "google":
      return new GoogleOAuthProvider(common);
    case "generic":
      return new OAuthProvider({
        ...common,
        authorizationEndpoint: c.authorization_endpoint,
        tokenEndpoint: "https://idp.example.com/token",
        scopes: c.provider_scopes ?? [],
        userScopes: c.user_scopes ?? [],
        ...(c.extra !== undefined ? { authorizationParams: c.extra } : {}),
      });
    default:
      throw new Error(`vector case ${String((c as { name: string }).name)}: unknown provider ${String((c as { provider: string }).provider)}`);
  }
}

/** The Flet quirk we deliberately do not reproduce: a challenge without a method is sent as `method=None`. */
const isMethodlessChallenge = (c: AuthorizationUrlCase): boolean =>
  c.code_challenge !== undefined && c.code_challenge !== null && c.code_challenge_method === null;

function urlFor(c: AuthorizationUrlCase): string {
  const provider = providerFor(c);
  const scope = mergeScopes(c.login_scope ?? undefined, provider, c.fetch_user, c.fetch_groups);
  return authorizationUrl(provider, {
    state: c.state,
    scope,
    ...(c.code_challenge !== undefined && c.code_challenge !== null ? { codeChallenge: c.code_challenge } : {}),
  });
}

describe("authorization URL vectors (oauth-requests.json)", () => {
  it("has the cases this suite is written for", () => {
    expect(cases.length).toBeGreaterThanOrEqual(6);
    expect(cases.filter(isMethodlessChallenge).map((c) => c.name)).toEqual(["generic_code_challenge_without_method_quirk"]);
  });

  describe.each(cases)("$name", (c) => {
    it("the built-in provider has Flet's authorization endpoint", () => {
      expect(providerFor(c).authorizationEndpoint).toBe(c.authorization_endpoint);
    });

    it("mergeScopes gives the effective scope", () => {
      const provider = providerFor(c);
      expect(mergeScopes(c.login_scope ?? undefined, provider, c.fetch_user, c.fetch_groups)).toEqual(c.effective_scope);
    });

    if (!isMethodlessChallenge(c)) {
      it("authorizationUrl reproduces Flet's URL exactly", () => {
        expect(urlFor(c)).toBe(c.expected_url);
      });
    } else {
      it("authorizationUrl does NOT reproduce Flet's code_challenge_method=None quirk: it says S256", () => {
        const url = urlFor(c);
        expect(url).not.toBe(c.expected_url);
        expect(c.expected_url).toContain("&code_challenge_method=None");
        // Everything else is Flet's URL, byte for byte.
        expect(url).toBe(c.expected_url.replace("&code_challenge_method=None", "&code_challenge_method=S256"));
        expect(new URL(url).searchParams.getAll("code_challenge_method")).toEqual(["S256"]);
      });
    }
  });
});

describe("authorizationUrl", () => {
  const generic = new OAuthProvider({
    clientId: "cid",
    clientSecret: "secret",
    authorizationEndpoint: "https://idp.example.com/auth",
    tokenEndpoint: "https://idp.example.com/token",
    redirectUrl: "https://app.example.com/cb",
  });

  it("omits the scope parameter when the scope list is empty", () => {
    const url = authorizationUrl(generic, { state: "s1", scope: [] });
    expect(url).not.toContain("scope=");
    expect(new URL(url).searchParams.has("scope")).toBe(false);
    expect(url).toBe("https://idp.example.com/auth?response_type=code&client_id=cid&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1");
  });

  it("sends no PKCE parameters without a challenge, and S256 with one", () => {
    const without = new URL(authorizationUrl(generic, { state: "s1", scope: ["a"] }));
    expect(without.searchParams.has("code_challenge")).toBe(false);
    expect(without.searchParams.has("code_challenge_method")).toBe(false);
    const withChallenge = new URL(authorizationUrl(generic, { state: "s1", scope: ["a"], codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" }));
    expect(withChallenge.searchParams.get("code_challenge")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    expect(withChallenge.searchParams.get("code_challenge_method")).toBe("S256");
  });

  it("Google without fetchUser has no scope parameter at all (Flet behaviour §3.2)", () => {
    const google = new GoogleOAuthProvider({ clientId: "cid", clientSecret: "s", redirectUrl: "https://app.example.com/cb" });
    const url = authorizationUrl(google, { state: "s", scope: mergeScopes(undefined, google, false, false) });
    expect(new URL(url).searchParams.has("scope")).toBe(false);
  });
});

describe("mergeScopes", () => {
  const github = new GitHubOAuthProvider({ clientId: "cid", clientSecret: "s", redirectUrl: "http://localhost:8550/oauth_callback" });

  it("does not mutate the caller's array (Flet mutates it in place)", () => {
    const login = ["public_repo"];
    const merged = mergeScopes(login, github, true, true);
    expect(login).toEqual(["public_repo"]);
    expect(merged).not.toBe(login);
    expect(merged).toEqual(["public_repo", "read:user", "user:email", "read:org"]);
    // A second login with the same array gets the same answer, not an ever-growing list.
    expect(mergeScopes(login, github, true, true)).toEqual(merged);
  });

  it("accepts a frozen array", () => {
    const login = Object.freeze(["public_repo"]);
    expect(mergeScopes(login, github, true, false)).toEqual(["public_repo", "read:user", "user:email"]);
  });

  it("de-duplicates, keeping the first occurrence's position", () => {
    const provider = new OAuthProvider({
      clientId: "cid",
      clientSecret: "s",
      authorizationEndpoint: "https://idp.example.com/auth",
      tokenEndpoint: "https://idp.example.com/token",
      redirectUrl: "https://app.example.com/cb",
      scopes: ["offline_access", "openid"],
      userScopes: ["openid", "profile"],
      groupScopes: ["groups", "profile"],
    });
    expect(mergeScopes(["openid", "email", "email"], provider, true, true)).toEqual(["openid", "email", "offline_access", "profile", "groups"]);
  });

  it("adds user scopes only with fetchUser and group scopes only with fetchGroups", () => {
    expect(mergeScopes(undefined, github, false, false)).toEqual([]);
    expect(mergeScopes(undefined, github, true, false)).toEqual(["read:user", "user:email"]);
    // Flet merges the group scopes even when the user (and so the groups) is not fetched.
    expect(mergeScopes(undefined, github, false, true)).toEqual(["read:org"]);
  });
});
