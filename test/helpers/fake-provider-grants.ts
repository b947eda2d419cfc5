/**
 * `POST /token` for both flavors, minus the response formatting: client authentication
 * (RFC 6749 §2.3), the authorization_code grant with PKCE (RFC 7636 §4.6) and the
 * refresh_token grant with rotation.
 */
import type { IncomingHttpHeaders } from "node:http";
import { isPkceString, randomToken, s256, splitScope, type ProviderState, type Settings } from "./fake-provider-core.js";
import { isFormContentType, parseParams } from "./fake-provider-http.js";

/** What kind of failure a token request hit; the GitHub endpoint maps kinds to its own codes. */
export type ErrorKind = "request" | "client" | "grant_type" | "code" | "redirect_uri" | "pkce" | "refresh" | "scope";

export interface TokenError {
  ok: false;
  status: 400 | 401;
  error: string;
  description: string;
  kind: ErrorKind;
}

export interface TokenSuccess {
  ok: true;
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
  scope: string[];
  nonce?: string;
}

export type TokenOutcome = TokenSuccess | TokenError;

export interface TokenRequest {
  headers: IncomingHttpHeaders;
  body: string;
  flavor: "standard" | "github";
}

const fail = (error: string, description: string, kind: ErrorKind, status: 400 | 401 = 400): TokenError => ({
  ok: false,
  status,
  error,
  description,
  kind,
});

/** RFC 6749 §2.3.1: Basic credentials are form-encoded before base64. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | "malformed" | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (match?.[1] === undefined) return header !== undefined && /^Basic\b/i.test(header) ? "malformed" : undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return "malformed";
  const unescape = (s: string): string => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s; // a client that did not form-encode (and used a literal %)
    }
  };
  return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
}

/** Client authentication: client_secret_post or client_secret_basic, never both (RFC 6749 §2.3). */
function authenticateClient(settings: Settings, headers: IncomingHttpHeaders, form: Record<string, string>): TokenError | string {
  const basic = basicCredentials(headers.authorization);
  if (basic === "malformed") return fail("invalid_client", "malformed Basic authorization header", "client", 401);
  if (basic !== undefined && form.client_secret !== undefined) {
    return fail("invalid_request", "more than one client authentication method was used", "request");
  }
  if (basic !== undefined && form.client_id !== undefined && form.client_id !== basic.id) {
    return fail("invalid_client", "client_id in the body differs from the Basic credentials", "client", 401);
  }
  const id = basic?.id ?? form.client_id;
  const secret = basic?.secret ?? form.client_secret;
  if (id === undefined || secret === undefined) return fail("invalid_client", "client authentication is missing", "client", 401);
  if (id !== settings.clientId || secret !== settings.clientSecret) {
    return fail("invalid_client", "unknown client or wrong client secret", "client", 401);
  }
  return id;
}

/** Runs `POST /token` (either flavor) up to, but not including, the response formatting. */
export function tokenGrant(state: ProviderState, req: TokenRequest): TokenOutcome {
  if (!isFormContentType(req.headers)) {
    return fail("invalid_request", "the body must be application/x-www-form-urlencoded", "request");
  }
  const { values: form, duplicate } = parseParams(new URLSearchParams(req.body));
  if (duplicate !== undefined) return fail("invalid_request", `parameter ${duplicate} was sent more than once`, "request");
  const clientId = authenticateClient(state.settings, req.headers, form);
  if (typeof clientId !== "string") return clientId;
  // GitHub treats a request without grant_type as a code exchange.
  const grantType = form.grant_type ?? (req.flavor === "github" ? "authorization_code" : undefined);
  if (grantType === "authorization_code") return exchangeCode(state, req.flavor, clientId, form);
  if (grantType === "refresh_token") return refreshGrant(state, clientId, form);
  if (grantType === undefined) return fail("invalid_request", "grant_type is missing", "request");
  return fail("unsupported_grant_type", `grant_type ${grantType} is not supported`, "grant_type");
}

