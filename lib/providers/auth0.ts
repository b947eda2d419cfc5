import { OAuthProvider, type OAuthProviderOptions } from "./provider.js";

/** Options of {@link Auth0OAuthProvider}. */
export interface Auth0OAuthProviderOptions {
  /** Your Auth0 domain, e.g. "dev-x.us.auth0.com" (a full `https://` URL is accepted too). */
  readonly domain: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUrl: string;
  /** API identifier: sent as `audience` so the access token is a JWT for that API. */
  readonly audience?: string;
  /** Extra scopes always requested, on top of `offline_access`. */
  readonly scopes?: readonly string[];
  readonly authorizationParams?: Readonly<Record<string, string | undefined>>;
  /**
   * OpenID Connect settings, filled in from the provider's well-known values; override them for
   * tests or proxies. ID tokens are verified when `openid` is among the login's scopes.
   */
  readonly oidc?: Readonly<Pick<OAuthProviderOptions, "issuer" | "jwksUri" | "endSessionEndpoint" | "revocationEndpoint" | "idTokenSigningAlgorithms">>;
}

/**
 * Auth0: always asks `offline_access` (refresh tokens), the user is `/userinfo`, `id` its `sub`.
 *
 * @example
 * const auth0 = new Auth0OAuthProvider({
 *   domain: "my-tenant.eu.auth0.com",
 *   clientId: process.env.AUTH0_CLIENT_ID!,
 *   clientSecret: process.env.AUTH0_CLIENT_SECRET!,
 *   redirectUrl: "http://localhost:8550/oauth_callback",
 *   audience: "https://api.example.com", // optional: a JWT access token for that API
 * });
 */
export class Auth0OAuthProvider extends OAuthProvider {
  readonly domain: string;
  readonly audience: string | undefined;

  constructor(options: Auth0OAuthProviderOptions) {
    const domain = options?.domain;
    if (typeof domain !== "string" || domain === "") {
      throw new TypeError('Auth0OAuthProvider options.domain must be your Auth0 domain, e.g. "dev-x.us.auth0.com"');
    }
    // Flet takes a bare host; a URL (loopback http for tests) is accepted as the base instead.
    const base = /^https?:\/\//i.test(domain) ? domain.replace(/\/+$/, "") : `https://${domain}`;
    if (options.audience !== undefined && typeof options.audience !== "string") {
      throw new TypeError("Auth0OAuthProvider options.audience must be a string");
    }
    super(
      {
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        redirectUrl: options.redirectUrl,
        authorizationEndpoint: `${base}/authorize`,
        tokenEndpoint: `${base}/oauth/token`,
        userEndpoint: `${base}/userinfo`,
        // offline_access stays: Auth0 only issues refresh tokens with it.
        scopes: ["offline_access", ...(options.scopes ?? [])],
        userScopes: ["openid", "profile", "email"],
        authorizationParams: { audience: options.audience, ...options.authorizationParams },
        userId: (u) => String(u["sub"]),
        // A bare Auth0 domain has Auth0's OpenID Connect endpoints; a URL (a test or proxy) has
        // only what `oidc` says.
        ...(/^https?:\/\//i.test(domain)
          ? {}
          : {
              issuer: `${base}/`,
              jwksUri: `${base}/.well-known/jwks.json`,
              endSessionEndpoint: `${base}/oidc/logout`,
              revocationEndpoint: `${base}/oauth/revoke`,
            }),
        ...options.oidc,
      },
      "Auth0OAuthProvider options",
    );
    this.domain = domain;
    this.audience = options.audience;
  }
}
