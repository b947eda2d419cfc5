import type { OAuthProvider } from "../providers/provider.js";
import { addQueryParams } from "./query.js";

/** What one authorization request carries besides the provider's settings. */
export interface AuthorizeRequest {
  readonly state: string;
  readonly scope: readonly string[];
  readonly codeChallenge?: string;
  /** OpenID Connect Core §3.1.2.1: binds the ID token to this login (only when ID tokens are verified). */
  readonly nonce?: string | undefined;
}

/**
 * The authorize URL exactly as oauthlib builds it for Flet (behaviour §3.2): existing query first,
 * then response_type, client_id, redirect_uri, scope (only when non-empty), state, the PKCE pair
 * (always S256 here, RFC 7636 §4.3), then the provider's extra parameters.
 */
export function authorizationUrl(
  provider: Pick<OAuthProvider, "authorizationEndpoint" | "clientId" | "redirectUrl" | "authorizationParams">,
  request: AuthorizeRequest,
): string {
  const pairs: Array<[string, string]> = [
    ["response_type", "code"],
    ["client_id", provider.clientId],
    ["redirect_uri", provider.redirectUrl],
  ];
  if (request.scope.length > 0) pairs.push(["scope", request.scope.join(" ")]);
  pairs.push(["state", request.state]);
  if (request.codeChallenge !== undefined) {
    pairs.push(["code_challenge", request.codeChallenge], ["code_challenge_method", "S256"]);
  }
  if (request.nonce !== undefined) pairs.push(["nonce", request.nonce]);
  for (const [k, v] of Object.entries(provider.authorizationParams)) pairs.push([k, v]);
  return addQueryParams(provider.authorizationEndpoint, pairs);
}
