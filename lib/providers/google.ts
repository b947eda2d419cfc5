import { OAuthProvider, type OAuthProviderOptions } from "./provider.js";

/** Options of {@link GoogleOAuthProvider}. */
export interface GoogleOAuthProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUrl: string;
  readonly scopes?: readonly string[];
  /** e.g. `{ access_type: "offline", prompt: "consent" }` to get a refresh token (Flet sends neither). */
  readonly authorizationParams?: Readonly<Record<string, string | undefined>>;
  /** Endpoint overrides, for tests. */
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly userEndpoint?: string;
  /**
   * OpenID Connect settings, filled in from the provider's well-known values; override them for
   * tests or proxies. ID tokens are verified when `openid` is among the login's scopes.
   */
  readonly oidc?: Readonly<Pick<OAuthProviderOptions, "issuer" | "jwksUri" | "endSessionEndpoint" | "revocationEndpoint" | "idTokenSigningAlgorithms">>;
}

/**
 * Google: the user is the OpenID userinfo, `id` its `sub`.
 *
 * @example
 * const google = new GoogleOAuthProvider({
 *   clientId: process.env.GOOGLE_CLIENT_ID!,
 *   clientSecret: process.env.GOOGLE_CLIENT_SECRET!,
 *   redirectUrl: "http://localhost:8550/oauth_callback",
 *   authorizationParams: { access_type: "offline", prompt: "consent" }, // a refresh token
 * });
 */
export class GoogleOAuthProvider extends OAuthProvider {
  constructor(options: GoogleOAuthProviderOptions) {
    super(
      {
        clientId: options?.clientId,
        clientSecret: options?.clientSecret,
        redirectUrl: options?.redirectUrl,
        authorizationEndpoint: options?.authorizationEndpoint ?? "https://accounts.google.com/o/oauth2/auth",
        tokenEndpoint: options?.tokenEndpoint ?? "https://oauth2.googleapis.com/token",
        userEndpoint: options?.userEndpoint ?? "https://www.googleapis.com/oauth2/v3/userinfo",
        userScopes: [
          "https://www.googleapis.com/auth/userinfo.email",
          "https://www.googleapis.com/auth/userinfo.profile",
        ],
        ...(options?.scopes ? { scopes: options.scopes } : {}),
        ...(options?.authorizationParams ? { authorizationParams: options.authorizationParams } : {}),
        userId: (u) => String(u["sub"]),
        // Google's OpenID Connect values; with endpoint overrides (tests), only what `oidc` says.
        ...(options?.authorizationEndpoint === undefined && options?.tokenEndpoint === undefined
          ? {
              issuer: "https://accounts.google.com",
              jwksUri: "https://www.googleapis.com/oauth2/v3/certs",
              revocationEndpoint: "https://oauth2.googleapis.com/revoke",
            }
          : {}),
        ...options?.oidc,
      },
      "GoogleOAuthProvider options",
    );
  }
}
