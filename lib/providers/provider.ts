import { FletAuthError } from "../errors.js";
import { assertSecureUrl } from "./endpoint-url.js";
import type { JsonResponse } from "../oauth/http.js";
import { readDiscovery } from "../oidc/discovery.js";
import type { OAuthToken } from "../oauth/token.js";
import { makeUser, type Group, type User } from "../signin/user.js";

/** What a provider's user/groups hooks receive. */
export interface ProviderContext {
  /** The access token to call the provider's API with. */
  readonly accessToken: string;
  /** The whole token, e.g. to read its scope. */
  readonly token: OAuthToken;
  /** GETs JSON with `Authorization: Bearer <accessToken>`, with flet-auth's timeout and size cap. Non-2xx rejects. */
  getJson(url: string, options?: { readonly headers?: Readonly<Record<string, string>> }): Promise<JsonResponse>;
}

/** A user as a hook returns it: the profile fields plus an `id`. */
export type UserProfile = Readonly<Record<string, unknown>> & { readonly id: string | number };

/** Options of the generic {@link OAuthProvider}: camelCase of Flet's `OAuthProvider` arguments. */
export interface OAuthProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Authorization endpoint; `https:` (or `http:` on loopback). Any query it has is kept. */
  readonly authorizationEndpoint: string;
  /** Token endpoint; `https:` (or `http:` on loopback). */
  readonly tokenEndpoint: string;
  /** Your callback URL as registered with the provider; flet-auth serves the callback at its path. */
  readonly redirectUrl: string;
  /** Profile endpoint, fetched with the access token when `fetchUser` is on; needs `userId`. */
  readonly userEndpoint?: string;
  /** Scopes requested only when the user is fetched. @default [] */
  readonly userScopes?: readonly string[];
  /** The user's id from the profile JSON (Flet's `user_id_fn`); the result is converted to a string. */
  readonly userId?: (profile: Readonly<Record<string, unknown>>) => string | number;
  /** Scopes requested only when groups are fetched. @default [] */
  readonly groupScopes?: readonly string[];
  /** Scopes always requested. @default [] */
  readonly scopes?: readonly string[];
  /** Extra authorize-URL parameters, appended last; empty values are skipped. */
  readonly authorizationParams?: Readonly<Record<string, string | undefined>>;
  /**
   * The authorization server's issuer identifier. When set, a callback carrying `iss` must match
   * it (RFC 9207 mix-up defence); set `requireIssuer` too when the server always sends `iss`
   * (`authorization_response_iss_parameter_supported` in its metadata).
   */
  readonly issuer?: string;
  /** Reject callbacks without `iss` (needs `issuer`). @default false */
  readonly requireIssuer?: boolean;
  /**
   * OpenID Connect: the provider's JSON Web Key Set. With `issuer` set too and `openid` among a
   * login's scopes, every ID token is verified (signature, `iss`, `aud`, `azp`, `exp`/`iat`/`nbf`,
   * `nonce`, algorithm) and its claims become `req.auth.claims`. `OAuthProvider.discover()` sets it.
   */
  readonly jwksUri?: string;
  /**
   * Algorithms an ID token may be signed with. `none` and HMAC algorithms are never accepted.
   * @default the discovery document's `id_token_signing_alg_values_supported`, else ["RS256"]
   */
  readonly idTokenSigningAlgorithms?: readonly string[];
  /** OpenID Connect RP-Initiated Logout 1.0 `end_session_endpoint`, for `idpLogout`. */
  readonly endSessionEndpoint?: string;
  /** RFC 7009 token revocation endpoint: signing out revokes the refresh token (then the access token) there. */
  readonly revocationEndpoint?: string;
  /** Custom user fetch for providers without a plain profile endpoint. Returns `undefined` to fall back to `userEndpoint`. */
  readonly fetchUser?: (ctx: ProviderContext) => Promise<UserProfile | undefined>;
  /** Custom groups fetch. @default none: no groups */
  readonly fetchGroups?: (ctx: ProviderContext) => Promise<readonly Group[]>;
}

