import { OAuthProvider, type OAuthProviderOptions } from "./provider.js";

/** Options of {@link AzureOAuthProvider}. */
export interface AzureOAuthProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUrl: string;
  /** `common`, `organizations`, `consumers`, a tenant GUID or domain. @default "common" */
  readonly tenant?: string;
  /** Microsoft identity platform host (sovereign clouds, tests). @default "https://login.microsoftonline.com" */
  readonly authority?: string;
  /** Profile endpoint. @default "https://graph.microsoft.com/v1.0/me" */
  readonly userEndpoint?: string;
  /** Extra scopes always requested; add `offline_access` to get a refresh token. */
  readonly scopes?: readonly string[];
  readonly authorizationParams?: Readonly<Record<string, string | undefined>>;
  /**
   * OpenID Connect settings, filled in from the provider's well-known values; override them for
   * tests or proxies. ID tokens are verified when `openid` is among the login's scopes.
   */
  readonly oidc?: Readonly<Pick<OAuthProviderOptions, "issuer" | "jwksUri" | "endSessionEndpoint" | "revocationEndpoint" | "idTokenSigningAlgorithms">>;
}

/**
 * Azure AD / Microsoft Entra ID (v2.0 endpoints); the user is Graph's `/me`, `id` its object id.
 *
 * @example
 * const azure = new AzureOAuthProvider({
 *   clientId: process.env.AZURE_CLIENT_ID!,
 *   clientSecret: process.env.AZURE_CLIENT_SECRET!,
 *   tenant: process.env.AZURE_TENANT, // a tenant id or domain; "common" by default
 *   redirectUrl: "http://localhost:8550/oauth_callback",
 *   scopes: ["offline_access"], // a refresh token
 * });
 */
export class AzureOAuthProvider extends OAuthProvider {
  readonly tenant: string;

  constructor(options: AzureOAuthProviderOptions) {
    const tenant = options?.tenant ?? "common";
    // Flet interpolates tenant verbatim; a "/" or "?" would rewrite the endpoint path.
    if (typeof tenant !== "string" || !/^[A-Za-z0-9.-]+$/.test(tenant)) {
      throw new TypeError(
        'AzureOAuthProvider options.tenant must be "common", "organizations", "consumers", a tenant id or a domain',
      );
    }
    const authority = (options?.authority ?? "https://login.microsoftonline.com").replace(/\/+$/, "");
    super(
      {
        clientId: options?.clientId,
        clientSecret: options?.clientSecret,
        redirectUrl: options?.redirectUrl,
        authorizationEndpoint: `${authority}/${tenant}/oauth2/v2.0/authorize`,
        tokenEndpoint: `${authority}/${tenant}/oauth2/v2.0/token`,
        userEndpoint: options?.userEndpoint ?? "https://graph.microsoft.com/v1.0/me",
        userScopes: ["user.read"],
        ...(options?.scopes ? { scopes: options.scopes } : {}),
        ...(options?.authorizationParams ? { authorizationParams: options.authorizationParams } : {}),
        userId: (u) => String(u["id"]),
        // Microsoft's OpenID Connect values. The issuer names the tenant's id: for "common",
        // "organizations", "consumers" or a domain it is only known from the token (`tid`).
        ...(options?.authority === undefined
          ? {
              issuer: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tenant)
                ? `${authority}/${tenant}/v2.0`
                : `${authority}/{tenantid}/v2.0`,
              jwksUri: `${authority}/${tenant}/discovery/v2.0/keys`,
              endSessionEndpoint: `${authority}/${tenant}/oauth2/v2.0/logout`,
            }
          : {}),
        ...options?.oidc,
      },
      "AzureOAuthProvider options",
    );
    this.tenant = tenant;
  }
}
