/**
 * GoogleOAuthProvider's options (lib/providers/google.ts): Google's endpoints by default, and
 * Google's OpenID Connect values only when neither the authorization nor the token endpoint is
 * overridden (an override means a test or a proxy, whose issuer is whatever `oidc` says).
 */
import { describe, expect, it } from "vitest";
import { GoogleOAuthProvider, type GoogleOAuthProviderOptions } from "../../../lib/index.js";

const REDIRECT_URL = "http://127.0.0.1/oauth_callback";
const BASE = { clientId: "client", clientSecret: "secret", redirectUrl: REDIRECT_URL } as const;
const LOCAL = "http://127.0.0.1:4000";

const google = (options: Partial<GoogleOAuthProviderOptions> = {}): GoogleOAuthProvider =>
  new GoogleOAuthProvider({ ...BASE, ...options } as GoogleOAuthProviderOptions);

const oidcValues = (p: GoogleOAuthProvider) => ({ issuer: p.issuer, jwksUri: p.jwksUri, revocationEndpoint: p.revocationEndpoint });
const NONE = { issuer: undefined, jwksUri: undefined, revocationEndpoint: undefined };

describe("GoogleOAuthProvider OpenID Connect values", () => {
  it("with Google's own endpoints: Google's issuer, JWKS and revocation endpoint", () => {
    const p = google();
    expect(p.authorizationEndpoint).toBe("https://accounts.google.com/o/oauth2/auth");
    expect(p.tokenEndpoint).toBe("https://oauth2.googleapis.com/token");
    expect(oidcValues(p)).toEqual({
      issuer: "https://accounts.google.com",
      jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
      revocationEndpoint: "https://oauth2.googleapis.com/revoke",
    });
  });

  it("a user endpoint override alone keeps Google's OpenID Connect values", () => {
    expect(oidcValues(google({ userEndpoint: `${LOCAL}/userinfo` })).issuer).toBe("https://accounts.google.com");
  });

  it.each([
    ["the authorization endpoint", { authorizationEndpoint: `${LOCAL}/authorize` }],
    ["the token endpoint", { tokenEndpoint: `${LOCAL}/token` }],
    ["both endpoints", { authorizationEndpoint: `${LOCAL}/authorize`, tokenEndpoint: `${LOCAL}/token` }],
  ])("overriding %s drops Google's OpenID Connect values", (_what, overrides) => {
    expect(oidcValues(google(overrides))).toEqual(NONE);
  });

  it("oidc supplies the values for overridden endpoints", () => {
    const p = google({ authorizationEndpoint: `${LOCAL}/authorize`, tokenEndpoint: `${LOCAL}/token`, oidc: { issuer: LOCAL, jwksUri: `${LOCAL}/jwks` } });
    expect(oidcValues(p)).toEqual({ issuer: LOCAL, jwksUri: `${LOCAL}/jwks`, revocationEndpoint: undefined });
  });
});

describe("GoogleOAuthProvider options", () => {
  it("scopes and authorizationParams are passed on to the provider", () => {
    const p = google({ scopes: ["openid"], authorizationParams: { access_type: "offline", prompt: "consent" } });
    expect(p.scopes).toEqual(["openid"]);
    expect(p.authorizationParams).toEqual({ access_type: "offline", prompt: "consent" });
  });

  it("without options at all: the missing clientId is reported, not a TypeError from reading undefined", () => {
    expect(() => new GoogleOAuthProvider(undefined as unknown as GoogleOAuthProviderOptions)).toThrow(
      /^GoogleOAuthProvider options\.clientId must be a non-empty string/,
    );
  });

  it("a bad token endpoint is reported as GoogleOAuthProvider options.tokenEndpoint", () => {
    expect(() => google({ tokenEndpoint: "http://example.com/token" })).toThrow(/^GoogleOAuthProvider options\.tokenEndpoint must use https:/);
  });
});