/** Options of {@link OAuthProvider.discover}: those of the constructor, without what discovery supplies. */
export interface DiscoverOptions extends Omit<OAuthProviderOptions, "authorizationEndpoint" | "tokenEndpoint" | "issuer" | "jwksUri"> {
  /** The HTTP client for the discovery request. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Deadline of the discovery request, in ms. @default 10000 */
  readonly discoveryTimeoutMs?: number;
}

/**
 * A generic OAuth 2.0 provider (Authorization Code flow with PKCE). The built-in providers are
 * presets of it. Options are validated here, once.
 *
 * @example
 * const linkedin = new OAuthProvider({
 *   clientId: process.env.LINKEDIN_CLIENT_ID!, clientSecret: process.env.LINKEDIN_CLIENT_SECRET!,
 *   authorizationEndpoint: "https://www.linkedin.com/oauth/v2/authorization",
 *   tokenEndpoint: "https://www.linkedin.com/oauth/v2/accessToken",
 *   userEndpoint: "https://api.linkedin.com/v2/me", userScopes: ["r_liteprofile", "r_emailaddress"],
 *   userId: (u) => String(u["id"]), redirectUrl: "http://localhost:8550/oauth_callback",
 * });
 */
export class OAuthProvider {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly redirectUrl: string;
  readonly userEndpoint: string | undefined;
  readonly userScopes: readonly string[];
  readonly groupScopes: readonly string[];
  readonly scopes: readonly string[];
  readonly authorizationParams: Readonly<Record<string, string>>;
  /** The path of `redirectUrl`, where flet-auth serves the callback. */
  readonly callbackPath: string;
  /** RFC 9207 issuer identifier, when configured. */
  readonly issuer: string | undefined;
  readonly requireIssuer: boolean;
  /** OpenID Connect JWKS URI, when configured or discovered. */
  readonly jwksUri: string | undefined;
  /** Algorithms accepted for ID and logout tokens (never `none`, never HMAC). */
  readonly idTokenSigningAlgorithms: readonly string[];
  /** OpenID Connect end-session endpoint, when configured or discovered. */
  readonly endSessionEndpoint: string | undefined;
  /** RFC 7009 revocation endpoint, when configured or discovered. */
  readonly revocationEndpoint: string | undefined;
  readonly #userId: ((profile: Readonly<Record<string, unknown>>) => string | number) | undefined;
  readonly #fetchUser: OAuthProviderOptions["fetchUser"];
  readonly #fetchGroups: OAuthProviderOptions["fetchGroups"];