function exchangeCode(state: ProviderState, flavor: TokenRequest["flavor"], clientId: string, form: Record<string, string>): TokenOutcome {
  if (form.code === undefined || form.code === "") return fail("invalid_request", "code is missing", "code");
  const rec = state.codes.get(form.code);
  if (rec === undefined || Date.now() >= rec.expiresAt) return fail("invalid_grant", "the code is unknown or expired", "code");
  if (rec.used) {
    // RFC 6749 §4.1.2: a reused code SHOULD revoke the tokens issued from it.
    state.revokeGrant(rec.grantId);
    return fail("invalid_grant", "the code was already used", "code");
  }
  rec.used = true; // any redemption attempt burns the code (no verifier guessing)
  if (rec.clientId !== clientId) return fail("invalid_grant", "the code was issued to another client", "code");
  // RFC 6749 §4.1.3: identical to the authorize redirect_uri; GitHub only checks it when sent.
  const redirectOptional = flavor === "github" && form.redirect_uri === undefined;
  if (!redirectOptional && form.redirect_uri !== rec.redirectUri) {
    return fail("invalid_grant", "redirect_uri does not match the authorization request", "redirect_uri");
  }
  const verifier = form.code_verifier;
  if (rec.challenge === undefined) {
    // RFC 9700 §2.1.1: a code_verifier without a code_challenge is rejected.
    if (verifier !== undefined) return fail("invalid_grant", "code_verifier sent but no code_challenge was", "pkce");
  } else {
    if (verifier === undefined) return fail("invalid_grant", "code_verifier is missing", "pkce");
    if (!isPkceString(verifier)) return fail("invalid_grant", "code_verifier is malformed (RFC 7636 §4.1)", "pkce");
    const derived = rec.challenge.method === "S256" ? s256(verifier) : verifier;
    // RFC 7636 §4.6
    if (derived !== rec.challenge.value) return fail("invalid_grant", "code_verifier does not match code_challenge", "pkce");
  }
  const issued = issueTokens(state, rec.grantId, clientId, rec.scope, state.settings.issueRefreshTokens);
  return rec.nonce === undefined ? issued : { ...issued, nonce: rec.nonce };
}

function refreshGrant(state: ProviderState, clientId: string, form: Record<string, string>): TokenOutcome {
  const token = form.refresh_token;
  if (token === undefined || token === "") return fail("invalid_request", "refresh_token is missing", "refresh");
  const rec = state.refresh.get(token);
  if (rec === undefined) {
    const retired = state.retired.get(token);
    if (retired !== undefined && state.settings.refreshReuseRevokesGrant) state.revokeGrant(retired.grantId);
    return fail("invalid_grant", `the refresh token is ${retired?.reason ?? "unknown"}`, "refresh");
  }
  if (rec.clientId !== clientId) return fail("invalid_grant", "the refresh token was issued to another client", "refresh");
  let scope = rec.scope;
  if (form.scope !== undefined) {
    // RFC 6749 §6: the requested scope must not exceed the original grant.
    const requested = splitScope(form.scope, /\s+/);
    if (requested.some((s) => !rec.scope.includes(s))) return fail("invalid_scope", "scope exceeds the original grant", "scope");
    scope = requested;
  }
  const { settings } = state;
  const keepOld = settings.refreshOmitsRefreshToken || !settings.issueRefreshTokens;
  if (keepOld) return issueTokens(state, rec.grantId, clientId, rec.scope, false, scope);
  if (!settings.rotateRefreshTokens) {
    return { ...issueTokens(state, rec.grantId, clientId, rec.scope, false, scope), refreshToken: token };
  }
  state.retire(token, rec.grantId, "already used (rotated out)");
  return issueTokens(state, rec.grantId, clientId, rec.scope, true, scope);
}

function issueTokens(
  state: ProviderState,
  grantId: string,
  clientId: string,
  grantScope: string[],
  withRefresh: boolean,
  accessScope: string[] = grantScope,
): TokenSuccess {
  const ttl = state.settings.accessTokenTtl;
  const accessToken = randomToken();
  state.access.set(accessToken, { grantId, scope: accessScope, expiresAt: ttl > 0 ? Date.now() + ttl * 1000 : null });
  const result: TokenSuccess = { ok: true, accessToken, scope: accessScope };
  if (ttl > 0) result.expiresIn = ttl;
  if (withRefresh) {
    result.refreshToken = randomToken();
    state.refresh.set(result.refreshToken, { grantId, clientId, scope: grantScope });
  }
  return result;
}
