/**
 * Auth0OAuthProvider's options (lib/providers/auth0.ts): how `domain` becomes the endpoints and
 * Auth0's OpenID Connect values, and that bad options are refused with a message naming them.
 */
import { describe, expect, it } from "vitest";
import { Auth0OAuthProvider, type Auth0OAuthProviderOptions } from "../../../lib/index.js";

const REDIRECT_URL = "http://127.0.0.1/oauth_callback";
const BASE = { clientId: "client", clientSecret: "secret", redirectUrl: REDIRECT_URL } as const;

const auth0 = (options: Partial<Auth0OAuthProviderOptions>): Auth0OAuthProvider =>
  new Auth0OAuthProvider({ ...BASE, domain: "dev-x.us.auth0.com", ...options } as Auth0OAuthProviderOptions);

describe("Auth0OAuthProvider domain", () => {
  it("without options at all: a TypeError that asks for the Auth0 domain", () => {
    expect(() => new Auth0OAuthProvider(undefined as unknown as Auth0OAuthProviderOptions)).toThrow(
      /^Auth0OAuthProvider options\.domain must be your Auth0 domain/,
    );
  });

  it("an empty domain is refused with a message asking for the Auth0 domain", () => {
    const attempt = () => auth0({ domain: "" });
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(/^Auth0OAuthProvider options\.domain must be your Auth0 domain, e\.g\. "dev-x\.us\.auth0\.com"$/);
  });

  it("a bare domain gets https:// and Auth0's endpoints under it", () => {
    const p = auth0({ domain: "dev-x.us.auth0.com" });
    expect(p.authorizationEndpoint).toBe("https://dev-x.us.auth0.com/authorize");
    expect(p.tokenEndpoint).toBe("https://dev-x.us.auth0.com/oauth/token");
    expect(p.userEndpoint).toBe("https://dev-x.us.auth0.com/userinfo");
    expect(p.domain).toBe("dev-x.us.auth0.com");
  });

  it("a bare domain has Auth0's OpenID Connect values: issuer, JWKS, logout and revocation endpoints", () => {
    const p = auth0({ domain: "dev-x.us.auth0.com" });
    expect(p.issuer).toBe("https://dev-x.us.auth0.com/");
    expect(p.jwksUri).toBe("https://dev-x.us.auth0.com/.well-known/jwks.json");
    expect(p.endSessionEndpoint).toBe("https://dev-x.us.auth0.com/oidc/logout");
    expect(p.revocationEndpoint).toBe("https://dev-x.us.auth0.com/oauth/revoke");
  });

  it("a URL domain is the base as is (no OpenID Connect values guessed for it)", () => {
    const p = auth0({ domain: "http://127.0.0.1:4000" });
    expect(p.authorizationEndpoint).toBe("http://127.0.0.1:4000/authorize");
    expect(p.tokenEndpoint).toBe("http://127.0.0.1:4000/oauth/token");
    expect(p.issuer).toBeUndefined();
    expect(p.jwksUri).toBeUndefined();
    expect(p.endSessionEndpoint).toBeUndefined();
    expect(p.revocationEndpoint).toBeUndefined();
  });

  it.each([
    ["one trailing slash", "http://127.0.0.1:4000/"],
    ["several trailing slashes", "http://127.0.0.1:4000///"],
  ])("a URL domain with %s loses them: no empty path segment before /authorize", (_what, domain) => {
    const p = auth0({ domain });
    expect(p.authorizationEndpoint).toBe("http://127.0.0.1:4000/authorize");
    expect(p.tokenEndpoint).toBe("http://127.0.0.1:4000/oauth/token");
    expect(p.userEndpoint).toBe("http://127.0.0.1:4000/userinfo");
  });

  it("the scheme is recognised only at the start: a bare domain containing \"http://\" later is still a bare domain", () => {
    const p = auth0({ domain: "dev-x.us.auth0.com/http://proxy" });
    expect(p.authorizationEndpoint).toBe("https://dev-x.us.auth0.com/http://proxy/authorize");
    // Being a bare domain, it gets Auth0's OpenID Connect values.
    expect(p.issuer).toBe("https://dev-x.us.auth0.com/http://proxy/");
    expect(p.jwksUri).toBe("https://dev-x.us.auth0.com/http://proxy/.well-known/jwks.json");
  });
});

describe("Auth0OAuthProvider audience", () => {
  it.each([
    ["null", null],
    ["a number", 42],
  ])("an audience that is %s is refused with a message naming options.audience", (_what, audience) => {
    const attempt = () => auth0({ audience: audience as unknown as string });
    expect(attempt).toThrow(TypeError);
    expect(attempt).toThrow(/^Auth0OAuthProvider options\.audience must be a string$/);
  });

  it("a string audience is kept and sent as an authorize parameter", () => {
    const p = auth0({ audience: "https://api.example.com" });
    expect(p.audience).toBe("https://api.example.com");
    expect(p.authorizationParams).toEqual({ audience: "https://api.example.com" });
  });
});

describe("Auth0OAuthProvider option errors name the preset", () => {
  it("a missing clientId is reported as Auth0OAuthProvider options.clientId", () => {
    expect(() => auth0({ clientId: "" })).toThrow(/^Auth0OAuthProvider options\.clientId must be a non-empty string/);
  });

  it("a bad redirectUrl is reported as Auth0OAuthProvider options.redirectUrl", () => {
    expect(() => auth0({ redirectUrl: "http://example.com/cb" })).toThrow(/^Auth0OAuthProvider options\.redirectUrl must use https:/);
  });
});