  constructor(options: OAuthProviderOptions, optionPath = "OAuthProvider options") {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`${optionPath} must be an object with clientId, clientSecret, authorizationEndpoint, tokenEndpoint and redirectUrl`);
    }
    this.clientId = requireVisibleAscii(`${optionPath}.clientId`, options.clientId, false);
    // Flet sends client_secret="" as is (public clients); allow an empty string but not a missing one.
    this.clientSecret = requireVisibleAscii(`${optionPath}.clientSecret`, options.clientSecret, true);
    this.authorizationEndpoint = assertSecureUrl(`${optionPath}.authorizationEndpoint`, options.authorizationEndpoint);
    assertNoReservedQuery(`${optionPath}.authorizationEndpoint`, this.authorizationEndpoint);
    this.tokenEndpoint = assertSecureUrl(`${optionPath}.tokenEndpoint`, options.tokenEndpoint);
    this.redirectUrl = assertSecureUrl(`${optionPath}.redirectUrl`, options.redirectUrl);
    this.callbackPath = new URL(this.redirectUrl).pathname;
    this.userEndpoint =
      options.userEndpoint === undefined ? undefined : assertSecureUrl(`${optionPath}.userEndpoint`, options.userEndpoint);
    this.userScopes = stringList(`${optionPath}.userScopes`, options.userScopes);
    this.groupScopes = stringList(`${optionPath}.groupScopes`, options.groupScopes);
    this.scopes = stringList(`${optionPath}.scopes`, options.scopes);
    this.authorizationParams = paramsRecord(`${optionPath}.authorizationParams`, options.authorizationParams);
    this.issuer = options.issuer === undefined ? undefined : assertSecureUrl(`${optionPath}.issuer`, options.issuer);
    if (options.requireIssuer !== undefined && typeof options.requireIssuer !== "boolean") {
      throw new TypeError(`${optionPath}.requireIssuer must be true or false`);
    }
    if (options.requireIssuer && this.issuer === undefined) {
      throw new TypeError(`${optionPath}.requireIssuer needs ${optionPath}.issuer (the provider's issuer identifier)`);
    }
    this.requireIssuer = options.requireIssuer ?? false;
    this.jwksUri = optionalUrl(`${optionPath}.jwksUri`, options.jwksUri);
    this.endSessionEndpoint = optionalUrl(`${optionPath}.endSessionEndpoint`, options.endSessionEndpoint);
    this.revocationEndpoint = optionalUrl(`${optionPath}.revocationEndpoint`, options.revocationEndpoint);
    this.idTokenSigningAlgorithms = signingAlgorithms(`${optionPath}.idTokenSigningAlgorithms`, options.idTokenSigningAlgorithms);
    for (const hook of ["userId", "fetchUser", "fetchGroups"] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== "function") {
        throw new TypeError(`${optionPath}.${hook} must be a function`);
      }
    }
    if (this.userEndpoint !== undefined && options.userId === undefined && options.fetchUser === undefined) {
      throw new TypeError(`${optionPath}.userId must be set when userEndpoint is set, e.g. userId: (u) => String(u["sub"])`);
    }
    this.#userId = options.userId;
    this.#fetchUser = options.fetchUser;
    this.#fetchGroups = options.fetchGroups;
  }

  /**
   * An OpenID Connect provider from its discovery document (`<issuer>/.well-known/openid-configuration`):
   * the endpoints, `issuer` (RFC 9207 checks apply; required when the provider says it sends
   * `iss`), the JWKS for ID tokens, and the end-session and revocation endpoints when it has them.
   * The document's `issuer` must equal `issuer`. Rejects with `discovery_failed` otherwise —
   * call it at start-up.
   *
   * @example
   * const idp = await OAuthProvider.discover("https://accounts.example.com", {
   *   clientId: process.env.CLIENT_ID!, clientSecret: process.env.CLIENT_SECRET!,
   *   redirectUrl: "http://localhost:8550/oauth_callback", scopes: ["openid", "profile", "email"],
   * });
   */
  static async discover(issuer: string, options: DiscoverOptions): Promise<OAuthProvider> {
    if (typeof options !== "object" || options === null) throw new TypeError("OAuthProvider.discover(issuer, options): options must be an object with clientId, clientSecret and redirectUrl");
    const { fetch: doFetch, discoveryTimeoutMs, ...rest } = options;
    const meta = await readDiscovery(issuer, { ...(doFetch ? { fetch: doFetch } : {}), ...(discoveryTimeoutMs !== undefined ? { timeoutMs: discoveryTimeoutMs } : {}) });
    return new OAuthProvider(
      {
        ...rest,
        issuer: meta.issuer,
        requireIssuer: rest.requireIssuer ?? meta.sendsIssuer,
        authorizationEndpoint: meta.authorizationEndpoint,
        tokenEndpoint: meta.tokenEndpoint,
        jwksUri: meta.jwksUri,
        ...(meta.userEndpoint !== undefined && rest.userEndpoint === undefined ? { userEndpoint: meta.userEndpoint } : {}),
        ...(meta.endSessionEndpoint !== undefined && rest.endSessionEndpoint === undefined ? { endSessionEndpoint: meta.endSessionEndpoint } : {}),
        ...(meta.revocationEndpoint !== undefined && rest.revocationEndpoint === undefined ? { revocationEndpoint: meta.revocationEndpoint } : {}),
        ...(meta.idTokenSigningAlgorithms !== undefined && rest.idTokenSigningAlgorithms === undefined ? { idTokenSigningAlgorithms: meta.idTokenSigningAlgorithms } : {}),
        userId: rest.userId ?? ((u) => String(u["sub"])),
      },
      "OAuthProvider.discover options",
    );
  }

  /**
   * Fetches the signed-in user: the `fetchUser` hook, else `GET userEndpoint`. `undefined` when
   * the provider has neither (Flet then leaves `auth.user` unset).
   */
  async fetchUser(ctx: ProviderContext): Promise<User | undefined> {
    const custom = this.#fetchUser ? await this.#fetchUser(ctx) : undefined;
    if (custom !== undefined) return makeUser(custom, String(custom.id));
    if (this.userEndpoint === undefined || this.#userId === undefined) return undefined;
    const { data } = await ctx.getJson(this.userEndpoint);
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new FletAuthError("user_fetch_failed", "The user endpoint did not answer a JSON object.");
    }
    const profile = data as Record<string, unknown>;
    const id = this.#userId(profile);
    if ((typeof id !== "string" && typeof id !== "number") || id === "") {
      throw new FletAuthError("user_fetch_failed", "userId() returned no id for the fetched profile.");
    }
    return makeUser(profile, String(id));
  }

  /** Fetches the user's groups: the `fetchGroups` hook, else none. */
  async fetchGroups(ctx: ProviderContext): Promise<readonly Group[]> {
    return this.#fetchGroups ? this.#fetchGroups(ctx) : [];
  }
}

function optionalUrl(path: string, value: unknown): string | undefined {
  return value === undefined ? undefined : assertSecureUrl(path, value);
}

/** Asymmetric JWS algorithms only (RFC 7518 §3.1): `none` forges anything, and an HMAC "key" made of a public key forges too. */
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^ES256K$|^EdDSA$|^Ed25519$/;

function signingAlgorithms(path: string, value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze(["RS256"]);
  if (!Array.isArray(value) || value.length === 0 || !value.every((a) => typeof a === "string")) {
    throw new TypeError(`${path} must be a non-empty array of JWS algorithm names, e.g. ["RS256", "ES256"]`);
  }
  const refused = (value as string[]).filter((a) => !ASYMMETRIC.test(a));
  if (refused.length > 0) throw new TypeError(`${path}: ${refused.join(", ")} cannot be accepted (none and HMAC algorithms can be forged); use RS256, PS256, ES256 or EdDSA`);
  return Object.freeze([...value] as string[]);
}

/** True when ID tokens of `provider` are verified for a login that asked for `scope`. */
export function verifiesIdTokens(provider: OAuthProvider, scope: readonly string[]): boolean {
  return provider.issuer !== undefined && provider.jwksUri !== undefined && scope.includes("openid");
}

function requireVisibleAscii(path: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== "string" || (!allowEmpty && value === "")) {
    throw new TypeError(`${path} must be a ${allowEmpty ? "" : "non-empty "}string (read it from the environment, e.g. process.env.CLIENT_ID)`);
  }
  // RFC 6749 Appendix A.1/A.2: client_id and client_secret are VSCHAR (printable ASCII).
  if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError(`${path} must contain printable ASCII characters only`);
  return value;
}

function stringList(path: string, value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string" && s !== "")) {
    throw new TypeError(`${path} must be an array of non-empty strings, e.g. ["openid", "email"]`);
  }
  return Object.freeze([...new Set(value as string[])]);
}

/**
 * Parameters flet-auth sets itself: letting configuration repeat them would make `plain` PKCE or
 * `response_type=token` configurable (checklist 2 and 8) and give the server two values to pick from.
 */
const RESERVED_PARAMS = new Set(["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce"]);

function assertNoReservedQuery(path: string, url: string): void {
  for (const key of new URL(url).searchParams.keys()) {
    if (RESERVED_PARAMS.has(key)) throw new TypeError(`${path} must not carry "${key}" in its query: flet-auth sets it`);
  }
}

function paramsRecord(path: string, value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${path} must be an object of string values, e.g. { prompt: "consent" }`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (RESERVED_PARAMS.has(k)) throw new TypeError(`${path}.${k} is set by flet-auth and cannot be configured`);
    if (v === undefined || v === null || v === "") continue; // Flet skips falsy values
    if (typeof v !== "string") throw new TypeError(`${path}.${k} must be a string`);
    out[k] = v;
  }
  return Object.freeze(out);
}
